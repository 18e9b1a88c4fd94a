"""Prometheus metrics of one gateway, read from its live state at scrape time (served on /metrics)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas import GatewayStatus


class GatewayCollector(Collector):
    def __init__(self, status: Callable[[], GatewayStatus], unknown_outcomes: Callable[[], int]) -> None:
        self._status = status
        self._unknown_outcomes = unknown_outcomes

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: two gateways in one process (tests) must not clash at registration."""
        return []

    def collect(self) -> Iterable[Metric]:
        status = self._status()
        labels = [status.bot_id]

        def gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, text, labels=["bot_id"])
            family.add_metric(labels, value)
            return family

        def counter(name: str, text: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, text, labels=["bot_id"])
            family.add_metric(labels, value)
            return family

        used = GaugeMetricFamily(
            "qun_gateway_daily_used", "Sends today per daily budget", labels=["bot_id", "kind"]
        )
        limit = GaugeMetricFamily(
            "qun_gateway_daily_limit", "The daily budget per kind", labels=["bot_id", "kind"]
        )
        for kind, value in status.daily_limits.items():
            limit.add_metric([status.bot_id, kind], float(value))
            used.add_metric([status.bot_id, kind], float(status.daily_used.get(kind, 0)))
        by_priority = GaugeMetricFamily(
            "qun_gateway_queue_by_priority",
            "Messages waiting per priority class",
            labels=["bot_id", "priority"],
        )
        for priority, size in status.queue_by_priority.items():
            by_priority.add_metric([status.bot_id, priority], float(size))
        return [
            gauge(
                "qun_gateway_logged_in", "1 while the account is logged in", 1.0 if status.logged_in else 0.0
            ),
            gauge(
                "qun_gateway_outbound_queue",
                "Messages waiting to be sent",
                float(sum(status.outbound_queue.values())),
            ),
            gauge("qun_gateway_sending", "1 while this process holds the send lease", float(status.sending)),
            gauge(
                "qun_gateway_held",
                "1 while sending is held (outage, budget used up)",
                float(bool(status.held)),
            ),
            counter(
                "qun_gateway_rate_limit_waits",
                "Stretches of sending held back by the rate limits",
                float(status.rate_limit_waits),
            ),
            counter("qun_gateway_sent", "Messages WeChat accepted", float(status.sent)),
            counter(
                "qun_gateway_dropped_stale",
                "Commands dropped as too old or past their deadline",
                float(status.dropped_stale),
            ),
            counter(
                "qun_gateway_unknown_outcomes",
                "Parts whose WeChat call ended unknown: not sent again",
                float(self._unknown_outcomes()),
            ),
            used,
            limit,
            by_priority,
        ]


@contextlib.contextmanager
def registered(collector: Collector) -> Iterator[None]:
    """Registered for the gateway's lifetime (tests run several gateways in one process, one after another)."""
    REGISTRY.register(collector)
    try:
        yield
    finally:
        REGISTRY.unregister(collector)
