"""Chat → comment: a quoted notice plus a reply becomes a comment on the issue or pull request it names."""

from __future__ import annotations

from dataclasses import dataclass

from services.github_sync.neutralise import neutralise, neutralise_inline
from services.github_sync.notices import NoticeRef, parse_quoted_ref
from services.github_sync.origin import origin_marker


@dataclass(frozen=True)
class ReplyRequest:
    ref: NoticeRef
    text: str


def reply_to_notice(quoted_text: str | None, reply: str) -> ReplyRequest | None:
    """A reply worth posting: it quotes one of our notices and says something."""
    if quoted_text is None or not reply.strip():
        return None
    ref = parse_quoted_ref(quoted_text)
    return None if ref is None else ReplyRequest(ref=ref, text=reply.strip())


def render_comment(reply: str, *, author: str, room_topic: str, room_id: str, lang: str) -> str:
    """The reply, neutralised, attributed to the member's WeChat name."""
    who = neutralise_inline(author)
    topic = neutralise_inline(room_topic)
    if lang == "zh":
        where = f"微信群「{topic}」" if topic else "微信群"
        attribution = f"<sub>— {who}，来自{where}（qunbus github-sync 转发）</sub>"
    else:
        where = f"the WeChat group “{topic}”" if topic else "a WeChat group"
        attribution = f"<sub>— {who}, in {where} (relayed by qunbus github-sync)</sub>"
    return f"{neutralise(reply)}\n\n{attribution}\n{origin_marker(room_id)}\n"
