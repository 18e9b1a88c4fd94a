"""Recognise "file the last N messages as an issue" in a chat message body.

Forms (case-insensitive, full-width and half-width alike, any spacing):
  以上5条开工单 [标题]      以上5条创建 Issue [标题]      以上开工单      以上五条开工单
  issue last 5 [title]      (with or without @bot; plain `issue 5 [title]` only when the bot is mentioned)
After the trigger, in any order before the title: an `owner/repo` to pick among several bound repositories,
and labels — `[bug]`, `【文档】`, or a bare alias such as `缺陷` / `需求`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.github_sync.repos import RepoName
from services.shared.text import normalize

DEFAULT_COUNT = 10
MAX_COUNT = 50

_COUNT = r"(?P<count>\d+|[零一二两三四五六七八九十]+)?"
_ZH_TRIGGER = re.compile(
    rf"^以上\s*{_COUNT}\s*条?\s*(?:消息)?\s*(?:开工单|开\s*issue|创建\s*issue|建\s*issue|提\s*issue|提工单)(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_EN_LAST = re.compile(r"^issue\s+last(?:\s+(?P<count>\d+))?(?P<rest>(?:\s.*)?)$", re.IGNORECASE | re.DOTALL)
_EN_MENTIONED = re.compile(r"^issue(?:\s+(?P<count>\d+))?(?P<rest>(?:\s.*)?)$", re.IGNORECASE | re.DOTALL)
_BRACKETED = re.compile(r"[\[【［](?P<label>[^\[\]【】［］]{1,50})[\]】］]")
_COLON = re.compile(r"[:：]")
_TITLE_LEAD = ":：-—– "

# Words people type → a label name commonly used on GitHub. The YAML file can add or override.
DEFAULT_LABEL_ALIASES: dict[str, str] = {
    "bug": "bug",
    "缺陷": "bug",
    "故障": "bug",
    "docs": "documentation",
    "doc": "documentation",
    "documentation": "documentation",
    "文档": "documentation",
    "feature": "enhancement",
    "enhancement": "enhancement",
    "需求": "enhancement",
    "功能": "enhancement",
    "question": "question",
    "问题": "question",
    "help": "help wanted",
}


@dataclass(frozen=True)
class IssueTrigger:
    """A parsed request; label words are as typed, resolved against the repository later."""

    count: int
    title: str
    repo: RepoName | None
    label_words: tuple[str, ...]
    count_capped: bool  # asked for more than MAX_COUNT


def parse_trigger(body: str, *, mentions_bot: bool, aliases: dict[str, str]) -> IssueTrigger | None:
    """Recognised on the normalised body (full-width and half-width alike, any case, any spacing); the title,
    repository and labels are read from the body as typed."""
    typed = body.strip()
    text = normalize(typed)
    match = _ZH_TRIGGER.match(text) or _EN_LAST.match(text)
    if match is None and mentions_bot:
        match = _EN_MENTIONED.match(text)
    if match is None:
        return None
    asked = _parse_count(match["count"])
    count = min(asked, MAX_COUNT)
    repo, label_words, title = _split_rest(_after(typed, text[: match.start("rest")]).strip(), aliases)
    return IssueTrigger(
        count=count, title=title, repo=repo, label_words=tuple(label_words), count_capped=asked > MAX_COUNT
    )


def _after(typed: str, head: str) -> str:
    """What follows `head` (a normalised prefix of `typed`) in the text as typed."""
    for end in range(len(typed) + 1):
        if normalize(typed[:end]) == head.rstrip():
            return typed[end:]
    return ""  # not reached: `head` is a prefix of normalize(typed)


def _split_rest(rest: str, aliases: dict[str, str]) -> tuple[RepoName | None, list[str], str]:
    labels: list[str] = []
    # A bracketed word is a label, unless the brackets hold the whole title (`以上开工单 [登录失败]`).
    bracketed = list(_BRACKETED.finditer(rest))
    whole_title = (
        len(bracketed) == 1 and bracketed[0].group(0) == rest and normalize(rest[1:-1]) not in aliases
    )
    if whole_title:
        return None, [], rest[1:-1].strip()
    for found in bracketed:
        labels.append(found["label"].strip())
    rest = _BRACKETED.sub(" ", rest)
    repo: RepoName | None = None
    words = rest.split()
    # Leading words may name the repository or a label alias; the title is everything after them.
    # `需求：导出 CSV` — a colon may glue a leading word to the title.
    while words:
        parts = _COLON.split(words[0], maxsplit=1)
        head, glued = parts[0].strip(",，"), parts[1] if len(parts) > 1 else ""
        if repo is None and (candidate := RepoName.try_parse(head)) is not None:
            repo = candidate
        elif normalize(head) in aliases:
            labels.append(head)
        else:
            break
        words[:1] = [glued] if glued else []
    return repo, labels, " ".join(words).lstrip(_TITLE_LEAD).strip()


_ZH_DIGITS = dict(zip("零一二三四五六七八九", range(10), strict=True)) | {"两": 2}


def _parse_count(raw: str | None) -> int:
    if not raw:
        return DEFAULT_COUNT
    value = int(raw) if raw.isdigit() else _zh_number(raw)
    return value if value > 0 else DEFAULT_COUNT


def _zh_number(raw: str) -> int:
    """Chinese numerals up to 99: 五, 十, 十五, 二十, 三十五."""
    if "十" not in raw:
        return _ZH_DIGITS.get(raw, 0) if len(raw) == 1 else 0
    tens, _, units = raw.partition("十")
    tens_value = _ZH_DIGITS.get(tens, 0) if tens else 1
    units_value = _ZH_DIGITS.get(units, 0) if units else 0
    return tens_value * 10 + units_value


def label_aliases(extra: dict[str, str]) -> dict[str, str]:
    """Default aliases with the configured ones on top, keyed by their normalised form."""
    merged = {**DEFAULT_LABEL_ALIASES, **extra}
    return {normalize(word): label for word, label in merged.items()}


@dataclass(frozen=True)
class ResolvedLabels:
    labels: tuple[str, ...]  # names exactly as the repository spells them
    unknown: tuple[str, ...]  # words that matched no label of the repository


def resolve_labels(words: tuple[str, ...], repo_labels: list[str], aliases: dict[str, str]) -> ResolvedLabels:
    """Map typed words to the repository's labels: alias first, then the word itself, ignoring case and width."""
    by_form = {normalize(name): name for name in repo_labels}
    labels: list[str] = []
    unknown: list[str] = []
    for word in words:
        target = normalize(aliases.get(normalize(word), word))
        name = by_form.get(target) or by_form.get(normalize(word))
        if name is None:
            unknown.append(word)
        elif name not in labels:
            labels.append(name)
    return ResolvedLabels(labels=tuple(labels), unknown=tuple(unknown))
