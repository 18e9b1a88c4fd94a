"""Chat → comment: a quoted notice plus a reply becomes a comment on the issue or pull request it names."""

from __future__ import annotations

import hashlib
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


def member_tag(room_id: str, contact_id: str) -> str:
    """A short stand-in for a member's contact id, stable within a room: two members who show the same name sign
    differently, and nobody can borrow another's by renaming. Opaque (WeChat ids are not public) and different in
    every room."""
    return hashlib.sha256(f"{room_id}\n{contact_id}".encode()).hexdigest()[:6]


def render_comment(
    reply: str, *, author: str, author_id: str, room_topic: str, room_id: str, lang: str
) -> str:
    """The reply, neutralised, signed with the member's WeChat name and the tag of their contact id."""
    who = neutralise_inline(author)
    tag = member_tag(room_id, author_id)
    topic = neutralise_inline(room_topic)
    if lang == "zh":
        where = f"微信群「{topic}」" if topic else "微信群"
        attribution = f"<sub>— {who}（成员 {tag}），来自{where}（qunbus github-sync 转发）</sub>"
    else:
        where = f"the WeChat group “{topic}”" if topic else "a WeChat group"
        attribution = f"<sub>— {who} (member {tag}), in {where} (relayed by qunbus github-sync)</sub>"
    return f"{neutralise(reply)}\n\n{attribution}\n{origin_marker(room_id)}\n"
