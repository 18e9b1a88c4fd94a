"""Provisioning against a real nats-server: streams, consumers, and consumers updated when a service changes."""

from __future__ import annotations

from datetime import timedelta

from schemas import streams
from services.shared.provision import ensure_consumer, known_consumers
from tests.conftest import Bus


async def test_a_changed_declaration_updates_the_consumer_in_place(bus: Bus) -> None:
    first = streams.ConsumerSpec(streams.EVENTS.name, "svc", ("qun.evt.*.message",))
    await ensure_consumer(bus.js, first)
    await bus.js.publish("qun.evt.bot.message", b"{}")
    grown = streams.ConsumerSpec(
        streams.EVENTS.name,
        "svc",
        ("qun.evt.*.message", "qun.evt.*.room.join"),
        ack_wait=timedelta(seconds=7),
    )
    await ensure_consumer(bus.js, grown)
    info = await bus.js.consumer_info(streams.EVENTS.name, "svc")
    assert sorted(info.config.filter_subjects or []) == ["qun.evt.*.message", "qun.evt.*.room.join"]
    assert info.config.ack_wait == 7
    assert info.num_pending == 1  # the update kept its place in the stream


def test_every_service_package_gets_its_consumer_without_a_list() -> None:
    assert sorted(spec.durable for spec in known_consumers(5, 30)) == [
        "github-sync",
        "history",
        "moderator",
        "ops",
        "scheduler",
        "tagger",
    ]
