from pathlib import Path

import pytest

from services.tagger.sharing import KnowledgeBases


def test_rooms_have_their_own_knowledge_base_unless_shared(tmp_path: Path) -> None:
    file = tmp_path / "shared.yaml"
    file.write_text("oss: [r3, r4]\n", encoding="utf-8")
    bases = KnowledgeBases.from_config({"team": ["r1", "r2"]}, file)
    assert bases.for_room("r1") == bases.for_room("r2") == "shared:team"
    assert bases.for_room("r3") == "shared:oss"
    assert bases.for_room("r9") == "room:r9"
    assert bases.shared("team") == "shared:team"


def test_a_room_in_two_shared_bases_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="two shared"):
        KnowledgeBases.from_config({"a": ["r1"], "b": ["r1"]})


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    file = tmp_path / "shared.yaml"
    file.write_text("- r1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mapping"):
        KnowledgeBases.from_config({}, file)
