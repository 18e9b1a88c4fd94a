"""The bus contract: models, subjects, generated documents, and keyword ownership across services."""

from __future__ import annotations

import importlib
import json
from datetime import datetime

import pytest
from pydantic import ValidationError

from schemas import COMMAND_TYPES, EVENT_TYPES, ChatCommand, MessageReceived, SayText, generate, subjects
from services.shared import catalog
from services.shared.commands import duplicate_keywords
from tests.factories import message


def test_committed_asyncapi_and_json_schemas_are_current() -> None:
    stale = [
        str(path)
        for path, text in generate.expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "run `make docs` and commit the result"


def test_every_field_is_described() -> None:
    undocumented = [
        f"{model.__name__}.{name}"
        for model in (*EVENT_TYPES, *COMMAND_TYPES)
        for name, field in model.model_fields.items()
        if not field.description and name != "schema_version"
    ]
    assert undocumented == []


def test_payloads_are_frozen_and_ignore_unknown_fields() -> None:
    event = message("hi")
    with pytest.raises(ValidationError):
        event.body = "changed"  # type: ignore[misc]
    newer = json.loads(event.model_dump_json()) | {"added_in_a_later_release": 1}
    assert MessageReceived.model_validate(newer) == event


def test_timestamps_must_carry_an_offset() -> None:
    naive = message("hi").model_dump(mode="json") | {"timestamp": "2026-11-22T09:00:00"}
    with pytest.raises(ValidationError, match="timezone"):
        MessageReceived.model_validate(naive)
    shanghai = datetime.fromisoformat("2026-11-22T09:00:00+08:00")
    assert '"timestamp":"2026-11-22T09:00:00+08:00"' in message("hi", timestamp=shanghai).model_dump_json()


@pytest.mark.parametrize(
    "targets",
    [{}, {"room_id": "r", "contact_id": "c"}, {"contact_id": "c", "mention_ids": ["x"]}],
)
def test_say_text_needs_exactly_one_target_and_mentions_only_in_rooms(targets: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SayText(text="hi", **targets)  # type: ignore[arg-type]


def test_subjects_are_built_in_one_place() -> None:
    assert subjects.event("wxid_bot", MessageReceived) == "qun.evt.wxid_bot.message"
    assert subjects.command("wxid_bot", SayText) == "qun.cmd.wxid_bot.say"
    assert subjects.split("qun.evt.wxid_bot.room.join") == ("wxid_bot", "room.join")
    assert len({t.subject_suffix for t in EVENT_TYPES}) == len(EVENT_TYPES)
    assert len({t.subject_suffix for t in COMMAND_TYPES}) == len(COMMAND_TYPES)


def test_bot_ids_cannot_break_subjects() -> None:
    with pytest.raises(ValidationError):
        message("hi", bot_id="evil.bot.>")


def test_no_chat_keyword_is_claimed_twice_across_services() -> None:
    declared = [("dingdong", importlib.import_module("examples.dingdong.app").service.chat_commands)]
    for service in catalog.declared():
        declared.append((service.name, service.chat_commands))
    assert duplicate_keywords(declared) == {}


def test_duplicate_keywords_are_detected() -> None:
    one = [ChatCommand(name="a", keywords_en=["Tag"])]
    other = [ChatCommand(name="b", keywords_en=["tag"], keywords_zh=["标记"])]
    assert duplicate_keywords([("x", one), ("y", other)]) == {"tag": ["x", "y"]}
