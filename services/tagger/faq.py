"""Seed and back up a knowledge base with an FAQ file.

    python -m services.tagger.faq import --room 123@chatroom faq.yaml
    python -m services.tagger.faq import --shared oss faq.yaml
    python -m services.tagger.faq export --room 123@chatroom backup.yaml     (- for stdout)

File format (YAML):

    entries:
      - questions: ["怎么安装？", "How do I install it?"]   # variants people ask (optional)
        answer: pip install nimbus-notes               # the text the bot quotes
        keywords: [安装, install]                       # optional
        author: Lily                                    # optional, default "FAQ"
        expires_at: 2026-12-31T00:00:00+08:00           # optional

Export writes a room's tags in the same format (plus id and dates), so an export imports back as it was.
Importing the same answer again updates that entry instead of adding a second one. Redis comes from REDIS_URL,
shared knowledge bases from TAGGER_SHARED_ROOMS / TAGGER_SHARED_ROOMS_FILE, as for the service.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis

from services.tagger.models import TagRecord
from services.tagger.settings import TaggerSettings
from services.tagger.sharing import KnowledgeBases
from services.tagger.store import NewTag, TagStore

DEFAULT_AUTHOR = "FAQ"
IMPORTER = "faq import"


class FaqEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    questions: tuple[str, ...] = Field(default=(), description="Ways people ask for this answer.")
    answer: str = Field(min_length=1, description="The text the bot quotes.")
    keywords: tuple[str, ...] = ()
    author: str = DEFAULT_AUTHOR
    expires_at: datetime | None = None


class FaqFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    entries: tuple[FaqEntry, ...]


class FaqFormatError(ValueError):
    pass


def parse_faq(text: str) -> list[FaqEntry]:
    try:
        data = yaml.safe_load(text)
        return list(FaqFile.model_validate(data).entries)
    except (yaml.YAMLError, ValidationError) as error:
        raise FaqFormatError(f"not a valid FAQ file: {error}") from error


def dump_faq(records: Sequence[TagRecord]) -> str:
    entries = []
    for record in records:
        entry: dict[str, object] = {"id": record.id}
        if record.questions:
            entry["questions"] = list(record.questions)
        entry["answer"] = record.text
        if record.keywords:
            entry["keywords"] = list(record.keywords)
        entry["author"] = record.author_name
        if record.tagger_name:
            entry["tagged_by"] = record.tagger_name
        entry["created_at"] = record.created_at.isoformat()
        if record.expires_at is not None:
            entry["expires_at"] = record.expires_at.isoformat()
        entries.append(entry)
    return yaml.safe_dump({"entries": entries}, allow_unicode=True, sort_keys=False)


async def import_faq(store: TagStore, kb: str, entries: Sequence[FaqEntry], now: datetime) -> tuple[int, int]:
    """Returns (created, updated)."""
    created = updated = 0
    for entry in entries:
        saved = await store.save(
            kb,
            NewTag(
                text=entry.answer,
                author_name=entry.author,
                room_id=None,
                tagger_id=None,
                tagger_name=IMPORTER,
                keywords=entry.keywords,
                questions=entry.questions,
                expires_at=entry.expires_at,
            ),
            now,
        )
        created += saved.created
        updated += not saved.created
    return created, updated


async def export_faq(store: TagStore, kb: str, now: datetime) -> str:
    await store.sweep(kb, now)
    return dump_faq(await store.all(kb))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.tagger.faq",
        description="Import an FAQ file into a knowledge base, or export one.",
    )
    parser.add_argument("action", choices=["import", "export"])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--room", help="room id: its knowledge base (shared if the room is in one)")
    target.add_argument("--shared", help="name of a shared knowledge base")
    parser.add_argument("file", help="YAML file (- for stdin / stdout)")
    return parser


async def _run(
    args: argparse.Namespace, settings: TaggerSettings, text: str | None
) -> tuple[str, str | None]:
    """(summary, exported YAML or None). File reading and writing stay outside, in plain synchronous code."""
    bases = KnowledgeBases.from_config(settings.shared_rooms, settings.shared_rooms_file)
    kb = bases.for_room(args.room) if args.room else bases.shared(args.shared)
    redis = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        store = TagStore(redis)
        now = datetime.now(UTC)
        if text is not None:
            created, updated = await import_faq(store, kb, parse_faq(text), now)
            return f"{kb}: {created} added, {updated} updated", None
        return f"{kb}: exported", await export_faq(store, kb, now)
    finally:
        await redis.aclose()


def main(argv: Sequence[str] | None = None, settings: TaggerSettings | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        text = None
        if args.action == "import":
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        summary, dumped = asyncio.run(_run(args, settings or TaggerSettings(), text))
        if dumped is not None:
            if args.file == "-":
                sys.stdout.write(dumped)
            else:
                Path(args.file).write_text(dumped, encoding="utf-8")
    except (FaqFormatError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
