"""CC-CEDICT glosses and the words it teaches jieba."""

import pytest

from services.tagger.engine import shared_analysis, shared_lexicon
from services.tagger.lexicon import _sense_glosses


@pytest.mark.parametrize(
    ("sense", "glosses"),
    [
        ("to reveal; to display; to show; to exhibit sth", ["reveal", "display", "show", "exhibit"]),
        ("Netflix, American entertainment company", ["netflix"]),
        ("refrigerator", ["refrigerator"]),
        ("see 報銷|报销[bao4 xiao1]", []),
        ("CL:個|个[ge4]", []),
        (
            "to submit an expense account; to apply for reimbursement",
            ["submit", "expense", "account", "apply", "reimbursement"],
        ),
    ],
)
def test_each_synonym_of_a_sense_is_a_gloss_and_a_name_keeps_its_head(sense: str, glosses: list[str]) -> None:
    from services.tagger.text import stem_en

    assert _sense_glosses(sense) == [stem_en(word) for word in glosses]


def test_the_lexicon_translates_common_words() -> None:
    lexicon = shared_lexicon()
    assert "netflix" in lexicon.of("网飞")
    assert "display" in lexicon.of("展示")
    assert lexicon.of("meetup") == ("meetup",)  # an English word is its own gloss


def test_jieba_learns_lexicon_words_it_did_not_know() -> None:
    words = shared_analysis(override=False).analyzer.words("网飞密码", search_mode=False)
    assert words[0] == "网飞"


def test_a_document_carries_every_dictionary_word_its_characters_spell() -> None:
    terms = shared_analysis(override=False).terms("公会战每周六晚 8 点开打")
    assert "w:公会" in terms  # jieba cuts 公/会战
    assert "g:guild" in terms
