"""WeChat facts -> contract events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from schemas import Contact, ContactRef, Room
from services.gateway.parsing import MENTION_SEPARATOR
from services.gateway.translate import (
    MessageFacts,
    event_id,
    friendship_requested,
    message_received,
    message_type,
    qr_image_url,
    room_joined,
    room_left,
    scan_updated,
    wechat_time,
)

BOT = "wxid_bot"
WHEN = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
ROOM = Room(id="r1@chatroom", topic="开源群", owner_id="wxid_owner", member_count=12)
ALICE = Contact(id="wxid_alice", name="Alice", alias="小A")
FACTS = MessageFacts(
    message_id="m1",
    type="text",
    raw_text=f"「Bob：周四开会」\n- - - - - - - - - - - - - - -\n@QunBot{MENTION_SEPARATOR}标记 会议",
    timestamp=WHEN,
    talker=ALICE,
    room=ROOM,
    mention_ids=[BOT],
    bot_names=["QunBot", "小助手"],
)


def test_a_quoted_mention_becomes_text_body_and_quote() -> None:
    event = message_received(FACTS, BOT)

    assert event.text == f"@QunBot{MENTION_SEPARATOR}标记 会议"
    assert event.body == "标记 会议"
    assert event.quote is not None
    assert (event.quote.talker_name, event.quote.text) == ("Bob", "周四开会")
    assert event.mentions_bot
    assert not event.from_self
    assert event.room == ROOM
    assert event.talker == ALICE


def test_the_same_message_gets_the_same_event_id() -> None:
    assert message_received(FACTS, BOT).id == message_received(FACTS, BOT).id
    assert message_received(FACTS, BOT).id != message_received(replace(FACTS, message_id="m2"), BOT).id


def test_the_same_message_seen_by_two_accounts_gets_two_ids() -> None:
    assert message_received(FACTS, BOT).id != message_received(FACTS, "wxid_other_bot").id


def test_event_ids_look_like_random_ids() -> None:
    identifier = event_id(BOT, "message", "m1")

    assert len(identifier) == 32
    assert int(identifier, 16) >= 0


def test_the_bots_own_message_is_marked_from_self() -> None:
    own = replace(FACTS, talker=Contact(id=BOT, name="QunBot"), raw_text="dong", mention_ids=[])

    event = message_received(own, BOT)

    assert event.from_self
    assert not event.mentions_bot


def test_a_typed_mention_counts_even_without_wechats_mention_list() -> None:
    event = message_received(replace(FACTS, raw_text="@小助手 帮助", mention_ids=[]), BOT)

    assert event.mentions_bot
    assert event.body == "帮助"


def test_media_text_is_not_passed_on_as_words() -> None:
    event = message_received(replace(FACTS, type="image", raw_text="<msg><img/></msg>"), BOT)

    assert (event.type, event.text, event.body) == ("image", "", "")
    assert event.quote is None


def test_a_direct_message_has_no_room() -> None:
    event = message_received(replace(FACTS, room=None, raw_text="ding", mention_ids=[]), BOT)

    assert event.room is None
    assert event.body == "ding"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("MESSAGE_TYPE_TEXT", "text"), ("MESSAGE_TYPE_ATTACHMENT", "file"), ("MESSAGE_TYPE_RECALLED", "other")],
)
def test_message_types(name: str, expected: str) -> None:
    assert message_type(name) == expected


def test_wechat_time_accepts_seconds_and_milliseconds() -> None:
    assert wechat_time(1_700_000_000, WHEN) == wechat_time(1_700_000_000_000, WHEN)
    assert wechat_time(1_700_000_000, WHEN).tzinfo is not None
    assert wechat_time(0, WHEN) == WHEN


def test_someone_who_left_on_their_own_has_no_remover() -> None:
    bob = ContactRef(id="wxid_bob", name="Bob")

    left = room_left(BOT, ROOM, [bob], bob, WHEN)
    removed = room_left(BOT, ROOM, [bob], ContactRef(id="wxid_owner", name="Owner"), WHEN)

    assert left.remover is None
    assert removed.remover is not None


def test_room_join_ids_do_not_depend_on_invitee_order() -> None:
    bob, carol = ContactRef(id="b", name="Bob"), ContactRef(id="c", name="Carol")

    first = room_joined(BOT, ROOM, [bob, carol], None, WHEN)
    second = room_joined(BOT, ROOM, [carol, bob], None, WHEN)

    assert first.id == second.id


def test_friendship_event_keeps_the_id_to_accept() -> None:
    event = friendship_requested(BOT, "fr1", ContactRef(id="c", name="Carol"), "加群", WHEN)

    assert (event.friendship_id, event.hello) == ("fr1", "加群")


def test_scan_event_carries_a_url_for_the_qr_code() -> None:
    event = scan_updated(BOT, "http://weixin.qq.com/x/abc", "Waiting", WHEN)

    assert event.status == "waiting"
    assert event.url == qr_image_url("http://weixin.qq.com/x/abc")
    assert event.url is not None
    assert event.url.endswith("http%3A%2F%2Fweixin.qq.com%2Fx%2Fabc")


def test_unknown_scan_status() -> None:
    assert scan_updated(BOT, None, "Unknown", WHEN).status == "unknown"
