import pytest

from services.shared.text import normalize
from services.tagger.engine import shared_analysis
from services.tagger.text import bigrams, has_cjk, importance, stem_en


def test_normalize_folds_width_case_and_spaces() -> None:
    assert normalize("  ＨＥＬＬＯ　Ｗｏｒｌｄ！ ") == "hello world!"


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("meetups", "meetup"),
        ("coming", "coming"),
        ("used", "used"),
        ("libraries", "library"),
        ("class", "class"),
        ("boxes", "box"),
        ("running", "runn"),
        ("pr", "pr"),
    ],
)
def test_stemming_is_light(word: str, stem: str) -> None:
    assert stem_en(word) == stem


def test_words_drop_stop_words_and_keep_versions() -> None:
    words = shared_analysis().analyzer.words("请问 v2.4 什么时候发布？How do I install it on Python 3.10?")
    assert "2.4" in words
    assert "3.10" in words
    assert "发布" in words
    assert "install" in words
    assert not {"请问", "什么", "how", "do", "i", "it", "on"} & set(words)


def test_precise_mode_splits_unknown_compounds() -> None:
    analyzer = shared_analysis().analyzer
    assert analyzer.words("升级失败", search_mode=False) == ["升级", "失败"]
    assert "线下活动" in analyzer.words("线下活动")  # a dictionary term stays one word
    assert {"线下", "活动"} <= set(analyzer.words("线下活动"))  # search mode adds its parts


def test_cjk_runs_break_at_stop_words() -> None:
    assert shared_analysis().analyzer.cjk_runs("周会在哪里开") == ["周会", "开"]


def test_bigrams() -> None:
    assert bigrams("周会") == ["周会"]
    assert bigrams("线下聚会") == ["线下", "下聚", "聚会"]
    assert bigrams("群") == ["群"]


def test_importance_ranks_generic_words_below_telling_ones() -> None:
    assert importance("发现") < importance("漏洞")
    assert importance("find") < importance("vulnerability")
    assert 0.2 <= importance("的") <= importance("端口") <= 1.0


def test_has_cjk() -> None:
    assert has_cjk("abc 中")
    assert not has_cjk("abc 123")


def test_question_words_and_generic_subjects_weigh_little() -> None:
    assert importance("where") == importance("几点") < importance("docker")
    assert importance("软件") == importance("以后") < importance("漏洞")
    assert importance("software") < importance("vulnerability")


def test_question_words_are_kept_as_words_but_break_bigram_runs() -> None:
    analyzer = shared_analysis().analyzer
    assert "在哪里" in analyzer.words("周会在哪里开", search_mode=False)
    assert analyzer.cjk_runs("周会在哪里开") == ["周会", "开"]


def test_a_letter_standing_alone_is_a_name_not_an_article() -> None:
    words = shared_analysis().analyzer.words
    assert "r" in words("R 要什么版本")
    assert words("R") == ["r"]  # a keyword
    assert "b" in words("B站")
    assert not {"a", "s", "t"} & set(words("it's a dog, don't feed it"))
