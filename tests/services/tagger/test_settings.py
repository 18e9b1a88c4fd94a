import pytest

from services.tagger.knowledge import DEFAULT_MAX_CACHED
from services.tagger.settings import TaggerSettings


def test_the_index_cache_bound_comes_from_tagger_max_cached_rooms(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TaggerSettings().max_cached_rooms == DEFAULT_MAX_CACHED
    monkeypatch.setenv("TAGGER_MAX_CACHED_ROOMS", "7")
    assert TaggerSettings().max_cached_rooms == 7
    monkeypatch.setenv("TAGGER_MAX_CACHED_ROOMS", "0")
    with pytest.raises(ValueError, match="max_cached_rooms"):
        TaggerSettings()
