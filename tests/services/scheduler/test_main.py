"""Two scheduler processes (`python -m services.scheduler`) on one Redis and one NATS: every firing happens once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from schemas import SayText, ServiceInfo, subjects
from services.scheduler.recurrence import Frequency, Recurrence
from services.scheduler.store import ReminderStore
from tests.conftest import Bus
from tests.factories import message
from tests.services.scheduler.conftest import draft
from tools.servers import child_env, free_port

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFSET = timedelta(days=3, hours=5)
"""Both processes run this far ahead (QUN_CLOCK_OFFSET_S): reminders only fire if they honour the shared clock."""
pytestmark = pytest.mark.slow


@contextmanager
def schedulers(
    count: int, nats_url: str, redis_url: str, logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    try:
        for n in range(count):
            env = child_env(
                NATS_URL=nats_url,
                REDIS_URL=redis_url,
                HTTP_PORT=str(free_port()),
                SCHEDULER_POLL_INTERVAL_S="0.05",
                QUN_LOG_LEVEL="WARNING",
                QUN_CLOCK_OFFSET_S=str(OFFSET.total_seconds()),
                # The plumbing ages events against the shifted clock: without this every reply counts as stale.
                QUN_MAX_EVENT_AGE_S=str(OFFSET.total_seconds() + 600),
            )
            with (logs / f"scheduler-{n}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.scheduler"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def live_instances(bus: Bus, name: str, expected: int, timeout: float = 30.0) -> set[str]:
    """Ask the registry until `expected` replicas of `name` answer (each answers with its own instance id)."""
    deadline = time.monotonic() + timeout
    while True:
        inbox = bus.connection.new_inbox()
        subscription = await bus.connection.subscribe(inbox)
        await bus.connection.publish(subjects.DISCOVER, b"", reply=inbox)
        found: set[str] = set()
        try:
            while True:
                reply = await subscription.next_msg(timeout=0.3)
                info = ServiceInfo.model_validate_json(reply.data)
                if info.name == name:
                    found.add(info.instance)
        except TimeoutError:
            pass
        finally:
            await subscription.unsubscribe()
        if len(found) >= expected or time.monotonic() > deadline:
            return found


async def quiet(store: ReminderStore, redis: Redis, timeout: float = 10.0) -> None:
    """Wait until no firing is in flight and nothing is due: after that no replica can fire anything more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leases = await redis.hlen(store.keys.leases)
        next_ms = await store.next_claimable_ms()
        now_ms = (time.time() + OFFSET.total_seconds()) * 1000
        if leases == 0 and (next_ms is None or next_ms > now_ms):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("firings still in flight")


async def test_two_replicas_fire_each_reminder_exactly_once(
    bus: Bus, nats_url: str, redis_url: str, tmp_path: Path
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = ReminderStore(redis)
    try:
        with schedulers(2, nats_url, redis_url, tmp_path) as processes:
            instances = await live_instances(bus, "scheduler", 2)
            assert len(instances) == 2, (tmp_path / "scheduler-0.log").read_text()

            command = message("提醒 明天上午9点 开会", timestamp=datetime.now(UTC) + OFFSET)
            await bus.publish_event(command)
            await bus.says(lambda say: say.reply_to == command.id)

            due = (datetime.now(UTC) + OFFSET + timedelta(seconds=1.5)).astimezone(SHANGHAI)
            daily = Recurrence(frequency=Frequency.DAILY, hour=due.hour, minute=due.minute, anchor=due.date())
            for n in range(30):
                await store.add(draft(due, text=f"once {n}"))
            recurring, _ = await store.add(draft(due, text="daily", recurrence=daily))

            await bus.says(lambda say: say.text.startswith("⏰"), count=31, timeout=15)
            await quiet(store, redis)
            rescheduled = await store.get(recurring.id)
            assert [process.poll() for process in processes] == [None, None]

        says = bus.matching("qun.cmd.*.say", SayText)
        firings = Counter(say.text for say in says if say.text.startswith("⏰"))
        confirmations = [say for say in says if say.reply_to == command.id]
        assert len(firings) == 31
        assert set(firings.values()) == {1}
        assert len(confirmations) == 1
        assert rescheduled is not None
        assert rescheduled.next_due == daily.next_after(due, SHANGHAI)
        assert await store.pending_count() == 2  # the daily one and tomorrow's 开会
    finally:
        await redis.aclose()
