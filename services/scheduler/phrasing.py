"""How members ask for a reminder around the time expression: the verb, whom it is for, the polite words before
it, and what makes a sentence a question instead. Regexes over the normalised text (NFKC, lower case, invisible
characters removed); the time itself is read by `grammar` / `timeparse`.

A request has a reminder verb in *imperative position*: within its clause, nothing stands before the verb but time
expressions, polite or modal words (请, 麻烦, 帮我, 能不能, please, can you …) and words like 记得 / 别忘了. So
"下午四点提醒我…", "at 6pm remind us…", "can you remind me…" are requests, while "谢谢提醒", "他昨天提醒我…",
"I'll remind them…", "老板叫我们…" are not. A verb directly followed by 了 / 过 (提醒过, 叫了) reports the past.

Verbs: 提醒 / remind take an optional target; 叫 / 喊 / 通知 / ping / notify / nudge only count with a target
(叫我, 通知大家, ping me), so 叫个车 or 通知：… are not reminders; 记得 / 别忘了 / 定时 / remember to / don't
forget to / set a reminder stand alone (设个提醒 is 提醒 after the polite 设个); 闹钟 / set an alarm / wake me
are for the sender. Targets: 我 / me (the sender: the firing mentions them), 大家 /
我们 / 所有人 / us / everyone / the team … (the room), @name (the firing mentions the people the message
mentioned).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    NONE = ""
    ME = "me"
    ROOM = "room"
    MENTIONED = "mentioned"


_ZH_ME = r"我(?!们)"
_ZH_ROOM = r"我们|大家|所有人|全体(?:成员|同事|同学)?|各位|大伙儿?|咱们|全员|群里"
_EN_ME = r"me\b"
_EN_ROOM = r"(?:us|everyone|everybody|all\s+of\s+us|y'?all|all|folks|people|the\s+(?:team|room|group|channel|gang))\b"
_AT = r"(?:@[^\s@]+\s*)+"
TARGET = rf"(?P<me>{_ZH_ME}|{_EN_ME})|(?P<room>{_ZH_ROOM}|{_EN_ROOM})|(?P<at>{_AT})"

# A verb, then (一下)? target (一下)?. `needs` marks verbs that only count with a target.
_OPTIONAL_TARGET_VERBS = r"提醒|remind(?![a-z])"
_TARGETED_VERBS = r"叫|喊|通知|ping|notify|nudge|alert"
_STANDALONE_VERBS = (
    r"(?:记得|别忘了|别忘记|不要忘了|不要忘记|定时)(?!\s*(?:提醒|叫|喊|通知))"
    r"|(?:remember\s+to|(?:don'?t|do\s+not)\s+forget\s+to)(?![a-z])(?!\s*(?:remind|ping|notify|nudge|alert)\b)"
    r"|(?:set|add|create|make)\s+(?:a|an|me\s+a)\s+reminder(?:\s+for)?(?![a-z])"
)
_ALARM_VERBS = (
    r"闹钟|(?:set|add|create|make)\s+(?:a|an|me\s+an?)\s+alarm(?:\s+for)?(?![a-z])|wake\s+me(?:\s+up)?\b"
    r"|别让我忘(?:了|记)?|(?:don'?t|do\s+not)\s+let\s+me\s+forget(?:\s+to)?(?![a-z])"
)
"""An alarm, or "don't let me forget", is for the sender."""
VERB = re.compile(
    rf"(?P<verb>(?P<optional>{_OPTIONAL_TARGET_VERBS})|(?P<targeted>{_TARGETED_VERBS})"
    rf"|(?P<standalone>{_STANDALONE_VERBS})|(?P<alarm>{_ALARM_VERBS}))"
    rf"(?:\s*一下)?\s*(?:{TARGET})?(?:\s*一下)?",
)
_TARGET_AT_START = re.compile(rf"^\s*(?:一下)?\s*(?:{TARGET})(?:\s*一下)?\s*")
_ASCII_WORD = re.compile(r"[a-z0-9]")

# What may stand before the verb in its clause (besides time expressions).
_FILLER = re.compile(
    r"\s+|[,，、:：]"
    r"|请|麻烦(?:你|您)?|帮(?:我|忙)?|你|您|记得|别忘了|不要忘了|到时(?:候)?|然后|再|也|就|一定(?:要)?|务必"
    r"|能不能|可不可以|能否|可否|能|可以|顺便|那就|那|好的|好|嗯|哦|喂|嘿|哈喽|按时|准时|定时|在|于"
    r"|等会儿?|等一下|待会儿?|一会儿?|回头|稍后"
    r"|(?P<set>(?:设置|添加|创建|设|定|建|加)(?:一个|个|一下)?)|(?P<of>的)"
    r"|(?:please|pls|plz|kindly|hey|hi|hello|ok|okay|so|and|then|also|just|bot|yo|now|later)\b"
    r"|(?:can|could|would|will)\s+(?:you|u)\b|(?:be|make)\s+sure\s+to\b"
    r"|remember\s+to\b|(?:don'?t|do\s+not)\s+forget\s+to\b"
)
_POLITE_ASK = re.compile(
    r"能不能|可不可以|能否|可否|能|可以|麻烦|请|(?:can|could|would|will)\s+(?:you|u)\b|please"
)
_POLITE_TAG = re.compile(r"(?:好吗|好不好|行吗|行不行|可以吗|成吗|ok|okay)[\W_]*$")
_PAST_AFTER_VERB = re.compile(r"\s*(?:了|过)")
_NOUN_AFTER_VERB = re.compile(r"的|事项|功能|列表|内容")
"""提醒的时间 / 提醒功能: the word used as a noun."""
_CLAUSE_END = re.compile(r"[，。；！？!?;\n]|,(?!\d)|\.(?=\s|$)")
_QUESTION_MARK = re.compile(r"[?？]")
_FINAL_PARTICLE = re.compile(r"(?:吗|么|呢|没有?|不)[\W_]*$")
_TRAILING_NOISE = re.compile(r"[\s!！。.~～…,，]+$")
_WH_START = re.compile(
    r"^(?:what|when|where|who|whom|whose|why|how|which|whether|if)\b"
    r"|^(?:什么|啥|几点|几号|几时|什么时候|啥时候|哪|谁|怎么|怎样|为什么|为啥|是否|是不是|有没有|要不要|多久|多少)"
)
_QUESTION_WORDS = re.compile(
    r"几点|几号|几时|什么时候|啥时候|哪天|哪一天|周几|星期几|礼拜几|多久|多少|什么|啥|谁|哪里|哪儿|怎么|为什么|是不是|有没有"
    r"|\b(?:what|when|where|who|why|how|which)\b|\bwhen'?s\b|\bwhat'?s\b"
)
_LEADING_JOINERS = re.compile(r"^(?:[\s,，、:：;；.。!！?？~～\-—]+|(?:to|that|about|of|for|re|on)\b|的|吗)+")
_TRAILING_JOINERS = re.compile(
    r"(?:[\s,，、:：;；.。!！?？~～\-—]+|好吗|好不好|行吗|可以吗|(?<![a-z])(?:thanks|thank\s+you|thx|ty|please|pls)\b"
    r"|一下|哦|哈|啊|呀|吧|呗|嘛|咯|哟|喔|噢|啦|谢谢|谢啦|多谢)+$"
)


@dataclass(frozen=True)
class Request:
    """What the words around the time say: whether and how the sentence asks for a reminder."""

    start: int = 0
    """Where the request starts (its clause's start, before the polite words); end: after verb and target."""
    end: int = 0
    verb: bool = False
    """A reminder verb in imperative position (or, for a bare argument list, a target at the start)."""
    polite: bool = False
    """The verb follows a modal (能不能, can you …): a question mark does not make it a question."""
    target: Target = Target.NONE
    mentioned: tuple[str, ...] = ()
    """The @names of the target, as written (the ids come with the message)."""
    reported: bool = False
    """A reminder verb that is not a request here (谢谢提醒, 他提醒过我, I'll remind them)."""


def find_request(text: str, times: list[tuple[int, int]]) -> Request:
    """The first reminder verb in imperative position, else a target at the very start ("我 明天9点 开会"),
    else nothing. `times` are the spans of the time expressions found in `text`."""
    reported = False
    for match in VERB.finditer(text):
        if not _on_word_boundaries(text, match.start("verb"), match.end("verb")):
            continue
        target, mentioned = _target_of(match)
        if match.group("targeted") and target is Target.NONE:
            continue  # 叫个车, 通知：…
        clause = _clause_start(text, match.start())
        before = _without(text, clause, match.start(), times)
        named = tuple(re.findall(r"@([^\s@]+)", before))
        if (
            not _only_fillers(re.sub(_AT, " ", before))
            or _reports_the_past(text, match, times)
            or _NOUN_AFTER_VERB.match(text, match.end("verb"))
        ):
            reported = True
            continue
        if named and target is Target.NONE:  # "@张三 明天下午2点记得交材料"
            target, mentioned = Target.MENTIONED, named
        if match.group("alarm") and target is Target.NONE:
            target = Target.ME
        return Request(
            start=clause,
            end=match.end(),
            verb=True,
            polite=bool(_POLITE_ASK.search(before) or _POLITE_TAG.search(text)),
            target=target,
            mentioned=mentioned,
        )
    lead = _TARGET_AT_START.match(text)
    if lead:
        target, mentioned = _target_of(lead)
        return Request(
            start=0, end=lead.end(), verb=False, target=target, mentioned=mentioned, reported=reported
        )
    return Request(reported=reported)


def is_question(text: str, request: Request, task: str) -> bool:
    """Asks something rather than asks for a reminder. `task` is what is left once time and request are cut.

    A question mark or a final 吗 / 呢 makes a question unless the request is a polite one (能不能提醒我…？);
    a task that starts with a question word ("remind me what we decided") asks; without a request verb, any
    question word (几点, 什么时候, when …) does."""
    if (_QUESTION_MARK.search(text) or _FINAL_PARTICLE.search(_TRAILING_NOISE.sub("", text))) and not (
        request.verb and request.polite
    ):
        return True
    if _WH_START.match(task.lower()):
        return True
    return not request.verb and bool(_QUESTION_WORDS.search(text))


def clean_task(text: str) -> str:
    """The reminder text without joiners at its edges ("to", "about", "的", "一下", "谢谢" …)."""
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING_JOINERS.sub("", _LEADING_JOINERS.sub("", text))
    return text.strip()


def _reports_the_past(text: str, match: re.Match[str], times: list[tuple[int, int]]) -> bool:
    """提醒过 / 叫了 / 通知大家了: 了 or 过 right after the verb or its target (not 过 starting a time: 过一刻钟)."""
    time_starts = {start for start, _ in times}
    for at in (match.end("verb"), match.end()):
        past = _PAST_AFTER_VERB.match(text, at)
        if past and past.end() - 1 not in time_starts:
            return True
    return False


def _target_of(match: re.Match[str]) -> tuple[Target, tuple[str, ...]]:
    if match.group("me"):
        return Target.ME, ()
    if match.group("room"):
        return Target.ROOM, ()
    if match.group("at"):
        return Target.MENTIONED, tuple(re.findall(r"@([^\s@]+)", match.group("at")))
    return Target.NONE, ()


def _clause_start(text: str, position: int) -> int:
    start = 0
    for end in _CLAUSE_END.finditer(text, 0, position):
        start = end.end()
    return start


def _without(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    """text[start:end] with the given spans cut out."""
    kept, at = [], start
    for span_start, span_end in sorted(spans):
        if span_end <= at or span_start >= end:
            continue
        kept.append(text[at:span_start])
        at = max(at, span_end)
    kept.append(text[at:end])
    return " ".join(kept)


def _only_fillers(text: str) -> bool:
    """Nothing but polite and modal words; 的 only after 设个 (设个明天9点的提醒)."""
    at, setting, of = 0, False, False
    while at < len(text):
        match = _FILLER.match(text, at)
        if match is None or match.end() == at:
            return False
        setting, of = setting or bool(match.group("set")), of or bool(match.group("of"))
        at = match.end()
    return setting or not of


def _on_word_boundaries(text: str, start: int, end: int) -> bool:
    inside_start = (
        start > 0 and bool(_ASCII_WORD.match(text[start - 1])) and bool(_ASCII_WORD.match(text[start]))
    )
    inside_end = (
        end < len(text) and bool(_ASCII_WORD.match(text[end - 1])) and bool(_ASCII_WORD.match(text[end]))
    )
    return not inside_start and not inside_end
