"""Help built from the registry: whatever services answer ``qun.svc.discover`` right now, nothing hard-coded.

Works over any records shaped like ``schemas.ServiceInfo`` / ``ChatCommand`` (protocols below), so it is tested
without the bus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.moderator.text_match import normalize
from services.shared import Bilingual
from services.shared.commands import Lang


class CommandLike(Protocol):
    """What help needs of a ``ChatCommand``."""

    @property
    def name(self) -> str: ...
    @property
    def keywords_zh(self) -> Sequence[str]: ...
    @property
    def keywords_en(self) -> Sequence[str]: ...
    @property
    def usage_zh(self) -> str: ...
    @property
    def usage_en(self) -> str: ...
    @property
    def admin_only(self) -> bool: ...
    @property
    def needs_mention(self) -> bool: ...


class ServiceLike(Protocol):
    """What help needs of a ``ServiceInfo``."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def summary_zh(self) -> str: ...
    @property
    def summary_en(self) -> str: ...
    @property
    def commands(self) -> Sequence[CommandLike]: ...


def live_services(replies: Iterable[ServiceLike]) -> list[ServiceLike]:
    """One entry per service (every replica answers discovery), sorted by name."""
    by_name: dict[str, ServiceLike] = {}
    for info in replies:
        by_name.setdefault(info.name, info)
    return [by_name[name] for name in sorted(by_name)]


def _keywords(command: CommandLike, lang: Lang) -> list[str]:
    first, second = (command.keywords_zh, command.keywords_en)
    if lang == "en":
        first, second = second, first
    return list(first) or list(second) or [command.name]


def _usage(command: CommandLike, lang: Lang) -> str:
    return (command.usage_zh or command.usage_en) if lang == "zh" else (command.usage_en or command.usage_zh)


def _line(command: CommandLike, lang: Lang) -> str:
    """``· usage`` when the usage starts with the command's keyword (the convention), else ``· kw: usage``."""
    admin = ("（管理员）" if lang == "zh" else " (admins)") if command.admin_only else ""
    usage = _usage(command, lang)
    keywords = _keywords(command, lang)
    if any(normalize(usage).startswith(normalize(k)) for k in [*command.keywords_zh, *command.keywords_en]):
        return f"· {usage}{admin}"
    separator = "：" if lang == "zh" else ": "
    return (
        f"· {' / '.join(keywords)}{separator}{usage}{admin}" if usage else f"· {' / '.join(keywords)}{admin}"
    )


def _summary(info: ServiceLike, lang: Lang) -> str:
    summary = (info.summary_zh or info.summary_en) if lang == "zh" else (info.summary_en or info.summary_zh)
    return f"【{info.name}】{summary}" if lang == "zh" or not summary else f"【{info.name}】 {summary}"


def overview(services: Iterable[ServiceLike]) -> Bilingual:
    """``@bot help``: every live service with its commands, in one message."""
    live = live_services(services)
    texts: dict[Lang, str] = {}
    for lang in ("zh", "en"):
        lines = [
            "我现在能做这些（群里请先 @我）：" if lang == "zh" else "What I can do right now (@me in groups):"
        ]
        for info in live:
            lines.append(_summary(info, lang))
            lines.extend(_line(c, lang) for c in info.commands)
        lines.append(
            "发送「帮助 <服务或命令>」看详情。"
            if lang == "zh"
            else "Send `help <service or command>` for details."
        )
        texts[lang] = "\n".join(lines)
    return Bilingual(zh=texts["zh"], en=texts["en"])


def _details(command: CommandLike, service: ServiceLike, lang: Lang) -> list[str]:
    keywords = " / ".join([*command.keywords_zh, *command.keywords_en])
    if lang == "zh":
        mention = "群里需要 @我" if command.needs_mention else "群里不用 @我"
        who = "仅管理员" if command.admin_only else "所有人"
        return [
            f"「{command.name}」（{service.name}）",
            f"关键词：{keywords}",
            f"用法：{_usage(command, 'zh')}",
            f"{who}；{mention}",
        ]
    mention = "needs an @mention in groups" if command.needs_mention else "no @mention needed"
    who = "admins only" if command.admin_only else "everyone"
    return [
        f"'{command.name}' ({service.name})",
        f"keywords: {keywords}",
        f"usage: {_usage(command, 'en')}",
        f"{who}; {mention}",
    ]


@dataclass(frozen=True)
class _Found:
    service: ServiceLike
    commands: tuple[CommandLike, ...]
    whole_service: bool


def _find(topic: str, live: Sequence[ServiceLike]) -> _Found | None:
    wanted = normalize(topic)
    for info in live:
        if normalize(info.name) == wanted:
            return _Found(service=info, commands=tuple(info.commands), whole_service=True)
    for info in live:
        for command in info.commands:
            names = [command.name, *command.keywords_zh, *command.keywords_en]
            if wanted in (normalize(n) for n in names):
                return _Found(service=info, commands=(command,), whole_service=False)
    return None


def details(topic: str, services: Iterable[ServiceLike]) -> Bilingual:
    """``@bot help <service or command>``."""
    live = live_services(services)
    found = _find(topic, live)
    if found is None:
        names = "、".join(s.name for s in live)
        return Bilingual(
            f"没有叫「{topic}」的服务或命令。正在运行的服务：{names}",
            f"No service or command called '{topic}'. Running services: {', '.join(s.name for s in live)}",
        )
    texts: dict[Lang, str] = {}
    for lang in ("zh", "en"):
        blocks = ["\n".join(_details(c, found.service, lang)) for c in found.commands]
        if found.whole_service:
            blocks.insert(0, f"【{found.service.name} {found.service.version}】")
        texts[lang] = "\n\n".join(blocks)
    return Bilingual(zh=texts["zh"], en=texts["en"])
