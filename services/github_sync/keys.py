"""Every Redis key github-sync uses, built in one place."""

from __future__ import annotations

from services.github_sync.repos import RepoName

_PREFIX = "github-sync"


def room_repos(room_id: str) -> str:
    """HASH repo key → `owner/name` as typed: repositories bound to a room in chat."""
    return f"{_PREFIX}:room:{room_id}:repos"


def repo_rooms(repo: RepoName) -> str:
    """SET of room ids bound to a repository in chat (reverse index for webhooks)."""
    return f"{_PREFIX}:repo:{repo.key}:rooms"


def room_categories(room_id: str) -> str:
    """SET of notice categories an admin chose for a room; absent means the configured default."""
    return f"{_PREFIX}:room:{room_id}:categories"


def legacy_history_keys() -> tuple[str, str]:
    """SCAN patterns of the keys of github-sync's own history before the history service kept the one history:
    a ZSET of messages and a STRING switch per room. Dropped once at start (see legacy.py)."""
    return f"{_PREFIX}:room:*:history", f"{_PREFIX}:room:*:history-switch"


def legacy_history_dropped() -> str:
    """STRING marker: the legacy history keys were dropped."""
    return f"{_PREFIX}:migrated:history-service"


def rooms_changed() -> str:
    """Pub/sub channel: a room's bindings changed; every replica drops its cached status."""
    return f"{_PREFIX}:rooms:changed"


def room_bot(room_id: str) -> str:
    """STRING id of the bot account last seen in a room (who should speak there)."""
    return f"{_PREFIX}:room:{room_id}:bot"


def webhook_delivery(delivery_id: str) -> str:
    """STRING marker of a handled X-GitHub-Delivery, with a TTL."""
    return f"{_PREFIX}:delivery:{delivery_id}"


def webhook_body(sha256: str) -> str:
    """STRING marker of a handled delivery's body (SHA-256 of the signed bytes), with a TTL: replays are ignored."""
    return f"{_PREFIX}:delivery-body:{sha256}"


def outbox_jobs() -> str:
    """HASH job id → serialized pending GitHub write."""
    return f"{_PREFIX}:outbox:jobs"


def outbox_due() -> str:
    """ZSET job id scored by the time its next attempt is due."""
    return f"{_PREFIX}:outbox:due"


def outbox_unannounced() -> str:
    """ZSET job id scored by finish time: finished writes whose room has not been told the outcome yet."""
    return f"{_PREFIX}:outbox:unannounced"


def outbox_lock(job_id: str) -> str:
    """STRING held by the replica currently attempting a job."""
    return f"{_PREFIX}:outbox:lock:{job_id}"


def outbox_result(job_id: str) -> str:
    """STRING serialized outcome of a finished job, kept so a redelivered request is not filed twice."""
    return f"{_PREFIX}:outbox:result:{job_id}"


def announced_notice(room_id: str, repo: RepoName, number: int) -> str:
    """STRING marker, with a TTL: the bot announced `repo#number` in that room, so a quote of it may be a reply."""
    return f"{_PREFIX}:room:{room_id}:announced:{repo.key}#{number}"


def notice_window(room_id: str) -> str:
    """HASH a room's notice budget: window start, messages sent in it, notices only counted, last digest id."""
    return f"{_PREFIX}:room:{room_id}:notice-window"


def notices_held(room_id: str) -> str:
    """ZSET notices waiting for the room's digest (JSON lines), scored by arrival."""
    return f"{_PREFIX}:room:{room_id}:notices-held"


def digests_due() -> str:
    """ZSET room id scored by when its digest should go out."""
    return f"{_PREFIX}:notices:digests-due"


def digest_lock(room_id: str) -> str:
    """STRING held by the replica sending a room's digest."""
    return f"{_PREFIX}:room:{room_id}:digest-lock"
