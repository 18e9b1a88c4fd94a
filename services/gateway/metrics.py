"""Prometheus metrics of one gateway, read from its live state at scrape time (served on /metrics)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas import GatewayStatus


class GatewayCollector(Collector):
    def __init__(self, status: Callable[[], GatewayStatus]) -> None:
        self._status = status

    def collect(self) -> Iterable[Metric]:
        status = self._status()
        labels = [status.bot_id]
        logged_in = GaugeMetricFamily(
            "qun_gateway_logged_in", "1 while the account is logged in", labels=["bot_id"]
        )
        logged_in.add_metric(labels, 1.0 if status.logged_in else 0.0)
        queue = GaugeMetricFamily(
            "qun_gateway_outbound_queue", "Messages waiting to be sent", labels=["bot_id"]
        )
        queue.add_metric(labels, float(sum(status.outbound_queue.values())))
        waits = CounterMetricFamily(
            "qun_gateway_rate_limit_waits",
            "Stretches of sending held back by the rate limits",
            labels=["bot_id"],
        )
        waits.add_metric(labels, float(status.rate_limit_waits))
        sent = CounterMetricFamily("qun_gateway_sent", "Messages WeChat accepted", labels=["bot_id"])
        sent.add_metric(labels, float(status.sent))
        return [logged_in, queue, waits, sent]


@contextlib.contextmanager
def registered(collector: Collector) -> Iterator[None]:
    """Registered for the gateway's lifetime (tests run several gateways in one process, one after another)."""
    REGISTRY.register(collector)
    try:
        yield
    finally:
        REGISTRY.unregister(collector)
