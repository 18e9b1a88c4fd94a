"""Chat messages → the title and Markdown body of a GitHub issue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.github_sync.history import HistoryEntry
from services.github_sync.neutralise import as_block_quote, neutralise, neutralise_inline, plain_title
from services.github_sync.origin import origin_marker

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


def make_title(requested: str, entries: Sequence[HistoryEntry]) -> str:
    """The title from the command, or a digest of the first message; at most 60 characters."""
    title = plain_title(requested) or next(
        (plain_title(entry.text) for entry in entries if plain_title(entry.text)), ""
    )
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return title


def transcript_entries(entries: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """Messages worth keeping: the bot's own left out, each event once, in time order."""
    unique = {entry.event_id: entry for entry in entries if not entry.from_bot}
    return sorted(unique.values(), key=lambda entry: (entry.at, entry.event_id))


def render_body(entries: Sequence[HistoryEntry], request: TranscriptRequest) -> str:
    blocks = [_render_entry(entry, request) for entry in transcript_entries(entries)]
    footer = _footer(request, len(blocks))
    return "\n\n".join([*blocks, "---", footer]) + "\n" + origin_marker(request.room_id) + "\n"


_UNVERIFIED = {"zh": "（引用，未核实）", "en": "(quote, not verified)"}


def _render_entry(entry: HistoryEntry, request: TranscriptRequest) -> str:
    when = entry.at.astimezone(request.timezone).strftime("%Y-%m-%d %H:%M")
    lines = [f"**{neutralise_inline(entry.speaker_name)}** · {when}"]
    if entry.quote_text is not None:
        # A quote WeChat handed over as text may be typed by anyone: it is the speaker's, never the named person's.
        who = neutralise_inline(entry.quote_name or "") if entry.quote_verified else _UNVERIFIED[request.lang]
        quoted = (
            f"**{who}**: {neutralise(entry.quote_text)}"
            if entry.quote_verified
            else f"*{who}* {neutralise(entry.quote_text)}"
        )
        lines.append(as_block_quote(quoted))
        lines.append("")
    text = entry.text if entry.text.strip() else f"[{entry.message_type}]"
    lines.append(neutralise(text))
    return "\n".join(lines)


def _footer(request: TranscriptRequest, count: int) -> str:
    topic = neutralise_inline(request.room_topic) or ("微信群" if request.lang == "zh" else "a WeChat group")
    who = neutralise_inline(request.requested_by)
    if request.lang == "zh":
        return f"<sub>由 {who} 从微信群「{topic}」的 {count} 条消息开单（qunbus github-sync）。</sub>"
    return f"<sub>Opened from the chat “{topic}” by {who}, from {count} messages (qunbus github-sync).</sub>"
