"""Questions the bot could not answer (QuestionUnanswered from the tagger), and the room message that most likely
answered each.

Storage: one hash per room, one field per question (the same question asked again, in any spelling NFKC and case
make alike, counts up); the latest listing's numbering is kept so `标记 <编号>` can name an item.

Choosing the answer (pure, `best_answer`): among the room's kept messages in the day after the question, by other
members (the bot's own are never kept), that are not questions themselves, the best scored by
- quoting the question (strongest), or @-mentioning the asker,
- sharing the question's words (share of its words, rarer words counting more),
- coming soon after it (a message right after the question, within minutes, is likely its answer),
- looking like an answer (a number, a time, a link).
Nothing is chosen below a minimum score: no answer beats a wrong one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from redis.asyncio import Redis

from schemas import HistoryMessage, QuestionUnanswered
from services.history import keys
from services.history import text as words_of
from services.shared.text import normalize

ANSWER_WINDOW = timedelta(hours=24)
MIN_SCORE = 0.6
_KEPT_IDS = 5
_SHAPED = re.compile(r"\d|https?://|[点時时]|[上下]午|周[一二三四五六日天]")


@dataclass
class UnansweredRecord:
    question: str
    asker_id: str
    asker_name: str
    first_at: float
    last_at: float
    count: int = 1
    question_ids: list[str] = field(default_factory=list)
    """The latest few event ids of the question (redeliveries are not counted twice)."""

    @property
    def first(self) -> datetime:
        return datetime.fromtimestamp(self.first_at, UTC)

    @property
    def last(self) -> datetime:
        return datetime.fromtimestamp(self.last_at, UTC)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> UnansweredRecord | None:
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError):
            return None


def question_key(question: str) -> str:
    return hashlib.sha1(normalize(question).strip(" ?？!！。.").encode(), usedforsecurity=False).hexdigest()[
        :16
    ]


_RECORD = """
-- KEYS: unanswered   ARGV: field, question, asker id, asker name, at (epoch s), question id, ttl ms, kept ids
local body = redis.call('HGET', KEYS[1], ARGV[1])
local record
if body then
  record = cjson.decode(body)
  for _, id in ipairs(record.question_ids) do
    if id == ARGV[6] then return 0 end
  end
  record.count = record.count + 1
  record.last_at = math.max(record.last_at, tonumber(ARGV[5]))
  table.insert(record.question_ids, ARGV[6])
  while #record.question_ids > tonumber(ARGV[8]) do table.remove(record.question_ids, 1) end
else
  record = {question = ARGV[2], asker_id = ARGV[3], asker_name = ARGV[4], first_at = tonumber(ARGV[5]),
            last_at = tonumber(ARGV[5]), count = 1, question_ids = {ARGV[6]}}
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
"""


class UnansweredStore:
    def __init__(self, redis: Redis, retention: timedelta) -> None:
        self._redis = redis
        self.retention = retention
        self._record = redis.register_script(_RECORD)

    async def record(self, event: QuestionUnanswered) -> bool:
        """Count a question the bot could not answer in a room; False for a direct message or a redelivery."""
        if event.room is None or not event.question.strip():
            return False
        added = await self._record(
            keys=[keys.unanswered(event.room.id)],
            args=[
                question_key(event.question),
                event.question.strip(),
                event.asker.id,
                event.asker.name,
                event.timestamp.timestamp(),
                event.question_id,
                int(self.retention.total_seconds() * 1000),
                _KEPT_IDS,
            ],
        )
        return bool(added)

    async def recent(self, room_id: str, now: datetime, limit: int = 8) -> list[tuple[str, UnansweredRecord]]:
        """The room's questions asked again lately first (count, then latest), within the retention."""
        raw = cast(dict[bytes, bytes], await self._redis.hgetall(keys.unanswered(room_id)))
        floor = (now - self.retention).timestamp()
        found = []
        for key, body in raw.items():
            record = UnansweredRecord.from_json(body)
            if record is not None and record.last_at >= floor:
                found.append((key.decode(), record))
        found.sort(key=lambda item: (-item[1].count, -item[1].last_at))
        return found[:limit]

    async def save_listing(self, room_id: str, question_keys: Sequence[str]) -> None:
        await self._redis.set(
            keys.listing(room_id),
            json.dumps(list(question_keys)),
            px=int(self.retention.total_seconds() * 1000),
        )

    async def listed(self, room_id: str, number: int) -> UnansweredRecord | str:
        """The record numbered `number` in the latest listing; a string says why there is none."""
        raw = await self._redis.get(keys.listing(room_id))
        if raw is None:
            return "no listing yet: ask 没答上的问题 / unanswered first"
        listed = json.loads(raw)
        if not 1 <= number <= len(listed):
            return f"no item {number}: the latest listing has {len(listed)}"
        body = await self._redis.hget(keys.unanswered(room_id), listed[number - 1])
        record = UnansweredRecord.from_json(body) if body is not None else None
        return record if record is not None else f"item {number} is gone (expired or forgotten)"

    async def forget_asker(self, room_id: str, contact_id: str) -> None:
        raw = await self._redis.hgetall(keys.unanswered(room_id))
        mine = [
            k
            for k, body in raw.items()
            if (r := UnansweredRecord.from_json(body)) and r.asker_id == contact_id
        ]
        if mine:
            await self._redis.hdel(keys.unanswered(room_id), *mine)


@dataclass(frozen=True)
class Candidate:
    message: HistoryMessage
    score: float


def _question_words(question: str) -> set[str]:
    return set(words_of.words(question))


def best_answer(
    record: UnansweredRecord, after: Sequence[HistoryMessage], idf: dict[str, float] | None = None
) -> Candidate | None:
    """The message in `after` (the room's kept messages following the question) most likely to answer it."""
    wanted = _question_words(record.question)
    weights = {w: (idf or {}).get(w, 1.0) for w in wanted}
    total = sum(weights.values()) or 1.0
    asked, until = record.first, record.last + ANSWER_WINDOW
    best: Candidate | None = None
    previous_from_asker = True
    for message in after:
        if message.timestamp <= asked:
            continue
        if message.timestamp > until:
            break
        if message.talker.id == record.asker_id:
            previous_from_asker = True
            continue
        if message.type != "text" or words_of.is_question(message.text) or len(message.text.strip()) < 2:
            previous_from_asker = False
            continue
        score = 0.0
        quote = message.quote
        if quote is not None and (
            (quote.message_id and quote.message_id in record.question_ids)
            or normalize(quote.text).strip() == normalize(record.question).strip()
        ):
            score += 3.0
        if record.asker_id in message.mention_ids:
            score += 0.6
        shared = wanted & set(words_of.words(message.text))
        score += 2.0 * sum(weights[w] for w in shared) / total
        minutes = (message.timestamp - asked).total_seconds() / 60
        if previous_from_asker and minutes <= 5:
            score += 0.5  # the first word from someone else right after the question
        if _SHAPED.search(message.text):
            score += 0.2
        score *= 1.0 / (1.0 + max(minutes, 0) / 240)
        previous_from_asker = False
        if score >= MIN_SCORE and (best is None or score > best.score):
            best = Candidate(message, score)
    return best
