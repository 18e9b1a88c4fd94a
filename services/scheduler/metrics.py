"""Scheduler metrics, served on /metrics with the shared ones."""

from prometheus_client import Counter, Histogram

FIRINGS = Counter(
    "qun_scheduler_firings_total",
    "Reminder occurrences handled, by outcome: on_time, late (sent with a note), missed (one-off sent marked "
    "missed), skipped (recurring, too late)",
    ["outcome"],
)
FIRING_DELAY = Histogram(
    "qun_scheduler_firing_delay_seconds",
    "From due time to the firing being published",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600),
)
CORRUPT = Counter(
    "qun_scheduler_corrupt_reminders_total",
    "Stored reminders that could not be read and were moved to the dead-letter hash",
)
