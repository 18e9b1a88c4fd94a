"""Every signal the decision model reads, on small rooms with known answers."""

import numpy as np

from services.tagger.dense import DenseIndex, pack
from services.tagger.engine import shared_analysis
from services.tagger.index import Document, KnowledgeIndex
from services.tagger.retrieval import Signals, passage_text, rank

DOCS = [
    Document(id="meet", text="每周四晚上 8 点在腾讯会议开社区周会", keywords=("周会",)),
    Document(id="park", text="Parking is free in the basement after 6pm"),
    Document(id="repo", text="代码仓库在 GitHub 上：github.com/acme/app"),
]


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(384, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


VECTORS = [pack(unit(1, 0, 0)), pack(unit(0, 1, 0)), pack(unit(0, 0, 1))]


def index() -> KnowledgeIndex:
    return KnowledgeIndex(DOCS, shared_analysis())


def test_coverage_and_its_margin_come_from_the_best_candidate() -> None:
    ranking = rank(index(), "周会几点开")
    assert ranking.candidates[0].doc_id == "meet"
    assert ranking.signals.coverage > 0.8
    assert ranking.signals.coverage_margin > 0.5
    assert ranking.signals.lexical_top == 1.0
    assert ranking.signals.lexical_margin > 0


def test_a_missing_subject_word_is_signalled() -> None:
    signals = rank(index(), "周会的录像在哪").signals
    assert signals.coverage < 0.9
    assert rank(index(), "is there a helm chart").signals.unknown_subject in (0.0, 1.0)
    assert rank(index(), "helm chart 在哪").signals.coverage < 0.5


def test_cross_lingual_match_through_cc_cedict_glosses() -> None:
    assert rank(index(), "停车免费吗").candidates[0].doc_id == "park"  # 停车 → park, 免费 → free
    assert rank(index(), "where is the code repository").candidates[0].doc_id == "repo"


def test_pinyin_matches_a_homophone_typo() -> None:
    assert rank(index(), "周回几点").candidates[0].doc_id == "meet"  # 周回 for 周会


def test_dense_signals_standardise_the_cosine_and_check_agreement() -> None:
    dense = DenseIndex(VECTORS)
    query = unit(0.1, 1, 0)  # nearest to "park"
    ranking = rank(index(), "parking", dense_index=dense, query_vector=query)
    signals = ranking.signals
    assert ranking.candidates[0].doc_id == "park"
    assert signals.has_dense == 1.0
    assert signals.dense_top == 1.0
    assert signals.agree == 1.0
    assert signals.dense_z > 1.0
    assert signals.dense_margin > 0.5


def test_dense_ranking_brings_candidates_the_lexical_side_missed() -> None:
    others = [Document(id=f"d{n}", text=f"filler {n}") for n in range(5)]
    room = KnowledgeIndex([*DOCS, *others], shared_analysis())
    far = [pack(unit(*([0.0] * (4 + n)), 1.0)) for n in range(5)]
    dense = DenseIndex([*VECTORS, *far])
    ranking = rank(room, "xyzzy", dense_index=dense, query_vector=unit(0.05, 0.05, 1), dense_weight=1.0)
    assert ranking.candidates[0].doc_id == "repo"
    assert ranking.candidates[0].lexical_rank is None
    assert ranking.signals.lexical_top == 0.0


def test_no_candidates_means_empty_signals() -> None:
    assert rank(KnowledgeIndex([], shared_analysis()), "anything").signals == Signals()


def test_passage_text_puts_keywords_first() -> None:
    assert passage_text("text", ("k1", "k2")) == "k1 k2 text"
    assert passage_text("text", ()) == "text"


def test_a_telling_word_the_best_candidate_lacks_is_signalled_in_the_same_language_only() -> None:
    near_miss = rank(index(), "周会的录像在哪").signals  # the meeting message says nothing of a recording
    assert near_miss.uncovered > 0.5
    assert rank(index(), "周会几点开").signals.uncovered == 0.0
    assert rank(index(), "停车免费吗 还有充电桩吗").signals.uncovered == 0.0  # across languages: not counted


def test_the_dense_cosine_is_read_as_is_beside_its_z_score() -> None:
    dense = DenseIndex(VECTORS)
    signals = rank(index(), "parking", dense_index=dense, query_vector=unit(0.1, 1, 0)).signals
    assert abs(signals.dense_cosine - float(unit(0.1, 1, 0) @ unit(0, 1, 0))) < 0.02


def test_a_tag_alone_in_its_room_stands_out_from_nothing() -> None:
    room = KnowledgeIndex(DOCS[:1], shared_analysis())
    ranking = rank(room, "周会几点开", dense_index=DenseIndex(VECTORS[:1]), query_vector=unit(1, 0.2, 0))
    assert ranking.signals.dense_margin == ranking.signals.dense_cosine > 0.9
