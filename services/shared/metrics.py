"""Prometheus metrics every service exposes on `/metrics` of its HTTP_PORT."""

from prometheus_client import Counter, Histogram

HANDLED = Counter("qun_messages_handled_total", "Messages handled", ["service", "kind"])
FAILED = Counter("qun_handler_failures_total", "Handler failures (each retry counts)", ["service"])
DEAD_LETTERED = Counter("qun_dead_lettered_total", "Messages given up on", ["service"])
LATENCY = Histogram(
    "qun_handler_seconds",
    "Time from delivery to ack",
    ["service"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
