"""The simulated WeChat world: rendering as WeChat does, membership, permissions and the events it publishes."""

from __future__ import annotations

import pytest

from services.simulator.world import (
    AT_SEPARATOR,
    DIRECT_ADD_LIMIT,
    OSS_ROOM_ID,
    QUOTE_SEPARATOR,
    TEST_ROOM_ID,
    FriendshipRequested,
    InvitationSent,
    MembersJoined,
    MembersLeft,
    MessagePosted,
    NotPermittedError,
    QuotedText,
    SimulatorWorld,
    TopicChanged,
    UnknownRoomError,
    WorldError,
    WorldEvent,
    render_quote,
)


@pytest.fixture
def world() -> SimulatorWorld:
    return SimulatorWorld(clock=lambda: 1_700_000_000.0)


@pytest.fixture
def events(world: SimulatorWorld) -> list[WorldEvent]:
    seen: list[WorldEvent] = []
    world.subscribe(seen.append)
    return seen


def test_seed_has_two_rooms_with_the_bot_an_owner_and_members(world: SimulatorWorld) -> None:
    rooms = {room.topic: room for room in world.rooms()}
    assert set(rooms) == {"开源交流群", "Test Room"}
    for room in rooms.values():
        assert world.bot_id in room.member_ids
        assert room.owner_id in room.member_ids
        assert len(room.members) == 5
        assert world.bot_id in room.admin_ids


def test_plain_text_is_logged_as_said(world: SimulatorWorld, events: list[WorldEvent]) -> None:
    message = world.say(OSS_ROOM_ID, "wxid_bob", "大家好")
    assert message.text == "大家好"
    assert message.talker_name == "Bob"
    assert message.mention_ids == ()
    assert message.timestamp == 1_700_000_000.0
    assert not message.from_bot
    assert events == [MessagePosted(message)]


def test_mention_ids_render_like_wechat_with_the_four_per_em_space(world: SimulatorWorld) -> None:
    message = world.say(OSS_ROOM_ID, "wxid_bob", "帮助", mention_ids=[world.bot_id, "wxid_zhangwei"])
    assert message.text == f"@QunBot{AT_SEPARATOR}@张伟{AT_SEPARATOR}帮助"
    assert message.mention_ids == (world.bot_id, "wxid_zhangwei")


def test_mentions_use_the_room_alias(world: SimulatorWorld) -> None:
    message = world.say(OSS_ROOM_ID, "wxid_bob", "看看", mention_ids=["wxid_lina"])
    assert message.text == f"@娜娜@前端{AT_SEPARATOR}看看"


def test_typed_at_name_becomes_a_real_mention(world: SimulatorWorld) -> None:
    message = world.say(OSS_ROOM_ID, "wxid_bob", "@QunBot help")
    assert message.text == f"@QunBot{AT_SEPARATOR}help"
    assert message.mention_ids == (world.bot_id,)


def test_typed_at_of_a_non_member_stays_plain_text(world: SimulatorWorld) -> None:
    message = world.say(OSS_ROOM_ID, "wxid_bob", "mail me @example.com")
    assert message.text == "mail me @example.com"
    assert message.mention_ids == ()


def test_quote_renders_in_the_current_wechat_format(world: SimulatorWorld) -> None:
    original = world.say(OSS_ROOM_ID, "wxid_zhangwei", "周四晚8点开会\n地点：线上")
    reply = world.say(OSS_ROOM_ID, "wxid_bob", "标记", quote_id=original.id, mention_ids=[world.bot_id])
    assert reply.text == f"「张伟：周四晚8点开会\n地点：线上」\n{QUOTE_SEPARATOR}\n@QunBot{AT_SEPARATOR}标记"
    assert reply.quote == QuotedText("张伟", "周四晚8点开会\n地点：线上")
    assert reply.reply == f"@QunBot{AT_SEPARATOR}标记"


def test_quoting_a_quoted_reply_quotes_only_its_reply(world: SimulatorWorld) -> None:
    first = world.say(OSS_ROOM_ID, "wxid_zhangwei", "one")
    second = world.say(OSS_ROOM_ID, "wxid_bob", "two", quote_id=first.id)
    third = world.say(OSS_ROOM_ID, "wxid_lina", "three", quote_id=second.id)
    assert third.text.startswith("「Bob：two」\n")


def test_legacy_quote_format() -> None:
    text = render_quote(QuotedText("Bob", "hi"), "reply", style="legacy")
    assert text == '"Bob: hi"\n------\nreply'


def test_quote_from_another_room_is_refused(world: SimulatorWorld) -> None:
    elsewhere = world.say(TEST_ROOM_ID, "wxid_carol", "hello")
    with pytest.raises(WorldError):
        world.say(OSS_ROOM_ID, "wxid_zhangwei", "x", quote_id=elsewhere.id)


def test_non_member_cannot_speak(world: SimulatorWorld) -> None:
    with pytest.raises(NotPermittedError):
        world.say(OSS_ROOM_ID, "wxid_carol", "I am not here")
    with pytest.raises(UnknownRoomError):
        world.say("nope@chatroom", "wxid_bob", "x")


def test_direct_message_goes_to_the_bot(world: SimulatorWorld) -> None:
    message = world.direct_message("wxid_bob", "ding")
    assert (message.room_id, message.to_id, message.talker_id) == (None, world.bot_id, "wxid_bob")
    assert world.messages(contact_id="wxid_bob") == [message]
    assert world.messages(room_id=OSS_ROOM_ID) == []


def test_join_by_new_name_creates_the_contact_and_announces_it(
    world: SimulatorWorld, events: list[WorldEvent]
) -> None:
    member = world.join(OSS_ROOM_ID, name="新人小刘", inviter_id="wxid_bob")
    assert member.name == "新人小刘"
    assert member.id in world.room(OSS_ROOM_ID).member_ids
    assert not world.contact(member.id).friend
    joined = [event for event in events if isinstance(event, MembersJoined)]
    assert joined == [MembersJoined(OSS_ROOM_ID, (member.id,), "wxid_bob", 1_700_000_000.0)]
    notice = world.messages(room_id=OSS_ROOM_ID)[-1]
    assert notice.kind == "system"
    assert "新人小刘" in notice.text


def test_joining_twice_is_refused(world: SimulatorWorld) -> None:
    with pytest.raises(WorldError):
        world.join(OSS_ROOM_ID, contact_id="wxid_bob")


def test_leave_on_ones_own_names_the_leaver_as_remover(
    world: SimulatorWorld, events: list[WorldEvent]
) -> None:
    world.leave(OSS_ROOM_ID, "wxid_bob")
    assert "wxid_bob" not in world.room(OSS_ROOM_ID).member_ids
    assert [event for event in events if isinstance(event, MembersLeft)] == [
        MembersLeft(OSS_ROOM_ID, ("wxid_bob",), "wxid_bob", 1_700_000_000.0)
    ]


def test_only_owner_or_admin_can_remove(world: SimulatorWorld) -> None:
    with pytest.raises(NotPermittedError):
        world.leave(OSS_ROOM_ID, "wxid_lina", remover_id="wxid_bob")
    world.leave(OSS_ROOM_ID, "wxid_lina", remover_id="wxid_zhangwei")
    assert "wxid_lina" not in world.room(OSS_ROOM_ID).member_ids


def test_topic_change_is_published_with_old_and_new(world: SimulatorWorld, events: list[WorldEvent]) -> None:
    world.change_topic(OSS_ROOM_ID, "开源交流群 2", changer_id="wxid_bob")
    assert world.room(OSS_ROOM_ID).topic == "开源交流群 2"
    assert TopicChanged(OSS_ROOM_ID, "开源交流群", "开源交流群 2", "wxid_bob", 1_700_000_000.0) in events


def test_friend_request_and_acceptance(world: SimulatorWorld, events: list[WorldEvent]) -> None:
    request = world.request_friendship(name="Grace", hello="加群 qunbus")
    assert FriendshipRequested(request) in events
    assert not world.contact(request.contact_id).friend
    world.bot_accept_friendship(request.id)
    assert world.contact(request.contact_id).friend
    assert world.friend_request(request.id).accepted


def test_bot_send_records_room_text_and_mentions(world: SimulatorWorld) -> None:
    sent = world.bot_send_text(OSS_ROOM_ID, "@Bob\u2005dong", ["wxid_bob"])
    assert sent.from_bot
    assert world.bot_sent() == [sent]
    assert (sent.room_id, sent.text, sent.mention_ids) == (OSS_ROOM_ID, "@Bob\u2005dong", ("wxid_bob",))


def test_bot_send_to_a_contact_is_a_direct_message(world: SimulatorWorld) -> None:
    sent = world.bot_send_text("wxid_bob", "hi")
    assert (sent.room_id, sent.to_id) == (None, "wxid_bob")


def test_bot_mentioning_a_non_member_is_refused(world: SimulatorWorld) -> None:
    with pytest.raises(NotPermittedError):
        world.bot_send_text(OSS_ROOM_ID, "hi", ["wxid_carol"])


def test_bot_cannot_speak_in_a_room_it_left(world: SimulatorWorld) -> None:
    world.leave(OSS_ROOM_ID, world.bot_id)
    with pytest.raises(NotPermittedError):
        world.bot_send_text(OSS_ROOM_ID, "still here?")


def test_bot_adds_directly_to_a_small_room(world: SimulatorWorld) -> None:
    assert world.bot_add_member(OSS_ROOM_ID, "wxid_carol") is None
    assert "wxid_carol" in world.room(OSS_ROOM_ID).member_ids


def test_big_room_gets_an_invitation_instead_of_a_direct_add(
    world: SimulatorWorld, events: list[WorldEvent]
) -> None:
    for number in range(DIRECT_ADD_LIMIT):
        world.join(TEST_ROOM_ID, name=f"member {number}")
    invitation = world.bot_add_member(TEST_ROOM_ID, "wxid_lina")
    assert invitation is not None
    assert "wxid_lina" not in world.room(TEST_ROOM_ID).member_ids
    assert InvitationSent(invitation) in events
    world.accept_invitation(invitation.id)
    assert "wxid_lina" in world.room(TEST_ROOM_ID).member_ids
    with pytest.raises(WorldError):
        world.accept_invitation(invitation.id)


def test_bot_removal_needs_admin_and_spares_the_owner(world: SimulatorWorld) -> None:
    world.bot_remove_member(OSS_ROOM_ID, "wxid_bob")
    assert "wxid_bob" not in world.room(OSS_ROOM_ID).member_ids
    with pytest.raises(NotPermittedError):
        world.bot_remove_member(OSS_ROOM_ID, "wxid_zhangwei")
    bare = SimulatorWorld(seed=False)
    alice = bare.add_contact("Alice")
    other = bare.add_contact("Other")
    room = bare.add_room("no rights", owner_id=alice.id, member_ids=[other.id])
    with pytest.raises(NotPermittedError):
        bare.bot_remove_member(room.id, other.id)


def test_message_ids_differ_between_worlds() -> None:
    # python-wechaty drops a message id it has already seen in the process, whichever bot saw it.
    first = SimulatorWorld().say(OSS_ROOM_ID, "wxid_bob", "x")
    second = SimulatorWorld().say(OSS_ROOM_ID, "wxid_bob", "x")
    assert first.id != second.id


def test_log_filters_by_sequence(world: SimulatorWorld) -> None:
    first = world.say(OSS_ROOM_ID, "wxid_bob", "one")
    second = world.say(TEST_ROOM_ID, "wxid_carol", "two")
    assert world.messages(after=first.seq) == [second]
    assert world.message(second.id) == second


def test_unsubscribe_stops_events(world: SimulatorWorld) -> None:
    seen: list[WorldEvent] = []
    unsubscribe = world.subscribe(seen.append)
    unsubscribe()
    world.say(OSS_ROOM_ID, "wxid_bob", "quiet")
    assert seen == []
