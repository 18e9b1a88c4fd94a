"""The gateway's send path on a simulated clock, for `make bench` (real Redis, real send script, real fair queue).

`pacing_benchmark`: 1,000 messages queued over 50 rooms at once, drained as the limits allow.

`soak`: "a day in a minute". 24 hours of a busy account — 50 rooms, 2,000 members asking questions (more in the
morning and evening), reminders at the top of the hour, GitHub notice bursts, a morning broadcast, an evening
report picture per room, friend requests and room adds — through the real `Outbound` / `Sender` / `SendBudget`,
with a gateway restart during the morning broadcast (everything in memory lost, unfinished commands redelivered) and
a Redis restart during the evening reports (killed while commands wait, restarted from its append-only file). Every send is checked against every
limit afterwards: the token buckets over every interval, the daily budgets, staleness, and each part at most once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from opentelemetry import trace
from redis.asyncio import Redis

from schemas import AcceptFriendship, AddToRoom, Command, SayText, SendFile
from services.gateway.budget import DailyLimits, SendBudget
from services.gateway.executor import Executor, Step, budget_kind
from services.gateway.outbound import Outbound, expires_at
from services.gateway.pacing import PacingLimits
from services.gateway.reader import PuppetReader
from services.gateway.sender import Job, Outcome, Sender
from services.shared.consumer import is_outage

ZONE = ZoneInfo("Asia/Shanghai")
DAY_START = datetime(2026, 11, 23, 0, 0, tzinfo=ZONE).timestamp()
MAX_COMMAND_AGE_S = 600.0
BOT = "wxid_soak"


class SimClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Sent:
    at: float
    step: Step


class _Puppet:
    """Accepts everything; what is sent is recorded by `_RecordingExecutor`."""

    async def message_send_text(self, conversation_id: str, text: str, mention_ids: Any = None) -> str:
        return "m"

    async def message_send_file(self, conversation_id: str, file: Any) -> str:
        return "m"

    async def room_add(self, room_id: str, contact_id: str) -> None:
        return None

    async def friendship_accept(self, friendship_id: str) -> None:
        return None


class _RecordingExecutor(Executor):
    def __init__(self, clock: SimClock, max_parts: int) -> None:
        puppet = _Puppet()
        super().__init__(puppet, PuppetReader(puppet), max_message_chars=1500, max_parts=max_parts)
        self.clock = clock
        self.sent: list[Sent] = []

    async def run(self, step: Step) -> None:
        await super().run(step)
        self.sent.append(Sent(self.clock.now, step))


@dataclass(frozen=True)
class Arrival:
    at: float
    """When the command reached JetStream (simulated epoch seconds)."""
    command: Command


# -- traffic --------------------------------------------------------------------------------------------------

_HOURLY_QUESTIONS = [
    2,
    1,
    1,
    1,
    1,
    2,
    5,
    20,
    60,
    110,
    130,
    120,
    90,
    80,
    90,
    100,
    110,
    95,
    80,
    100,
    130,
    140,
    100,
    40,
]
"""Questions to the bot per hour of the day, over all rooms (about 1,600 a day)."""


def day_of_traffic(rng: random.Random, rooms: int = 50, members: int = 2000) -> list[Arrival]:
    room_ids = [f"room{n}@chatroom" for n in range(rooms)]
    member_ids = [f"member{n}" for n in range(members)]
    arrivals: list[Arrival] = []

    def add(at: float, command: Command) -> None:
        arrivals.append(Arrival(DAY_START + at, command))

    for hour, count in enumerate(_HOURLY_QUESTIONS):
        for _ in range(count):
            at = hour * 3600 + rng.uniform(0, 3600) + rng.uniform(0.01, 0.2)  # the service answers in ms
            member = rng.choice(member_ids)
            lines = rng.choice([1] * 8 + [12, 40])  # now and then a long answer (two or three messages)
            text = "\n".join(f"答复 {member} 第{line}行：" + "内容" * 30 for line in range(lines))
            if rng.random() < 0.1:
                add(at, SayText(contact_id=member, text=text))
            else:
                add(at, SayText(room_id=rng.choice(room_ids), text=text, mention_ids=[member]))
    for hour in range(8, 23):  # reminders at the top of the hour, due at once, useless ten minutes later
        for _ in range(rng.randint(5, 25)):
            command = SayText(room_id=rng.choice(room_ids), text=f"⏰ {hour}:00 提醒", priority="reminder")
            add(hour * 3600 + rng.uniform(0, 0.5), command)
    for _ in range(6):  # GitHub bursts: 30 notices into one room within seconds
        at, room = rng.uniform(9 * 3600, 23 * 3600), rng.choice(room_ids)
        for n in range(30):
            add(at + n * 0.1, SayText(room_id=room, text=f"[GitHub] #{n} updated", priority="notice"))
    picture = bytes(range(256)) * 40  # 10 KB standing in for a report chart
    for room in room_ids:  # the morning broadcast and the evening report picture, in every room
        broadcast = SayText(room_id=room, text="📢 今晚8点直播", priority="broadcast")
        add(9.5 * 3600 + rng.uniform(0, 2), broadcast)
        report = SendFile(
            room_id=room,
            name="日报.png",
            mime_type="image/png",
            size=len(picture),
            sha256=hashlib.sha256(picture).hexdigest(),
            data_base64=base64.b64encode(picture).decode(),
            priority="notice",
        )
        add(21 * 3600 + rng.uniform(0, 2), report)
    for n in range(40):
        add(rng.uniform(0, 24 * 3600), AcceptFriendship(friendship_id=f"fr{n}"))
    for _ in range(20):
        add(
            rng.uniform(8 * 3600, 22 * 3600),
            AddToRoom(room_id=rng.choice(room_ids), contact_id=rng.choice(member_ids)),
        )
    return sorted(arrivals, key=lambda arrival: arrival.at)


# -- checking -------------------------------------------------------------------------------------------------


def bucket_violations(times: Sequence[float], rate: float, capacity: float, what: str) -> list[str]:
    """A token bucket allows at most `capacity + rate * (t_j - t_i)` sends in any interval [t_i, t_j]."""
    found = []
    for i, start in enumerate(times):
        for j in range(i + 1, len(times)):
            allowed = capacity + rate * (times[j] - start)
            if j - i + 1 > allowed + 1e-6:
                found.append(f"{what}: {j - i + 1} sends in {times[j] - start:.2f} s (at most {allowed:.2f})")
                break
            if allowed > len(times) - i:
                break
    return found


def check(
    sent: Sequence[Sent], limits: PacingLimits, daily: DailyLimits, expiry: dict[str, float]
) -> list[str]:
    problems = bucket_violations(
        [s.at for s in sent], limits.account_per_minute / 60, limits.account_burst, "account"
    )
    by_conversation: dict[str, list[float]] = defaultdict(list)
    for s in sent:
        by_conversation[s.step.conversation].append(s.at)
    for conversation, times in by_conversation.items():
        problems += bucket_violations(times, limits.room_per_second, limits.room_burst, conversation)
    per_day = Counter((budget_kind(s.step.command), math.floor((s.at - DAY_START) / 86400)) for s in sent)
    problems += [
        f"{n} {kind} on day {day}" for (kind, day), n in per_day.items() if kind and n > daily.of(kind)
    ]
    parts = Counter((s.step.command.id, s.step.index) for s in sent)
    problems += [f"{command} part {part} sent {n} times" for (command, part), n in parts.items() if n > 1]
    problems += [f"{s.step.command.id} sent late" for s in sent if s.at > expiry[s.step.command.id]]
    return problems


# -- driving --------------------------------------------------------------------------------------------------


@dataclass
class SoakReport:
    commands: int
    sends: int
    by_kind: dict[str, int]
    reply_delays_s: list[float]
    stale: dict[str, int]
    problems: list[str]
    restarts: list[str]
    cpu_s: float
    rate_limit_waits: int
    unanswered: int = 0
    by_priority: dict[str, int] = field(default_factory=dict)
    redelivered_in_redis_outage: int = 0
    """Commands that were waiting when Redis went away: they failed as an outage and were handled again."""
    daily_used: dict[str, int] = field(default_factory=dict)

    def delay(self, q: float) -> float:
        ordered = sorted(self.reply_delays_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.nan


class _Gateway:
    """One simulated gateway process: its own memory, the shared Redis."""

    def __init__(self, redis: Redis, clock: SimClock, executor: _RecordingExecutor, lease: str) -> None:
        limits, daily = PacingLimits(), DailyLimits()
        budget = SendBudget(redis, BOT, limits, daily, zone=ZONE, clock=clock)
        self.lease = lease
        self.sender = Sender(
            executor, budget, trace.get_tracer("soak"), lease=lambda: self.lease, jitter_s=limits.jitter_seconds,
            clock=clock, sleep=clock.sleep, rng=random.Random(11),  # noqa: S311 - jitter, not cryptography
        )  # fmt: skip
        self.outbound = Outbound(
            executor, self.sender, budget, max_command_age_s=MAX_COMMAND_AGE_S, clock=clock
        )


class _Soak:
    """The driver: commands arrive as JetStream would hand them to the handler; the send loop runs on the clock."""

    def __init__(self, redis: Redis, arrivals: list[Arrival], clock: SimClock) -> None:
        self.redis = redis
        self.clock = clock
        self.executor = _RecordingExecutor(clock, max_parts=3)
        self.gateway = _Gateway(redis, clock, self.executor, "soak-1:1")
        self.arrivals = arrivals
        self.waiting: dict[asyncio.Future[Outcome], tuple[Arrival, Job]] = {}
        self.redeliver: list[Arrival] = []
        self.outcomes: Counter[tuple[str, Outcome]] = Counter()
        self.restarts: list[str] = []
        self.outage_failures = 0

    async def take(self, arrival: Arrival) -> None:
        gateway = self.gateway
        try:
            job = await gateway.outbound.prepare(arrival.command, datetime.fromtimestamp(arrival.at, UTC), {})
        except Exception as error:
            if not is_outage(error):
                raise
            self.redeliver.append(arrival)  # the consumer pauses and re-runs the handler once Redis is back
            return
        if job is not None:
            self.waiting[gateway.sender.submit(job)] = (arrival, job)

    async def settle(self) -> None:
        for future in [f for f in self.waiting if f.done()]:
            arrival, job = self.waiting.pop(future)
            failure = None if future.cancelled() else future.exception()
            if future.cancelled() or failure is not None:
                assert failure is None or is_outage(failure), failure
                # JetStream hands it out again; the consumer re-runs the handler.
                self.redeliver.append(arrival)
                continue
            try:
                await self.gateway.outbound.finish(job, future.result())
            except Exception as error:
                if not is_outage(error):
                    raise
                self.redeliver.append(arrival)
                continue
            self.outcomes[(arrival.command.priority, future.result())] += 1

    async def restart_gateway(self) -> None:
        self.redeliver += [arrival for arrival, _ in self.waiting.values()]
        self.waiting.clear()  # the process is gone with everything it held
        self.gateway = _Gateway(self.redis, self.clock, self.executor, "soak-2:2")
        await self.redis.set(f"qun:gateway:{BOT}:lease", self.gateway.lease)

    async def restart_redis(
        self, kill: Callable[[], Awaitable[None]], start: Callable[[], Awaitable[None]]
    ) -> None:
        await kill()
        for _ in range(100):  # the outage lasts until a send is attempted: it fails, and the commands wait
            wait = await self.gateway.sender.step()
            await self.settle()
            if self.redeliver or wait is None:
                break
            self.clock.now += max(wait, 0.001)
        self.outage_failures = len(self.redeliver)
        await start()

    async def run(self, events: dict[float, Callable[[], Awaitable[None]]], names: dict[float, str]) -> None:
        await self.redis.set(f"qun:gateway:{BOT}:lease", self.gateway.lease)
        pending = iter(self.arrivals)
        upcoming = next(pending, None)
        while upcoming is not None or self.waiting or self.redeliver:
            for at in [at for at in sorted(events) if at <= self.clock.now]:
                self.restarts.append(f"{names[at]} at {datetime.fromtimestamp(at, ZONE):%H:%M:%S}")
                await events.pop(at)()
            for arrival in self.redeliver:
                await self.take(arrival)
            self.redeliver.clear()
            while upcoming is not None and upcoming.at <= self.clock.now:
                await self.take(upcoming)
                upcoming = next(pending, None)
            wait = await self.gateway.sender.step()
            await self.settle()
            if wait is not None and wait <= 0:
                continue
            horizon = [upcoming.at] if upcoming is not None else []
            horizon += [at for at in events if at > self.clock.now]
            if wait is not None:
                horizon.append(self.clock.now + wait)
            if not horizon:
                break
            self.clock.now = max(self.clock.now, min(horizon))


async def soak(
    redis: Redis,
    kill_redis: Callable[[], Awaitable[None]],
    start_redis: Callable[[], Awaitable[None]],
    *,
    hours: float = 24.0,
    seed: int = 7,
) -> SoakReport:
    rng = random.Random(seed)  # noqa: S311 - simulated traffic, not cryptography
    arrivals = [a for a in day_of_traffic(rng) if a.at < DAY_START + hours * 3600]
    clock = SimClock(DAY_START)
    driver = _Soak(redis, arrivals, clock)
    # Both while commands wait: the morning broadcast to 50 rooms and the evening report pictures each take the
    # account a few minutes.
    noon, evening = DAY_START + 9.5 * 3600 + 30, DAY_START + 21 * 3600 + 30

    async def redis_restart() -> None:
        await driver.restart_redis(kill_redis, start_redis)

    started = time.process_time()
    await driver.run(
        {noon: driver.restart_gateway, evening: redis_restart},
        {noon: "gateway restart", evening: "redis restart"},
    )
    cpu_s = time.process_time() - started
    sent = driver.executor.sent
    first_part: dict[str, float] = {}
    for s in sent:
        first_part.setdefault(s.step.command.id, s.at)
    replies = [a for a in arrivals if a.command.priority == "reply"]
    expiry = {a.command.id: expires_at(a.command, a.at, MAX_COMMAND_AGE_S) for a in arrivals}
    return SoakReport(
        commands=len(arrivals),
        sends=len(sent),
        by_kind=dict(Counter(budget_kind(s.step.command) or "other" for s in sent)),
        reply_delays_s=[first_part[a.command.id] - a.at for a in replies if a.command.id in first_part],
        stale={p: n for (p, outcome), n in driver.outcomes.items() if outcome is Outcome.STALE},
        problems=check(sent, PacingLimits(), DailyLimits(), expiry),
        restarts=driver.restarts,
        cpu_s=cpu_s,
        rate_limit_waits=driver.gateway.sender.stats.rate_limit_waits,
        unanswered=sum(1 for a in replies if a.command.id not in first_part),
        by_priority=dict(Counter(s.step.command.priority for s in sent)),
        redelivered_in_redis_outage=driver.outage_failures,
        daily_used=dict(Counter(kind for s in sent if (kind := budget_kind(s.step.command)))),
    )


async def pacing_benchmark(redis: Redis, messages: int = 1000, rooms: int = 50) -> dict[str, Any]:
    """`messages` queued at once over `rooms`: peaks per minute (account) and per second (room), and fairness."""
    clock = SimClock(DAY_START)
    executor = _RecordingExecutor(clock, max_parts=3)
    gateway = _Gateway(redis, clock, executor, "pacing-1:1")
    await redis.set(f"qun:gateway:{BOT}:lease", gateway.lease)
    for n in range(messages):
        say = SayText(room_id=f"room{n % rooms}", text=f"m{n}")
        job = await gateway.outbound.prepare(say, datetime.fromtimestamp(clock.now, UTC), {})
        assert job is not None
        job.expires_at = math.inf  # the backlog takes an hour; staleness is not what is measured here
        gateway.sender.submit(job)
    started = time.process_time()
    while (wait := await gateway.sender.step()) is not None:
        clock.now += wait
    cpu_s = time.process_time() - started
    times = [s.at for s in executor.sent]
    limits = PacingLimits()
    minute_peak = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    room_peak = max(
        sum(
            1 for s in executor.sent if s.step.conversation == r.step.conversation and r.at <= s.at < r.at + 1
        )
        for r in executor.sent
    )
    counts: Counter[str] = Counter()
    spread = 0
    for s in executor.sent:
        counts[s.step.conversation] += 1
        spread = max(spread, max(counts.values()) - min(counts.get(f"room{i}", 0) for i in range(rooms)))
    return {
        "sent": len(times),
        "simulated_minutes": round((clock.now - DAY_START) / 60, 1),
        "account_peak_per_minute": minute_peak,
        "account_cap_per_minute": limits.account_burst + limits.account_per_minute,
        "room_peak_per_second": room_peak,
        "room_cap_per_second": limits.room_burst + limits.room_per_second,
        "rooms_in_first_50_sends": len({s.step.conversation for s in executor.sent[:rooms]}),
        "max_count_spread_between_rooms": spread,
        "violations": check(
            executor.sent, limits, DailyLimits(), {s.step.command.id: math.inf for s in executor.sent}
        ),
        "cpu_s": round(cpu_s, 2),
    }
