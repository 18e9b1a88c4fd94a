"""The room's messages (from the history service) → the title and Markdown body of a GitHub issue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from schemas import HistoryMessage
from services.github_sync.neutralise import as_block_quote, neutralise, neutralise_inline, plain_title
from services.github_sync.origin import origin_marker
from services.github_sync.triggers import parse_trigger

TITLE_LIMIT = 60
_ELLIPSIS = "…"


@dataclass(frozen=True)
class TranscriptRequest:
    """Everything the body needs besides the messages."""

    room_id: str
    room_topic: str
    requested_by: str
    timezone: ZoneInfo
    lang: str  # "zh" | "en": the footer follows the language of the command


def make_title(requested: str, messages: Sequence[HistoryMessage]) -> str:
    """The title from the command, or a digest of the first message; at most 60 characters."""
    title = plain_title(requested) or next(
        (plain_title(message.text) for message in messages if plain_title(message.text)), ""
    )
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return title


def transcript_messages(
    messages: Sequence[HistoryMessage], *, count: int, bot_id: str, trigger_id: str
) -> list[HistoryMessage]:
    """The last `count` messages worth filing, oldest first, each once: the bot's own and the triggers (this one
    and earlier ones, `以上5条开工单` is no part of a discussion) left out."""
    unique = {
        message.id: message
        for message in messages
        if message.id != trigger_id and message.talker.id != bot_id and not is_trigger(message, bot_id)
    }
    ordered = sorted(unique.values(), key=lambda message: (message.timestamp, message.id))
    return ordered[-count:] if count > 0 else []


def is_trigger(message: HistoryMessage, bot_id: str) -> bool:
    """`以上5条开工单`, `issue last 5`, or `@bot issue 5` (the bot mentioned by id, its name typed first)."""
    mentioned = bot_id in message.mention_ids
    text = message.text.strip()
    if mentioned and text.startswith(("@", "＠")):
        text = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    return parse_trigger(text, mentions_bot=mentioned, aliases={}) is not None


def render_body(messages: Sequence[HistoryMessage], request: TranscriptRequest) -> str:
    blocks = [_render(message, request) for message in messages]
    footer = _footer(request, len(blocks))
    return "\n\n".join([*blocks, "---", footer]) + "\n" + origin_marker(request.room_id) + "\n"


_UNVERIFIED = {"zh": "（引用，未核实）", "en": "(quote, not verified)"}


def _render(message: HistoryMessage, request: TranscriptRequest) -> str:
    when = message.timestamp.astimezone(request.timezone).strftime("%Y-%m-%d %H:%M")
    lines = [f"**{neutralise_inline(message.talker.name)}** · {when}"]
    quote = message.quote
    if quote is not None:
        # A quote WeChat handed over as text may be typed by anyone: it is the speaker's, never the named person's.
        if quote.verified and quote.talker_id:
            quoted = f"**{neutralise_inline(quote.talker_name)}**: {neutralise(quote.text)}"
        else:
            quoted = f"*{_UNVERIFIED[request.lang]}* {neutralise(quote.text)}"
        lines.append(as_block_quote(quoted))
        lines.append("")
    text = message.text if message.text.strip() else f"[{message.type}]"
    lines.append(neutralise(text))
    return "\n".join(lines)


def _footer(request: TranscriptRequest, count: int) -> str:
    topic = neutralise_inline(request.room_topic) or ("微信群" if request.lang == "zh" else "a WeChat group")
    who = neutralise_inline(request.requested_by)
    if request.lang == "zh":
        return f"<sub>由 {who} 从微信群「{topic}」的 {count} 条消息开单（qunbus github-sync）。</sub>"
    return f"<sub>Opened from the chat “{topic}” by {who}, from {count} messages (qunbus github-sync).</sub>"
