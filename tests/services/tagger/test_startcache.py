from pathlib import Path

import pytest

from services.tagger import lexicon, startcache, text
from services.tagger.engine import shared_analysis, shared_lexicon
from services.tagger.text import Analyzer

SAMPLES = ["网飞会员怎么续费", "公会战周六晚上八点", "报消流程找财务", "reimbursement for the meetup"]


def test_the_cached_start_derives_what_the_dictionaries_do(tmp_path: Path) -> None:
    analysis = shared_analysis()
    words = shared_lexicon()
    derived = startcache.Derived(
        glosses=words.glosses,
        table=analysis.analyzer.table(),
        readings=lexicon.readings(),
        idf=text.global_idf(),
    )
    path = tmp_path / "start.marshal"
    startcache.save(path, derived)
    loaded = startcache.load(path)
    assert loaded is not None
    assert loaded.glosses == words.glosses
    assert loaded.readings["销"] == lexicon.char_pinyin("销") == "xiao"
    assert loaded.idf == text.global_idf()
    cached = Analyzer(extra_words=analysis.dictionary.terms(), table=loaded.table)
    fresh = Analyzer(extra_words=analysis.dictionary.terms(), lexicon_words=words.words())
    for sample in SAMPLES:
        assert cached.words(sample) == fresh.words(sample)
        assert cached.words(sample, search_mode=False) == fresh.words(sample, search_mode=False)
        assert cached.cjk_runs(sample) == fresh.cjk_runs(sample)


def test_a_damaged_cache_file_is_derived_again(tmp_path: Path) -> None:
    path = tmp_path / "start.marshal"
    path.write_bytes(b"\x00not marshal")
    assert startcache.load(path) is None
    assert startcache.load(tmp_path / "missing.marshal") is None


def test_the_cache_file_is_named_after_its_inputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TAGGER_CACHE_DIR", str(tmp_path))
    assert startcache.cache_file(["a"]).parent == tmp_path
    assert startcache.cache_file(["a"]) != startcache.cache_file(["b"])  # other taught words, other table
