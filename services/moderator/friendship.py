"""Friend requests: which ones are accepted, and the greeting that follows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.moderator.password import topics
from services.moderator.rooms import RoomRecord
from services.moderator.text_match import normalize
from services.shared import Bilingual


def hello_has_keyword(hello: str, keywords: Iterable[str]) -> bool:
    """Accept only requests whose hello contains one of the configured keywords (none configured: accept none)."""
    text = normalize(hello)
    return any(word and word in text for word in (normalize(k) for k in keywords))


def greeting(joinable: Sequence[RoomRecord]) -> Bilingual:
    """Sent right after accepting: which rooms one can join by sending their password."""
    if not joinable:
        return Bilingual("你好，很高兴认识你！", "Hi, nice to meet you!")
    return Bilingual(
        f"你好！把群密码私聊发给我就能进群。可以用密码加入的群：{topics(joinable)}",
        f"Hi! Send me a room's password in this chat to join it. Rooms you can join by password: "
        f"{topics(joinable)}",
    )
