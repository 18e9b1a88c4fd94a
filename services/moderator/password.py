"""Password invites: parsing the admin's command, finding the room, and hashing the password.

Passwords are stored only as an HMAC-SHA256 digest keyed by ``MODERATOR_PASSWORD_SECRET`` (which lives outside
Redis: a copy of Redis alone reveals nothing, and a guess cannot be checked without the key) and never logged. A
keyed digest (not a salted slow hash) is what makes a lookup by password possible: whoever DMs the bot sends a
candidate, and the bot finds the room in one step, without trying every room; the guess limit, not the hash's
cost, is what stops guessing through the bot.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas import ServiceInfo
from services.moderator.rooms import RoomRecord
from services.moderator.text_match import normalize
from services.shared import Bilingual
from services.shared.commands import match_command

MIN_PASSWORD_LENGTH = 8
"""For passwords set from now on: every DM is a guess, so a short one falls to a few hundred of them."""
SHORTEST_STORED_PASSWORD = 4
"""Passwords set before the minimum was raised may be this short; no DM shorter than it is taken as a guess."""
CLEAR_WORDS = frozenset({"无", "关闭", "off", "none", "-"})


def normalize_password(text: str) -> str:
    """People type passwords on phones: width, case, spacing and a final stop do not matter (the gateway drops a
    final `。!?` after a lone word, so the stored password must not depend on it either)."""
    return normalize(text).rstrip("。.!?！？")


def password_digest(password: str, *, secret: str, bot_id: str) -> str:
    """What is stored and looked up instead of the password."""
    message = f"{bot_id}\x00{normalize_password(password)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SetPassword:
    """``设置进群密码 <群名> <密码>``: the room as typed, and the password (None = clear it)."""

    room_query: str
    password: str | None


def parse_set_password(args: str) -> SetPassword | None:
    """The last word is the password (or a clear word); everything before it names the room."""
    parts = args.strip().rsplit(maxsplit=1)
    if len(parts) != 2:
        return None
    room_query, password = parts
    if normalize(password) in CLEAR_WORDS:
        return SetPassword(room_query=room_query, password=None)
    return SetPassword(room_query=room_query, password=password)


def password_is_acceptable(password: str) -> bool:
    """Long enough not to be typed by accident in a normal chat, nor guessed within the guess limit."""
    return len(normalize_password(password)) >= MIN_PASSWORD_LENGTH


def starts_with_a_command(password: str, services: Iterable[ServiceInfo]) -> bool:
    """Sent to the bot, it would run a live service's keyword command (`help-me-2024` is `help`) instead of being
    tried as a password: the guest would not get in, and the message would not be erased from the event stream."""
    return match_command(password, [command for info in services for command in info.commands]) is not None


def could_be_password(text: str) -> bool:
    """A DM that some stored password could match: one word (a password is the last word of the admin's
    command), at least as long as the shortest ever accepted. Anything else is chat, not a guess."""
    candidate = normalize_password(text)
    return len(candidate) >= SHORTEST_STORED_PASSWORD and " " not in candidate


@dataclass(frozen=True)
class RoomMatch:
    """The room an admin named, or the candidates if the name was ambiguous."""

    room: RoomRecord | None
    candidates: tuple[RoomRecord, ...] = ()


def find_room(query: str, rooms: Sequence[RoomRecord]) -> RoomMatch:
    """By id, then by exact topic, then by a part of the topic that only one room has."""
    wanted = normalize(query)
    by_id = [r for r in rooms if r.id == query.strip()]
    exact = [r for r in rooms if normalize(r.topic) == wanted]
    partial = [r for r in rooms if wanted and wanted in normalize(r.topic)]
    for found in (by_id, exact, partial):
        if len(found) == 1:
            return RoomMatch(room=found[0])
        if len(found) > 1:
            return RoomMatch(room=None, candidates=tuple(found))
    return RoomMatch(room=None)


def topics(rooms: Iterable[RoomRecord]) -> str:
    """``「甲」「乙」`` for messages."""
    return "".join(f"「{r.topic or r.id}」" for r in rooms)


INVITES_OFF = Bilingual(
    "这个机器人没有开启进群密码（由运维开启）。",
    "Password invites are not switched on for this bot (the operator does that).",
)
NOT_IN_GROUP = Bilingual(
    "请私聊我设置进群密码，不要在群里发——大家都看得到。如果刚才已经发出了密码，请私聊我换一个。",
    "Set the password in a direct message to me, never in the group where everyone sees it. "
    "If you just posted one here, please set a new one by DM.",
)
USAGE = Bilingual(
    "用法（私聊我）：设置进群密码 <群名> <密码>；密码写「无」可取消。",
    "Usage (DM me): set password <room name> <password>; use `off` as password to clear it.",
)
TOO_SHORT = Bilingual(
    f"密码太短：至少要 {MIN_PASSWORD_LENGTH} 个字符。密码没有保存，请换一个更长的。",
    f"That password is too short: it needs at least {MIN_PASSWORD_LENGTH} characters. "
    "Nothing was saved; please pick a longer one.",
)
COMMAND_WORD = Bilingual(
    "这个密码以我的命令词开头（比如「帮助」），私聊发给我会被当成命令，请换一个。密码没有保存。",
    "That password starts with one of my command words (like `help`): sent to me it would be read as a command. "
    "Nothing was saved; please pick another.",
)
TAKEN = Bilingual(
    "这个密码已被另一个群使用，请换一个。", "Another room already uses this password; pick another."
)
NOT_ADMIN = Bilingual(
    "只有该群的管理员可以设置进群密码。", "Only an admin of that room can set its password."
)


def room_not_found(query: str, candidates: Sequence[RoomRecord]) -> Bilingual:
    """The admin's room name matched no room, or several."""
    if candidates:
        return Bilingual(
            f"有多个群匹配「{query}」：{topics(candidates)}，请写完整群名。",
            f"Several rooms match '{query}': {topics(candidates)}; please give the full name.",
        )
    return Bilingual(
        f"没找到群「{query}」（我只认识我在里面见过消息的群）。",
        f"No room called '{query}' (I only know rooms where I have seen activity).",
    )


def password_set(room: RoomRecord) -> Bilingual:
    """Confirmation, without repeating the password."""
    return Bilingual(
        f"已设置「{room.topic}」的进群密码。私聊我发送这个密码的人会被拉进群。",
        f"Password for '{room.topic}' is set. Whoever DMs me this password will be added to the room.",
    )


def password_cleared(room: RoomRecord) -> Bilingual:
    """Confirmation of clearing."""
    return Bilingual(f"已取消「{room.topic}」的进群密码。", f"Password for '{room.topic}' removed.")


def invited(room: RoomRecord) -> Bilingual:
    """DM answer to a correct password from a non-member."""
    return Bilingual(f"密码正确，正在邀请你加入「{room.topic}」。", f"Correct! Adding you to '{room.topic}'.")


def already_member(room: RoomRecord) -> Bilingual:
    """DM answer to a correct password from a member."""
    return Bilingual(
        f"你已经在「{room.topic}」里了，我在群里 @ 了你，它会出现在聊天列表最上面。",
        f"You are already in '{room.topic}'; I mentioned you there so it comes to the top of your chats.",
    )


def too_many_guesses(window_s: float) -> Bilingual:
    """Said once, when a contact's guesses run out; their DMs are not tried as passwords until the window
    passes."""
    minutes = max(1, round(window_s / 60))
    zh_wait, en_wait = (
        (f"{minutes // 60} 小时", f"{minutes // 60} hour{'s' if minutes >= 120 else ''}")
        if minutes % 60 == 0
        else (f"{minutes} 分钟", f"{minutes} minute{'s' if minutes > 1 else ''}")
    )
    return Bilingual(
        f"密码不对的次数有点多了，接下来 {zh_wait} 内我不再核对你发的密码。如果忘了密码，可以问问群管理员。",
        f"That's quite a few wrong passwords, so I'll stop checking the ones you send for {en_wait}. "
        "If you've forgotten it, a room admin can help.",
    )


HERE_YOU_ARE = Bilingual("👋 在这里！", "👋 Over here!")
