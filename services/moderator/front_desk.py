"""The front desk: what the bot says when spoken to and nobody else has a better answer.

- small talk (a hello, a bare mention, thanks, "ok") gets a short friendly answer: who I am, `帮助` for more;
- a mistyped keyword gets "did you mean …" with the closest live keywords (`suggest`);
- anything else nobody took gets "I didn't understand — `帮助` lists what I can do".

Pure: the live services come in as `ServiceInfo`s (from the registry), the answers go out as `Bilingual`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas import ServiceInfo
from services.moderator.greeting import SmallTalk, small_talk
from services.moderator.suggest import Keyword, Suggestion, suggestions
from services.shared import Bilingual

CLAIM_THRESHOLD = 0.5
"""The plumbing's default QUN_CLAIM_THRESHOLD: what a recogniser needs to win."""
SMALL_TALK_CONFIDENCE = 0.9
WEAK_SUGGESTION = 0.25
"""Below the threshold, a suggestion is still worth a mention in the "didn't understand" answer."""


def member_facing(services: Iterable[ServiceInfo]) -> list[ServiceInfo]:
    """Live services a member can use: not internal, with at least one keyword; one per name, by name."""
    by_name: dict[str, ServiceInfo] = {}
    for info in services:
        if not info.internal and any(command.keywords for command in info.commands):
            by_name.setdefault(info.name, info)
    return [by_name[name] for name in sorted(by_name)]


def keywords_for(
    services: Iterable[ServiceInfo], *, admin: bool, in_room: bool, disabled: frozenset[str] = frozenset()
) -> list[Keyword]:
    """The keywords this member could mean here: admin commands for admins only, room commands in rooms only,
    nothing of services switched off in the room."""
    found = []
    for info in member_facing(services):
        if info.name in disabled:
            continue
        for command in info.commands:
            if (command.admin_only and not admin) or (command.rooms_only and not in_room):
                continue
            found += [
                Keyword(
                    keyword=keyword,
                    command=command.name,
                    service=info.name,
                    usage_zh=command.usage_zh or command.usage_en,
                    usage_en=command.usage_en or command.usage_zh,
                )
                for keyword in command.keywords
            ]
    return found


@dataclass(frozen=True)
class Reading:
    """What the front desk makes of a message addressed to the bot."""

    small_talk: SmallTalk | None
    suggestions: tuple[Suggestion, ...]

    @property
    def confidence(self) -> float:
        if self.small_talk is not None:
            return SMALL_TALK_CONFIDENCE
        return self.suggestions[0].confidence if self.suggestions else 0.0

    @property
    def suggested_command(self) -> str:
        """`service/command` of the best suggestion ("" for none)."""
        if not self.suggestions:
            return ""
        keyword = self.suggestions[0].keyword
        return f"{keyword.service}/{keyword.command}"


def read(body: str, keywords: Sequence[Keyword]) -> Reading:
    talk = small_talk(body)
    if talk is not None:
        return Reading(talk, ())
    return Reading(None, tuple(suggestions(body, keywords)))


# -- answers ----------------------------------------------------------------------------------------------


def _help_hint(in_room: bool) -> Bilingual:
    if in_room:
        return Bilingual("@我 发「帮助」看看怎么用。", "Mention me with `help` to see how.")
    return Bilingual("发「帮助」看看怎么用。", "Send `help` to see how.")


def hello(services: Iterable[ServiceInfo], *, in_room: bool) -> Bilingual:
    """At most three lines: who I am, what I help with (the live services), how to learn more."""
    live = member_facing(services)
    hint = _help_hint(in_room)
    titles_zh = "、".join(info.title_zh or info.name for info in live[:6])
    titles_en = ", ".join(info.title_en or info.name for info in live[:6])
    zh = ["你好 👋 我是这个群的助手。" if in_room else "你好 👋 我是群聊助手。"]
    en = ["Hi 👋 I'm this group's assistant." if in_room else "Hi 👋 I'm a group chat assistant."]
    if live:
        zh.append(f"我能帮忙：{titles_zh}。")
        en.append(f"I can help with: {titles_en}.")
    return Bilingual("\n".join([*zh, hint.zh]), "\n".join([*en, hint.en]))


THANKS = Bilingual("不客气 🙂", "You're welcome 🙂")
ACK = Bilingual("👌", "👌")


def small_talk_answer(talk: SmallTalk, services: Iterable[ServiceInfo], *, in_room: bool) -> Bilingual:
    if talk is SmallTalk.THANKS:
        return THANKS
    if talk is SmallTalk.ACK:
        return ACK
    return hello(services, in_room=in_room)


def did_you_mean(found: Sequence[Suggestion]) -> Bilingual:
    """Two lines: the closest keywords, and how to use the closest."""
    names_zh = "或".join(f"「{s.keyword.keyword}」" for s in found)
    names_en = " or ".join(f"`{s.keyword.keyword}`" for s in found)
    first = found[0].keyword
    return Bilingual(
        f"你是不是想用{names_zh}？\n用法：{first.usage_zh}",
        f"Did you mean {names_en}?\nUsage: {first.usage_en}",
    )


def not_understood(
    reading: Reading, *, in_room: bool, text: bool = True, wrong_password: bool = False
) -> Bilingual:
    """The last answer, when nobody understood: how to find out what I can do (and a weak guess, if any)."""
    if not text:
        zh, en = "我只看得懂文字消息 🙂", "I can only read text messages 🙂"
    elif wrong_password:
        zh, en = (
            "这不是我认识的命令，也不是哪个群的进群密码。",
            "That's no command I know, nor a room's password.",
        )
    else:
        zh, en = "没太明白你的意思 🤔", "Sorry, I didn't understand that 🤔"
    weak = [s for s in reading.suggestions if s.confidence >= WEAK_SUGGESTION][:1]
    if weak:
        zh += f" 你是不是想用「{weak[0].keyword.keyword}」？"
        en += f" Did you mean `{weak[0].keyword.keyword}`?"
    hint = _help_hint(in_room)
    return Bilingual(f"{zh}\n{hint.zh}", f"{en}\n{hint.en}")
