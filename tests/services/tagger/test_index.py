from collections import Counter

import pytest

from services.tagger.engine import shared_analysis
from services.tagger.index import Analysed, Document, KnowledgeIndex, analysed

DOCS = [
    Document("1", "每周四晚上 8 点在腾讯会议开社区周会，会议号 612-338-905", keywords=("周会",)),
    Document("2", "Official repo: https://github.com/nimbus-notes/nimbus — open issues there"),
    Document("3", "安装方法：pip install nimbus-notes，然后运行 nimbus init"),
    Document("4", "Security issues: email security@nimbus.dev, we reply within 48 hours."),
    Document("5", "群规：禁止发广告和二维码，违者移出群聊。"),
    Document("6", "Docker 镜像：docker run -p 8080:8080 nimbusnotes/nimbus，默认端口 8080。"),
]


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex(DOCS, shared_analysis())


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("周会几点开？", "1"),  # same language, paraphrase
        ("when is the weekly meeting?", "1"),  # English question, Chinese fact
        ("代码仓库在哪", "2"),  # Chinese question, English fact
        ("怎么装", "3"),  # short Chinese query
        ("how do I install it", "3"),
        ("发现安全漏洞找谁", "4"),
        ("can I post ads in the group?", "5"),
        ("默认端口是多少", "6"),
    ],
)
def test_best_hit_answers_the_question(index: KnowledgeIndex, question: str, expected: str) -> None:
    hits = index.search(question)
    assert hits[0].doc_id == expected
    assert hits[0].coverage > 0.5


def test_unrelated_questions_have_low_coverage(index: KnowledgeIndex) -> None:
    hits = index.search("明天天气怎么样")
    assert not hits or hits[0].coverage < 0.3


def test_keywords_weigh_more_than_a_passing_mention() -> None:
    docs = [
        Document("a", "周会的纪要放在 wiki 上"),
        Document("b", "周四晚上见", keywords=("周会",)),
    ]
    hits = KnowledgeIndex(docs, shared_analysis()).search("周会")
    assert hits[0].doc_id == "b"


def test_faq_question_variants_are_searchable() -> None:
    docs = [Document("a", "pip install nimbus-notes", questions=("怎么安装？",)), Document("b", "其他")]
    assert KnowledgeIndex(docs, shared_analysis()).search("安装方法")[0].doc_id == "a"


def test_empty_index_and_empty_question() -> None:
    assert KnowledgeIndex([], shared_analysis()).search("anything") == []
    assert KnowledgeIndex(DOCS, shared_analysis()).search("   ") == []


def test_term_cache_is_filled_and_reused() -> None:
    cache: dict[Document, Analysed] = {}
    KnowledgeIndex(DOCS, shared_analysis(), cache)
    assert set(cache) == set(DOCS)
    poisoned = {doc: analysed(Counter({"w:zzz": 1})) for doc in DOCS}
    assert KnowledgeIndex(DOCS, shared_analysis(), poisoned).search("zzz")[0].coverage == 1.0


def test_an_index_gives_back_the_analysis_of_an_unchanged_document_only() -> None:
    cache: dict[Document, Analysed] = {}
    index = KnowledgeIndex(DOCS, shared_analysis(), cache)
    assert index.analysis_of(DOCS[0]) == cache[DOCS[0]]
    assert index.analysis_of(Document("1", DOCS[0].text)) is None  # its keywords were dropped
    assert index.analysis_of(Document("1", DOCS[1].text, keywords=("周会",))) is None  # edited text
    assert index.analysis_of(Document("7", DOCS[0].text, keywords=("周会",))) is None  # another tag


def test_common_terms_in_a_large_index_still_rank() -> None:
    docs = [Document(str(i), f"filler text number {i} 周会") for i in range(2500)]
    docs.append(Document("target", "周会 改到 周五 filler"))
    hits = KnowledgeIndex(docs, shared_analysis()).search("周会改到哪天")
    assert hits[0].doc_id == "target"


def test_where_prefers_the_message_that_states_a_place() -> None:
    docs = [
        Document("address", "本群线下聚会：上海徐汇区漕溪北路88号 12 楼"),
        Document("money", "Meetup reimbursement: speakers from outside Shanghai get up to 500 RMB"),
    ]
    index = KnowledgeIndex(docs, shared_analysis())
    assert index.search("Where is the Shanghai meetup?")[0].doc_id == "address"
    assert index.search("上海聚会在哪里")[0].doc_id == "address"


def test_which_date_prefers_the_message_with_a_date() -> None:
    docs = [
        Document("date", "杭州黑客松 11 月 29 日，组队 2 到 4 人"),
        Document("other", "黑客松的奖品是机械键盘"),
    ]
    hits = KnowledgeIndex(docs, shared_analysis()).search("黑客松是几号")
    assert hits[0].doc_id == "date"


def test_a_question_about_something_the_room_never_mentioned_is_flagged(index: KnowledgeIndex) -> None:
    [first, *_] = index.search("Is there a Helm chart for the docker image?")
    assert first.unknown_subject  # helm: nothing in the room knows it, however well "docker image" matches
    assert all(hit.unknown_subject for hit in index.search("Is there a Helm chart for the docker image?"))
    assert not index.search("默认端口是多少")[0].unknown_subject


def test_hits_say_whether_they_contain_the_questions_main_word() -> None:
    docs = [
        Document("port", "Docker 镜像默认端口 8080"),
        Document("limit", "API 限流：每个 token 每分钟 120 次请求，默认值可以在配置里调整"),
    ]
    hits = {hit.doc_id: hit for hit in KnowledgeIndex(docs, shared_analysis()).search("API 默认限流是多少")}
    assert not hits["limit"].misses_subject
    assert hits["port"].misses_subject  # it shares "默认", not what is asked about


def test_term_keys_are_the_same_in_every_process() -> None:
    """Stored analyses are read by other processes: a term's key may not depend on Python's hash seed."""
    import subprocess
    import sys

    code = "from services.tagger.index import _term_hash; print(_term_hash('w:周会'), _term_hash('g:meet'))"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(seen) == 1


def test_how_much_prefers_the_message_with_a_price_and_who_to_call_the_one_with_a_number() -> None:
    docs = [
        Document("price", "宝宝推车九成新，300元"),
        Document("other", "宝宝推车周末可以来 7 栋看"),
        Document("phone", "捐赠物资寄到和平路52号，收件人阿芳 13800001234"),
    ]
    index = KnowledgeIndex(docs, shared_analysis(override=False))
    assert index.search("推车多少钱")[0].doc_id == "price"
    assert index.search("收件人电话是多少")[0].doc_id == "phone"


def test_a_number_the_message_lacks_is_uncovered_in_either_language() -> None:
    index = KnowledgeIndex([Document("phone", "出 iPhone 13 128G 蓝色，2500 可小刀")], shared_analysis())
    [hit] = index.search("how much is the iphone 14?")
    assert hit.uncovered_same_language > 0.5  # an English question, a Chinese message: still, 14 is not 13
    [hit] = index.search("how much is the iphone 13?")
    assert hit.uncovered_same_language == 0.0
