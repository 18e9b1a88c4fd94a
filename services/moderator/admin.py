"""Parsing and answering the room-admin commands (the admin check itself is the plumbing's)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from services.moderator.rooms import FloodLimits, FloodPolicy
from services.moderator.text_match import normalize
from services.shared import Bilingual
from services.shared.commands import Lang

_POLICY_WORDS = {
    "警告": FloodPolicy.WARN,
    "warn": FloodPolicy.WARN,
    "投票": FloodPolicy.VOTE,
    "vote": FloodPolicy.VOTE,
    "踢出": FloodPolicy.REMOVE,
    "移出": FloodPolicy.REMOVE,
    "remove": FloodPolicy.REMOVE,
    "kick": FloodPolicy.REMOVE,
}
_RATE = re.compile(r"^(\d+)/(\d+)$")
_DEFAULT_WORDS = frozenset({"默认", "自动", "default", "auto"})


def mentioned_people(mention_ids: Sequence[str], bot_id: str) -> tuple[str, ...]:
    """The people an admin command is about: everyone @-mentioned but the bot."""
    return tuple(dict.fromkeys(m for m in mention_ids if m != bot_id))


@dataclass(frozen=True)
class Switchable:
    """A service an admin can name: by its name or either display name (`关闭 提醒`, `disable reminders`)."""

    name: str
    title_zh: str = ""
    title_en: str = ""

    def title(self, lang: Lang) -> str:
        return (
            (self.title_zh if lang == "zh" else self.title_en) or self.title_zh or self.title_en or self.name
        )

    def answers_to(self, wanted: str) -> bool:
        return wanted in {normalize(n) for n in (self.name, self.title_zh, self.title_en) if n}


def find_service(args: str, known: Sequence[Switchable]) -> Switchable | None:
    """The service the admin named (case and width do not matter), or None."""
    wanted = normalize(args)
    return next((service for service in known if wanted and service.answers_to(wanted)), None)


@dataclass(frozen=True)
class FloodSetting:
    """``设置刷屏 投票 10/60 500 宽限30``: any of policy, N messages per S seconds, a length limit, a grace."""

    policy: FloodPolicy | None = None
    max_messages: int | None = None
    window_seconds: int | None = None
    max_length: int | None = None
    grace_s: int | None = None

    def limits(self, current: FloodLimits) -> FloodLimits | None:
        """The limits to store (the given parts over ``current``), or None if none were given."""
        if self.max_messages is None and self.max_length is None:
            return None
        return FloodLimits(
            max_messages=self.max_messages or current.max_messages,
            window_seconds=self.window_seconds or current.window_seconds,
            max_length=self.max_length or current.max_length,
        )


_GRACE = re.compile(r"^(?:宽限|grace)[=:]?(\d+)(?:秒|s)?$")


def parse_flood_setting(args: str) -> FloodSetting | None:
    """In any order: a policy word, ``N/S`` (N messages per S seconds), a maximum length, ``宽限30`` / ``grace 30s``
    (seconds after a warning before anything more happens). None if a word is unreadable or nothing is given."""
    words = normalize(args).replace("宽限 ", "宽限").replace("grace ", "grace").split()
    setting = FloodSetting()
    for word in words:
        rate, grace = _RATE.match(word), _GRACE.match(word)
        if word in _POLICY_WORDS:
            setting = replace(setting, policy=_POLICY_WORDS[word])
        elif rate and int(rate[1]) > 0 and int(rate[2]) > 0:
            setting = replace(setting, max_messages=int(rate[1]), window_seconds=int(rate[2]))
        elif grace:
            setting = replace(setting, grace_s=int(grace[1]))
        elif word.isdigit() and int(word) > 0:
            setting = replace(setting, max_length=int(word))
        else:
            return None
    return setting if words else None


@dataclass(frozen=True)
class ThresholdSetting:
    """``设置踢人票数 5``: a fixed number of votes, or None for the size-based default."""

    votes: int | None


def parse_threshold(args: str) -> ThresholdSetting | None:
    """A positive number of votes, or a word meaning "default"; None if unreadable."""
    word = normalize(args)
    if word in _DEFAULT_WORDS:
        return ThresholdSetting(votes=None)
    if word.isdigit() and int(word) > 0:
        return ThresholdSetting(votes=int(word))
    return None


_LANG_WORDS: dict[str, Lang | None] = {
    "中文": "zh",
    "汉语": "zh",
    "zh": "zh",
    "chinese": "zh",
    "英文": "en",
    "英语": "en",
    "en": "en",
    "english": "en",
    "自动": None,
    "默认": None,
    "auto": None,
    "default": None,
}


@dataclass(frozen=True)
class LangSetting:
    """``设置语言 中文``: the room's reply language, or None to follow each message's language."""

    lang: Lang | None


def parse_lang(args: str) -> LangSetting | None:
    """One of 中文/英文/自动 (or zh/en/auto, and a few synonyms); None if unreadable."""
    word = normalize(args)
    return LangSetting(_LANG_WORDS[word]) if word in _LANG_WORDS else None


@dataclass(frozen=True)
class ZoneSetting:
    """``设置时区 Asia/Tokyo``: an IANA zone name as the tz database spells it, or None for QUN_TIMEZONE."""

    zone: str | None


@cache
def _zones_by_folded_name() -> dict[str, str]:
    # Scanning the tz database takes a while: once per process. Keyed case-insensitively, since people type
    # "asia/tokyo" and the zone files are named "Asia/Tokyo".
    return {name.casefold(): name for name in available_timezones()}


def parse_zone(args: str) -> ZoneSetting | None:
    """An IANA zone name in any case, or a word meaning "default"; None for anything else."""
    word = args.strip()
    if normalize(word) in _DEFAULT_WORDS:
        return ZoneSetting(zone=None)
    name = _zones_by_folded_name().get(word.casefold())
    if name is None:
        return None
    ZoneInfo(name)  # listed, so it loads; a broken tz database fails here, loudly, not in every later event
    return ZoneSetting(zone=name)


NEED_MENTION = Bilingual("请 @ 要设置的人。", "Please @mention the person.")


def cannot_switch_self(me: Switchable) -> Bilingual:
    return Bilingual(
        f"「{me.title('zh')}」负责开关其它服务，不能关闭它。",
        f"'{me.title('en')}' holds the switches; it can't be switched off.",
    )


FLOOD_USAGE = Bilingual(
    "用法：设置刷屏 [警告|投票|踢出] [条数/秒数] [最大字数] [宽限秒数]，例如：设置刷屏 投票 10/60 500 宽限30",
    "Usage: set flood [warn|vote|remove] [messages/seconds] [max length] [grace seconds], "
    "e.g. set flood vote 10/60 500 grace 30",
)
THRESHOLD_USAGE = Bilingual(
    "用法：设置踢人票数 <票数>，或「默认」按群人数决定。",
    "Usage: set kick votes <number>, or `auto` to follow the room size.",
)


def admins_added(count: int) -> Bilingual:
    """Confirmation of ``设为管理员``."""
    return Bilingual(f"已设为本群管理员（{count} 人）。", f"Made {count} room admin(s).")


def admins_removed(count: int) -> Bilingual:
    """Confirmation of ``取消管理员``."""
    return Bilingual(f"已取消管理员（{count} 人）。", f"Removed {count} room admin(s).")


def unknown_service(typed: str, known: Sequence[Switchable]) -> Bilingual:
    """The admin named no service that runs (or nothing at all): the names that work."""
    zh, en = "、".join(s.title("zh") for s in known), ", ".join(s.title("en") for s in known)
    if not typed.strip():
        return Bilingual(
            f"用法：关闭 <服务> / 开启 <服务>。可以开关：{zh}",
            f"Usage: disable/enable <service>. Services: {en}",
        )
    return Bilingual(
        f"没有叫「{typed.strip()}」的服务。可以开关：{zh}",
        f"No service called '{typed.strip()}'. Services: {en}",
    )


def switched(service: Switchable, *, enabled: bool) -> Bilingual:
    """Confirmation of ``开启`` / ``关闭``."""
    zh, en = service.title("zh"), service.title("en")
    if enabled:
        return Bilingual(f"已在本群开启「{zh}」。", f"'{en}' is on for this room.")
    return Bilingual(f"已在本群关闭「{zh}」。", f"'{en}' is off for this room.")


def welcome_set(template: str | None, unknown: Sequence[str]) -> Bilingual:
    """Confirmation of ``设置欢迎语`` (and a hint about placeholders that will not be filled)."""
    if template is None:
        return Bilingual("已恢复默认欢迎语。", "Back to the default welcome.")
    hint_zh = f"注意：{'、'.join(unknown)} 不会被替换，可用 {{names}} 和 {{topic}}。" if unknown else ""
    hint_en = (
        f" Note: {', '.join(unknown)} will not be filled; use {{names}} and {{topic}}." if unknown else ""
    )
    return Bilingual(f"已设置欢迎语。{hint_zh}", f"Welcome message set.{hint_en}")


def flood_set(policy: FloodPolicy, limits: FloodLimits, grace_s: int) -> Bilingual:
    """Confirmation of ``设置刷屏``: the room's whole rule as it now stands."""
    names = {
        FloodPolicy.WARN: ("只警告", "warn only"),
        FloodPolicy.VOTE: ("警告后发起投票", "warn, then open a vote"),
        FloodPolicy.REMOVE: ("警告后移出", "warn, then remove"),
    }[policy]
    return Bilingual(
        f"刷屏规则：{names[0]}；每 {limits.window_seconds} 秒最多 {limits.max_messages} 条，每条最多 "
        f"{limits.max_length} 字；警告后宽限 {grace_s} 秒。",
        f"Flood rule: {names[1]}; at most {limits.max_messages} messages per {limits.window_seconds} s, "
        f"{limits.max_length} characters each; {grace_s} s of grace after a warning.",
    )


def threshold_set(threshold: int | None) -> Bilingual:
    """Confirmation of ``设置踢人票数``."""
    if threshold is None:
        return Bilingual(
            "踢人票数按群人数决定（默认 3，4 人群 2，3 人以下 1）。", "Kick votes follow the room size again."
        )
    return Bilingual(f"踢人需要 {threshold} 票。", f"Removing someone now takes {threshold} votes.")


LANG_USAGE = Bilingual(
    "用法：设置语言 中文|英文|自动（自动：用对方消息的语言回复）",
    "Usage: set language zh|en|auto (auto: answer in the language of each message)",
)
ZONE_EXAMPLES = "Asia/Shanghai, Asia/Tokyo, Europe/Berlin, America/New_York"


def lang_set(lang: Lang | None) -> Bilingual:
    """Confirmation of ``设置语言``."""
    if lang is None:
        return Bilingual(
            "好的，我会用每条消息的语言回复。", "OK, I'll answer in the language of each message."
        )
    if lang == "zh":
        return Bilingual(
            "好的，本群以后我都用中文回复。", "OK, from now on I answer in Chinese in this room."
        )
    return Bilingual("好的，本群以后我都用英文回复。", "OK, from now on I answer in English in this room.")


def unknown_zone(typed: str) -> Bilingual:
    """``设置时区`` with something that is no IANA zone name (or nothing)."""
    if not typed.strip():
        return Bilingual(
            f"用法：设置时区 <时区名>|默认，时区名用 IANA 写法，例如 {ZONE_EXAMPLES}。",
            f"Usage: set timezone <zone>|default, with an IANA zone name such as {ZONE_EXAMPLES}.",
        )
    return Bilingual(
        f"不认识时区「{typed.strip()}」。请用 IANA 时区名（地区/城市），例如 {ZONE_EXAMPLES}。",
        f"Unknown time zone '{typed.strip()}'. Please use an IANA zone name (Region/City), such as "
        f"{ZONE_EXAMPLES}.",
    )


def zone_set(zone: str, sent_at: datetime) -> Bilingual:
    """Confirmation of ``设置时区``, with the time the admin's message was sent, in that zone (a check that it is
    the zone they meant; the message's time, not the clock's, so a redelivery says the same)."""
    local = sent_at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    return Bilingual(
        f"本群时区已设为 {zone}（那里现在是 {local}）。",
        f"This room's time zone is now {zone} (it is {local} there).",
    )


def zone_reset(default_zone: str) -> Bilingual:
    """Confirmation of ``设置时区 默认``."""
    return Bilingual(
        f"本群时区已恢复默认（{default_zone}）。",
        f"This room's time zone is back to the default ({default_zone}).",
    )
