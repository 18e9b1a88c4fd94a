"""An offline summary of a stretch of a room's conversation, in at most ten lines. Pure.

1. Words of each message (text.py), weighted by how rare they are in the stretch (tf-idf).
2. Topics by threading in one pass: a message joins the topic of the message it quotes, else the live topic (one
   that spoke within the last `topic_gap`) whose words it shares most, else starts a topic; a short message with
   no topic words ("好的", "+1") counts for the live topic it follows. Topics on the same words are merged later.
3. The largest topics (messages and people) get one line: their main words, the message closest to the topic's
   centre (a gist), and who took part.
4. Open questions: questions nobody answered — no one quoted them, mentioned the asker, or said something on the
   same words soon after.
5. Decisions (cue words such as 决定 / 定了 / agreed / decided) and links.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas import HistoryMessage
from services.history import text as words_of
from services.shared.commands import Lang


@dataclass(frozen=True)
class SummaryOptions:
    lang: Lang
    label: str
    """What the stretch is called in the header, e.g. 今天 / the last 2 hours."""
    bot_id: str = ""
    max_lines: int = 10
    topic_gap: timedelta = timedelta(minutes=30)
    join_threshold: float = 0.12
    merge_threshold: float = 0.35


@dataclass
class Topic:
    vector: dict[str, float] = field(default_factory=dict)
    members: Counter[str] = field(default_factory=Counter)
    """Talker id -> messages."""
    messages: list[int] = field(default_factory=list)
    content: list[int] = field(default_factory=list)
    """Messages that brought words (the gist is chosen among them)."""
    last: datetime | None = None

    @property
    def weight(self) -> float:
        return len(self.messages) + 2 * len(self.members)


@dataclass(frozen=True)
class TopicLine:
    keywords: list[str]
    gist: str
    gist_id: str
    people: list[str]
    messages: int


@dataclass(frozen=True)
class Digest:
    """What a summary is written from (offline lines, or an LLM's prompt)."""

    total: int
    people: int
    topics: list[TopicLine]
    open_questions: list[HistoryMessage]
    decisions: list[HistoryMessage]
    links: list[tuple[str, str]]
    """(url, who shared it)."""


_DECISION = re.compile(
    r"(决定|定了|就这么定|就这样吧|确定了|敲定|结论|拍板|最终方案|那就按|同意了|达成一致)|"
    r"\b(decided|decision|agreed|let's go with|we'll go with|final answer|conclusion|approved|settled on)\b",
    re.IGNORECASE,
)
_NOISE_TYPES = frozenset({"emoticon", "voice", "video", "image", "file", "mini_program", "other"})


def digest(messages: Sequence[HistoryMessage], options: SummaryOptions) -> Digest:
    bags = [_words(m) for m in messages]
    idf = _idf(bags)
    vectors = [{w: c * idf[w] for w, c in b.items()} for b in bags]
    topics, topic_of = _thread(messages, vectors, options)
    open_questions = _open_questions(messages, bags, topic_of, options)
    topics = _merge(topics, options.merge_threshold)
    ranked = sorted(
        (t for t in topics if len(t.content) >= 2 and len(t.members) >= 2), key=lambda t: -t.weight
    )
    if not ranked:  # a quiet stretch: whatever had words
        ranked = sorted((t for t in topics if t.content), key=lambda t: -t.weight)
    names = _names(messages)
    lines = [_topic_line(t, messages, vectors, names) for t in ranked]
    return Digest(
        total=len(messages),
        people=len({m.talker.id for m in messages}),
        topics=lines,
        open_questions=open_questions,
        decisions=[m for m in messages if m.type == "text" and _DECISION.search(m.text)],
        links=_links(messages),
    )


def summarize(messages: Sequence[HistoryMessage], options: SummaryOptions) -> list[str]:
    """At most `options.max_lines` lines in the options' language."""
    if not messages:
        return [
            _t(options.lang, f"{options.label}没有保存的聊天记录。", f"Nothing was kept for {options.label}.")
        ]
    return render(digest(messages, options), options)


def render(found: Digest, options: SummaryOptions) -> list[str]:
    zh = options.lang == "zh"
    header = (
        f"{options.label}群聊总结（{found.total} 条消息，{found.people} 人）："
        if zh
        else f"Summary of {options.label} ({found.total} messages, {found.people} people):"
    )
    budget = options.max_lines - 1
    extras: list[str] = []
    for question in found.open_questions[-2:]:
        gist = words_of.shorten(question.text, 40)
        extras.append(
            f"❓ 没人回答：{question.talker.name}「{gist}」"
            if zh
            else f'❓ Open: {question.talker.name}: "{gist}"'
        )
    shown = {topic.gist_id for topic in found.topics[:5]}
    for decision in [d for d in found.decisions if d.id not in shown][-2:]:
        gist = words_of.shorten(decision.text, 44)
        extras.append(f"✅ {decision.talker.name}：{gist}" if zh else f"✅ {decision.talker.name}: {gist}")
    for url, who in found.links[:2]:
        extras.append(
            f"🔗 {words_of.shorten(url, 60)}（{who}）" if zh else f"🔗 {words_of.shorten(url, 60)} ({who})"
        )
    topic_budget = max(min(len(found.topics), 5), budget - len(extras)) if found.topics else 0
    topic_budget = min(topic_budget, budget, len(found.topics))
    extras = extras[: budget - topic_budget]
    lines = [header]
    for n, topic in enumerate(found.topics[:topic_budget], 1):
        people = "、".join(topic.people) if zh else ", ".join(topic.people)
        keywords = "/".join(topic.keywords)
        if zh:
            lines.append(f"{n}. {keywords}：{topic.gist}（{people}）")
        else:
            lines.append(f"{n}. {keywords}: {topic.gist} ({people})")
    if not found.topics:
        lines.append(
            _t(options.lang, "没有成形的话题，多是简短的闲聊。", "No real topic: mostly short chat.")
        )
    return lines + extras


def _t(lang: Lang, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _words(message: HistoryMessage) -> Counter[str]:
    if message.type in _NOISE_TYPES:
        return Counter()
    return words_of.bag(message.text)


def _idf(bags: Sequence[Counter[str]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for b in bags:
        df.update(b.keys())
    n = len(bags) + 1
    return {w: math.log(n / (1 + d)) + 1 for w, d in df.items()}


def _add(into: dict[str, float], vector: Mapping[str, float]) -> None:
    for word, weight in vector.items():
        into[word] = into.get(word, 0.0) + weight


def _top(vector: Mapping[str, float], n: int) -> list[str]:
    return [w for w, _ in sorted(vector.items(), key=lambda item: -item[1])[:n]]


def _cosine(a: Mapping[str, float], b: Mapping[str, float], b_norm: float) -> float:
    if not a or not b_norm:
        return 0.0
    if len(a) > len(b):
        dot = sum(v * a.get(w, 0.0) for w, v in b.items())
    else:
        dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    a_norm = math.sqrt(sum(v * v for v in a.values()))
    return dot / (a_norm * b_norm) if a_norm else 0.0


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))


def _thread(
    messages: Sequence[HistoryMessage], vectors: Sequence[dict[str, float]], options: SummaryOptions
) -> tuple[list[Topic], list[Topic]]:
    """The topics, and the topic of each message."""
    topics: list[Topic] = []
    topic_of: dict[str, Topic] = {}
    of_index: list[Topic] = []
    live: list[Topic] = []
    for index, message in enumerate(messages):
        vector = vectors[index]
        live = [t for t in live if t.last is not None and message.timestamp - t.last <= options.topic_gap]
        chosen = None
        if message.quote is not None and message.quote.message_id:
            chosen = topic_of.get(message.quote.message_id)
        if chosen is None and vector:
            best, best_score = None, options.join_threshold
            for topic in live:
                score = _cosine(vector, topic.vector, _norm(topic.vector))
                if score >= best_score:
                    best, best_score = topic, score
            chosen = best
        if chosen is None and index and _answers(messages[index - 1], message):
            chosen = of_index[index - 1]  # an answer in other words (or another language)
        if chosen is None and not vector and live:
            chosen = max(live, key=lambda t: t.last or message.timestamp)
        if chosen is None:
            chosen = Topic()
            topics.append(chosen)
        if chosen not in live:
            live.append(chosen)
        _add(chosen.vector, vector)
        chosen.members[message.talker.id] += 1
        chosen.messages.append(index)
        if vector:
            chosen.content.append(index)
        chosen.last = message.timestamp
        topic_of[message.id] = chosen
        of_index.append(chosen)
    return topics, of_index


_ANSWER_DELAY = timedelta(minutes=3)


def _answers(previous: HistoryMessage, message: HistoryMessage) -> bool:
    """Said right after someone else's question, and not a question itself: most likely its answer."""
    return (
        previous.talker.id != message.talker.id
        and message.timestamp - previous.timestamp <= _ANSWER_DELAY
        and words_of.is_question(previous.text)
        and not words_of.is_question(message.text)
    )


def _merge(topics: list[Topic], threshold: float) -> list[Topic]:
    """Topics on the same words at different times become one (bigger first)."""
    kept: list[Topic] = []
    for topic in sorted(topics, key=lambda t: -t.weight):
        home = None
        if topic.vector:
            home = next(
                (k for k in kept if _cosine(topic.vector, k.vector, _norm(k.vector)) >= threshold), None
            )
        if home is None:
            kept.append(topic)
            continue
        _add(home.vector, topic.vector)
        home.members.update(topic.members)
        home.messages = sorted(home.messages + topic.messages)
        home.content = sorted(home.content + topic.content)
    return kept


def _names(messages: Sequence[HistoryMessage]) -> dict[str, str]:
    names: dict[str, str] = {}
    for message in messages:
        if message.talker.name:
            names[message.talker.id] = message.talker.name
    return names


def _topic_line(
    topic: Topic,
    messages: Sequence[HistoryMessage],
    vectors: Sequence[dict[str, float]],
    names: dict[str, str],
) -> TopicLine:
    keywords: list[str] = []
    for word in _top(topic.vector, 3):
        if not keywords or sum(map(len, keywords)) + len(word) <= 18:
            keywords.append(word)
    norm = _norm(topic.vector)
    centre = topic.vector

    def gist_score(index: int) -> float:
        length = len(messages[index].text)
        shape = 1.0 if 6 <= length <= 80 else 0.6
        question = 0.8 if words_of.is_question(messages[index].text) else 1.0
        return _cosine(vectors[index], centre, norm) * shape * question

    best = max(topic.content, key=gist_score)
    people = [names.get(who, "?") for who, _ in topic.members.most_common(3)]
    if len(topic.members) > 3:
        people[-1] += f" +{len(topic.members) - 2}"
    return TopicLine(
        keywords=keywords,
        gist=words_of.shorten(messages[best].text, 40),
        gist_id=messages[best].id,
        people=people,
        messages=len(topic.messages),
    )


def _open_questions(
    messages: Sequence[HistoryMessage],
    bags: Sequence[Counter[str]],
    topic_of: Sequence[Topic],
    options: SummaryOptions,
) -> list[HistoryMessage]:
    """Questions nobody took up within the next hour: no one else spoke in their topic, quoted them, or
    mentioned the asker."""
    found = []
    window = timedelta(hours=1)
    for index, question in enumerate(messages):
        if question.type != "text" or not bags[index] or not words_of.is_question(question.text):
            continue
        if options.bot_id and options.bot_id in question.mention_ids:
            continue  # asked of the bot: the unanswered-questions list covers those
        answered = False
        for later_index in range(index + 1, len(messages)):
            later = messages[later_index]
            if later.timestamp - question.timestamp > window:
                break
            if later.talker.id == question.talker.id:
                continue
            quoted = later.quote is not None and (
                later.quote.message_id == question.id or later.quote.text.strip() == question.text.strip()
            )
            same_topic = bool(bags[later_index]) and topic_of[later_index] is topic_of[index]
            if quoted or question.talker.id in later.mention_ids or same_topic:
                answered = True
                break
        if not answered:
            found.append(question)
    return found


def _links(messages: Sequence[HistoryMessage]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for message in messages:
        for url in words_of.URL.findall(message.text):
            seen.setdefault(url.rstrip(".,;:!?"), message.talker.name)
    return list(seen.items())
