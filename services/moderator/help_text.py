"""Help built from the registry: whatever services answer `qun.svc.discover` right now, nothing hard-coded.

Fits a phone screen: at most `MAX_LINES` lines, one line per service, in the asker's language. Members see what they
can use where they ask (room commands in rooms only); admin commands are listed for admins, or asked for with
`帮助 管理`. Internal services (plumbing, examples) and commands without a keyword (recognised in plain words only)
never appear. `帮助 <服务或命令>` gives a service's or a command's usage and examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from schemas import ChatCommand, ServiceInfo
from services.moderator.front_desk import member_facing
from services.moderator.suggest import Keyword, suggestions
from services.moderator.text_match import normalize
from services.shared.commands import Lang

MAX_LINES = 12
MAX_EXAMPLES = 3
ADMIN_TOPICS = frozenset({"管理", "管理员", "管理命令", "admin", "admins", "admin commands"})
NO_TOPIC = frozenset({"我", "一下", "请", "全部", "所有", "me", "please", "all", "list", "?"})
"""`help me`, `帮助一下`: the overview, not a search for a service called "me"."""


@dataclass(frozen=True)
class Asker:
    """Who asks, and where: what they may use decides what help lists."""

    lang: Lang
    admin: bool
    in_room: bool


def _usable(command: ChatCommand, asker: Asker) -> bool:
    return bool(command.keywords) and (asker.in_room or not command.rooms_only)


def _pick(lang: Lang, zh: str, en: str) -> str:
    return (zh or en) if lang == "zh" else (en or zh)


def _title(info: ServiceInfo, lang: Lang) -> str:
    return _pick(lang, info.title_zh, info.title_en) or info.name


def _keyword(command: ChatCommand, lang: Lang) -> str:
    first, second = (command.keywords_zh, command.keywords_en)
    return (first or second)[0] if lang == "zh" else (second or first)[0]


def _usage(command: ChatCommand, lang: Lang) -> str:
    return _pick(lang, command.usage_zh, command.usage_en)


def _examples(commands: Iterable[ChatCommand], lang: Lang) -> list[str]:
    found: list[str] = []
    for command in commands:
        found += command.examples_zh if lang == "zh" else command.examples_en
    return list(dict.fromkeys(found))[:MAX_EXAMPLES]


def _fit(lines: Sequence[str], lang: Lang) -> str:
    """No line twice; at most MAX_LINES (the last one says what was left out)."""
    unique = list(dict.fromkeys(line for line in lines if line))
    if len(unique) > MAX_LINES:
        left = len(unique) - MAX_LINES + 1
        unique = [*unique[: MAX_LINES - 1], f"……还有 {left} 行" if lang == "zh" else f"… {left} more lines"]
    return "\n".join(unique)


def _list(lang: Lang, items: Iterable[str]) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _service_line(info: ServiceInfo, commands: Sequence[ChatCommand], asker: Asker) -> str:
    lang = asker.lang
    keywords = _list(lang, dict.fromkeys(_keyword(c, lang) for c in commands))
    line = f"· {_title(info, lang)}{'：' if lang == 'zh' else ': '}{keywords}"
    example = _examples(commands, lang)[:1]
    if example:
        line += f"（例：{example[0]}）" if lang == "zh" else f" (e.g. {example[0]})"
    return line


def _footer(asker: Asker, *, admin_hint: bool, example: str) -> list[str]:
    """`example`: the display name of a service that is live, so the hint works when followed."""
    if asker.lang == "zh":
        lines = [f"详情：帮助 <服务或命令>，例如「帮助 {example}」" if example else "详情：帮助 <服务或命令>"]
        return [*lines, "管理员命令：帮助 管理"] if admin_hint else lines
    lines = [
        f"Details: help <service or command>, e.g. `help {example}`" if example else "Details: help <topic>"
    ]
    return [*lines, "Admin commands: help admin"] if admin_hint else lines


def overview(services: Iterable[ServiceInfo], asker: Asker) -> str:
    """`帮助`: one line per service, the member commands usable here (the keyword in the asker's language)."""
    lang = asker.lang
    if lang == "zh":
        lines = ["我能做这些（群里请 @我）：" if asker.in_room else "我能做这些："]
    else:
        lines = ["What I can do (mention me in groups):" if asker.in_room else "What I can do:"]
    listed: list[str] = []
    for info in member_facing(services):
        commands = [c for c in info.commands if _usable(c, asker) and not c.admin_only]
        if commands:
            lines.append(_service_line(info, commands, asker))
            listed.append(_title(info, lang))
    footer = _footer(asker, admin_hint=asker.admin and asker.in_room, example=listed[0] if listed else "")
    return _fit([*lines, *footer], lang)


def admin_overview(services: Iterable[ServiceInfo], asker: Asker) -> str:
    """`帮助 管理`: the admin commands, one line per service."""
    lang = asker.lang
    lines = ["管理员命令（群里 @我 使用）：" if lang == "zh" else "Admin commands (mention me in the room):"]
    for info in member_facing(services):
        commands = [c for c in info.commands if c.admin_only and c.keywords]
        if commands:
            lines.append(_service_line(info, commands, asker))
    if not asker.admin:
        lines.append("只有本群管理员可以使用。" if lang == "zh" else "Only this room's admins may use them.")
    lines.append("详情：帮助 <命令>" if lang == "zh" else "Details: help <command>")
    return _fit(lines, lang)


def _command_lines(command: ChatCommand, asker: Asker) -> list[str]:
    lang = asker.lang
    keywords = " / ".join(command.keywords)
    if lang == "zh":
        who = "仅管理员" if command.admin_only else "所有人"
        where = "只能在群里用" if command.rooms_only else "群里和私聊都能用"
        mention = "群里要 @我" if command.needs_mention else "群里不用 @我"
        lines = [f"用法：{_usage(command, lang)}", f"关键词：{keywords}", f"{who}；{where}；{mention}"]
        examples = [f"例：{example}" for example in _examples([command], lang)]
    else:
        who = "admins only" if command.admin_only else "everyone"
        where = "in groups only" if command.rooms_only else "in groups and direct messages"
        mention = "mention me in groups" if command.needs_mention else "no mention needed"
        lines = [f"Usage: {_usage(command, lang)}", f"Keywords: {keywords}", f"{who}; {where}; {mention}"]
        examples = [f"e.g. {example}" for example in _examples([command], lang)]
    return [*lines, *examples]


def _service_details(info: ServiceInfo, asker: Asker) -> list[str]:
    lang = asker.lang
    summary = _pick(lang, info.summary_zh, info.summary_en)
    lines = [f"【{_title(info, lang)}】{summary}" if lang == "zh" else f"[{_title(info, lang)}] {summary}"]
    commands = [c for c in info.commands if _usable(c, asker) and not c.admin_only]
    lines += [f"· {_usage(command, lang)}" for command in commands]
    examples = _examples(commands, lang)
    if examples:
        lines.append(("例：" if lang == "zh" else "e.g. ") + ("；" if lang == "zh" else "; ").join(examples))
    admin = [c for c in info.commands if _usable(c, asker) and c.admin_only] if asker.admin else []
    if admin:  # one line: their usage is one `帮助 <命令>` away
        keywords = _list(lang, dict.fromkeys(_keyword(c, lang) for c in admin))
        lines.append(
            f"· 管理员：{keywords}（帮助 <命令> 看用法）"
            if lang == "zh"
            else f"· Admins: {keywords} (help <command>)"
        )
    return lines


@dataclass(frozen=True)
class _Found:
    service: ServiceInfo
    command: ChatCommand | None


def _find(topic: str, live: Sequence[ServiceInfo]) -> _Found | None:
    wanted = normalize(topic)
    for info in live:
        if wanted in {normalize(info.name), normalize(info.title_zh), normalize(info.title_en)}:
            return _Found(info, None)
    for info in live:
        for command in info.commands:
            if command.keywords and wanted in {normalize(n) for n in (command.name, *command.keywords)}:
                return _Found(info, command)
    return None


def _not_found(topic: str, live: Sequence[ServiceInfo], asker: Asker) -> list[str]:
    lang = asker.lang
    keywords = [
        Keyword(keyword, command.name, info.name)
        for info in live
        for command in info.commands
        for keyword in (*command.keywords, info.title_zh, info.title_en)
        if keyword and (asker.admin or not command.admin_only)
    ]
    close = suggestions(topic, keywords, limit=1)
    titles = _list(lang, (_title(info, lang) for info in live))
    if lang == "zh":
        guess = f"你是不是想找「{close[0].keyword.keyword}」？" if close else ""
        return [f"没有叫「{topic}」的服务或命令。{guess}", f"可以查：{titles}"]
    guess = f" Did you mean `{close[0].keyword.keyword}`?" if close else ""
    return [f"No service or command called '{topic}'.{guess}", f"Try: {titles}"]


def details(topic: str, services: Iterable[ServiceInfo], asker: Asker) -> str:
    """`帮助 <服务或命令>` (`帮助 管理`: the admin commands)."""
    if normalize(topic) in NO_TOPIC:
        return overview(services, asker)
    if normalize(topic) in ADMIN_TOPICS:
        return admin_overview(services, asker)
    live = member_facing(services)
    found = _find(topic, live)
    if found is None:
        return _fit(_not_found(topic.strip(), live, asker), asker.lang)
    if found.command is None:
        return _fit(_service_details(found.service, asker), asker.lang)
    title = _title(found.service, asker.lang)
    head = f"「{_keyword(found.command, asker.lang)}」（{title}）"
    if asker.lang == "en":
        head = f"`{_keyword(found.command, 'en')}` ({title})"
    return _fit([head, *_command_lines(found.command, asker)], asker.lang)
