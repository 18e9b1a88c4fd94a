"""github-sync metrics, served on /metrics with the shared ones."""

from prometheus_client import Counter, Gauge

WEBHOOKS = Counter(
    "qun_github_sync_webhooks_total",
    "Webhook deliveries by outcome: announced, ignored (not an announced event), redelivery (a delivery id or a "
    "signed body seen before), refused (unsigned or bad signature), bad_request, busy (too many at once)",
    ["outcome"],
)
WRITES = Counter(
    "qun_github_sync_writes_total",
    "Attempts to write to GitHub by kind (issue, comment) and status (done, delayed, rejected, busy)",
    ["kind", "status"],
)
OUTBOX_PENDING = Gauge("qun_github_sync_outbox_pending", "Issues and comments waiting for GitHub")
