from pathlib import Path

from services.tagger.synonyms import SynonymDictionary


def test_groups_map_every_term_to_the_first_terms_concept() -> None:
    dictionary = SynonymDictionary.from_groups([["meetup", "聚会", "meet-ups"], ["event", "活动"]])
    assert dictionary.concepts_of("聚会") == ("c:meetup",)
    assert dictionary.concepts_of("meetup") == ("c:meetup",)
    assert dictionary.concepts_of("活动") == ("c:event",)


def test_english_terms_are_keyed_like_analysed_text() -> None:
    dictionary = SynonymDictionary.from_groups([["pr", "Pull-Requests"]])
    assert dictionary.concepts_of("pull request") == ("c:pr",)  # case folded, hyphen split, plural stemmed


def test_a_term_in_two_groups_has_both_concepts() -> None:
    dictionary = SynonymDictionary.from_groups([["mirror", "源"], ["source code", "源"]])
    assert dictionary.concepts_of("源") == ("c:mirror", "c:sourc code")  # concept names are stemmed keys


def test_phrases_match_adjacent_words_without_stop_words() -> None:
    dictionary = SynonymDictionary.from_groups([["code of conduct", "行为准则"], ["pull request", "pr"]])
    assert dictionary.expand(["read", "code", "conduct"]) == ["c:code conduct"]
    assert "c:pull request" in dictionary.expand(["pull", "request", "merged"])


def test_single_term_groups_are_ignored() -> None:
    assert SynonymDictionary.from_groups([["alone"]]).concepts == {}


def test_shipped_dictionary_loads_and_is_bilingual(tmp_path: Path) -> None:
    shipped = SynonymDictionary.load()
    assert set(shipped.concepts_of("聚会")) & set(shipped.concepts_of("meetup"))
    assert set(shipped.concepts_of("仓库")) & set(shipped.concepts_of("repository"))
    custom = tmp_path / "words.yaml"
    custom.write_text("- [hello, 你好]\n", encoding="utf-8")
    assert SynonymDictionary.load(custom).concepts_of("你好") == ("c:hello",)
