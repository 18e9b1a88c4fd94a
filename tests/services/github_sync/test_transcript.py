from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas import ContactRef, HistoryMessage, Quote
from services.github_sync.neutralise import ZWJ
from services.github_sync.origin import origin_digest, room_digest
from services.github_sync.transcript import (
    TITLE_LIMIT,
    TranscriptRequest,
    make_title,
    render_body,
    transcript_messages,
)

T0 = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def entry(
    n: int,
    text: str,
    *,
    speaker: str = "Alice",
    quote: Quote | None = None,
    message_type: str = "text",
    mention_ids: tuple[str, ...] = (),
) -> HistoryMessage:
    return HistoryMessage(
        id=f"evt-{n}",
        timestamp=T0 + timedelta(minutes=n),
        talker=ContactRef(id=f"wxid_{speaker.lower()}", name=speaker),
        text=text,
        quote=quote,
        type=message_type,
        mention_ids=list(mention_ids),
    )


def filed(
    messages: list[HistoryMessage], count: int = 10, trigger_id: str = "trigger"
) -> list[HistoryMessage]:
    return transcript_messages(messages, count=count, bot_id="wxid_bot", trigger_id=trigger_id)


REQUEST = TranscriptRequest(
    room_id="dev@chatroom", room_topic="Widgets 开发群", requested_by="Carol", timezone=SHANGHAI, lang="en"
)


def test_transcript_has_time_speaker_and_text_in_order_each_once() -> None:
    messages = filed(
        [entry(2, "second", speaker="Bob"), entry(1, "first"), entry(2, "second", speaker="Bob")]
    )
    body = render_body(messages, REQUEST)
    assert body.index("**Alice** · 2026-11-21 14:31\nfirst") < body.index(
        "**Bob** · 2026-11-21 14:32\nsecond"
    )
    assert body.count("second") == 1


def test_the_last_messages_without_the_bot_and_the_triggers() -> None:
    messages = [
        entry(1, "old"),
        entry(2, "以上3条开工单", speaker="Bob"),  # an earlier trigger
        entry(3, "kept 1"),
        entry(4, "I am the bot", speaker="Bot"),
        entry(5, "@QunBot\u2005issue 2 title", mention_ids=("wxid_bot",)),  # an earlier trigger, mentioned
        entry(6, "@Bob issue 2 is fixed", mention_ids=("wxid_bob",)),  # not the bot mentioned: chat
        entry(7, "kept 3"),
        entry(8, "以上2条开工单"),  # this trigger, by id
    ]
    assert [m.text for m in filed(messages, count=3, trigger_id="evt-8")] == [
        "kept 1",
        "@Bob issue 2 is fixed",
        "kept 3",
    ]
    assert filed(messages, count=0) == []


def test_quotes_are_markdown_quotes() -> None:
    verified = Quote(
        talker_name="Bob", text="ship on Friday?\nor Monday", verified=True, talker_id="wxid_bob"
    )
    body = render_body([entry(1, "agreed\nlet's ship", quote=verified)], REQUEST)
    assert "> **Bob**: ship on Friday?\n> or Monday\n\nagreed\nlet's ship" in body


def test_an_unverified_quote_is_the_speakers_typing_never_the_named_persons() -> None:
    """Dave types a "quote" of Alice: the transcript shows it as Dave's, not as something Alice said."""
    forged = entry(1, "see above", speaker="Dave", quote=Quote(talker_name="Alice", text="转账到 6222-…"))
    english = render_body([forged], REQUEST)
    assert "> *(quote, not verified)* 转账到 6222-…\n\nsee above" in english
    assert "Alice" not in english
    chinese = render_body([forged], TranscriptRequest("dev@chatroom", "群", "Carol", SHANGHAI, "zh"))
    assert "> *（引用，未核实）* 转账到 6222-…" in chinese


def test_text_is_neutralised() -> None:
    body = render_body(
        [entry(1, "@alice see #12 <script>x</script> & more", speaker="<b>Mallory</b> @root")], REQUEST
    )
    assert f"@{ZWJ}alice" in body
    assert f"#{ZWJ}12" in body
    assert "&lt;script&gt;x&lt;/script&gt; &amp; more" in body
    assert f"**&lt;b&gt;Mallory&lt;/b&gt; @{ZWJ}root**" in body
    assert "<script>" not in body
    assert "<b>" not in body


def test_non_text_messages_show_their_kind() -> None:
    assert "\n[image]" in render_body([entry(1, "", message_type="image")], REQUEST)


def test_footer_says_where_it_came_from_in_the_commands_language() -> None:
    english = render_body([entry(1, "x"), entry(2, "y")], REQUEST)
    assert "Opened from the chat “Widgets 开发群” by Carol, from 2 messages" in english
    chinese = render_body(
        [entry(1, "x")], TranscriptRequest("dev@chatroom", "Widgets 开发群", "Carol", SHANGHAI, "zh")
    )
    assert "由 Carol 从微信群「Widgets 开发群」的 1 条消息开单" in chinese


def test_body_carries_an_opaque_origin_marker_not_the_room_id() -> None:
    body = render_body([entry(1, "x")], REQUEST)
    assert origin_digest(body) == room_digest("dev@chatroom")
    assert "dev@chatroom" not in body


def test_title_from_the_command_or_a_short_digest_of_the_first_message() -> None:
    entries = [entry(1, "  登录页\n在 Safari 上点了没反应  "), entry(2, "second")]
    assert make_title("Login broken", entries) == "Login broken"
    assert make_title("", entries) == "登录页 在 Safari 上点了没反应"
    long_title = make_title("", [entry(1, "word " * 40)])
    assert len(long_title) == TITLE_LIMIT
    assert long_title.endswith("…")
    assert make_title("", [entry(1, "", message_type="image"), entry(2, "real text")]) == "real text"
