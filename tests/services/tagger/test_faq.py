from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from services.tagger.faq import FaqFormatError, export_faq, import_faq, main, parse_faq
from services.tagger.settings import TaggerSettings
from services.tagger.store import TagStore

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
FAQ = """
entries:
  - questions: ["怎么安装？", "How do I install it?"]
    answer: pip install nimbus-notes
    keywords: [安装]
    author: Lily
  - answer: 周会每周四晚上 8 点
"""


def test_parse_reads_entries_with_defaults() -> None:
    entries = parse_faq(FAQ)
    assert entries[0].questions == ("怎么安装？", "How do I install it?")
    assert entries[1].author == "FAQ"
    assert entries[1].questions == ()


@pytest.mark.parametrize("text", ["entries: [{questions: [a]}]", "- just a list", "entries: [", "{}"])
def test_parse_rejects_broken_files(text: str) -> None:
    with pytest.raises(FaqFormatError):
        parse_faq(text)


async def test_import_then_export_round_trips_and_reimport_updates(redis: Redis) -> None:
    store = TagStore(redis)
    assert await import_faq(store, "shared:oss", parse_faq(FAQ), NOW) == (2, 0)
    exported = await export_faq(store, "shared:oss", NOW)
    again = parse_faq(exported)
    assert [(e.answer, e.questions, e.keywords, e.author) for e in again] == [
        ("pip install nimbus-notes", ("怎么安装？", "How do I install it?"), ("安装",), "Lily"),
        ("周会每周四晚上 8 点", (), (), "FAQ"),
    ]
    assert await import_faq(store, "shared:oss", again, NOW) == (0, 2)
    assert len(await store.all("shared:oss")) == 2


def test_cli_imports_into_a_room_and_exports_it(redis_url: str, tmp_path: Path) -> None:
    source = tmp_path / "faq.yaml"
    source.write_text(FAQ, encoding="utf-8")
    backup = tmp_path / "backup.yaml"
    settings = TaggerSettings(redis_url=SecretStr(redis_url))
    assert main(["import", "--room", "r1@chatroom", str(source)], settings) == 0
    assert main(["export", "--room", "r1@chatroom", str(backup)], settings) == 0
    assert "pip install nimbus-notes" in backup.read_text(encoding="utf-8")
    assert main(["import", "--room", "r1@chatroom", str(tmp_path / "missing.yaml")], settings) == 1
