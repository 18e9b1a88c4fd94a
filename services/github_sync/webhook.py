"""GitHub → chat: check a webhook delivery and decide which rooms hear about it.

The HTTP route is thin: it hands the headers and raw body here and sends the notices this returns.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus

from redis.asyncio import Redis

from services.github_sync import keys
from services.github_sync.bindings import Bindings
from services.github_sync.notices import Notice, notice_for
from services.github_sync.origin import room_digest
from services.shared.consumer import Permanent
from services.shared.dispatch import decode_json

SIGNATURE_HEADER = "x-hub-signature-256"
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
_SIGNATURE_PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends for `body`."""
    return _SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of X-Hub-Signature-256; a missing or malformed header is simply invalid."""
    if not secret or not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"), header.strip().encode("ascii", "replace"))


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    payload: dict[str, object]
    body_sha256: str


def read_delivery(secret: bytes, headers: dict[str, str], body: bytes) -> Delivery | Verdict:
    """The delivery if it is signed with our secret and well-formed, else what to answer GitHub."""
    if SIGNATURE_HEADER not in headers:
        return Verdict(HTTPStatus.UNAUTHORIZED, "unsigned delivery")
    if not signature_valid(secret, body, headers[SIGNATURE_HEADER]):
        return Verdict(HTTPStatus.UNAUTHORIZED, "bad signature")
    event, delivery_id = headers.get(EVENT_HEADER, ""), headers.get(DELIVERY_HEADER, "")
    if not event or not delivery_id:
        return Verdict(HTTPStatus.BAD_REQUEST, "missing X-GitHub-Event or X-GitHub-Delivery")
    if event == "ping":
        return Verdict(HTTPStatus.OK, "pong", delivery_id)
    payload = _json_object(body)
    if isinstance(payload, Verdict):
        return payload
    return Delivery(delivery_id, event, payload, hashlib.sha256(body).hexdigest())


def _json_object(body: bytes) -> dict[str, object] | Verdict:
    """The body as a JSON object, within the plumbing's limits (nesting depth, numbers too long to convert)."""
    try:
        payload = decode_json(body)
    except Permanent as error:
        return Verdict(HTTPStatus.BAD_REQUEST, str(error).removeprefix("invalid payload: ")[:200])
    if not isinstance(payload, dict):
        return Verdict(HTTPStatus.BAD_REQUEST, "body is not a JSON object")
    return payload


@dataclass(frozen=True)
class RoomNotice:
    room_id: str
    notice: Notice


@dataclass(frozen=True)
class Verdict:
    """What to answer GitHub, and what to post."""

    status: HTTPStatus
    reason: str
    delivery_id: str | None = None
    notices: tuple[RoomNotice, ...] = ()
    redelivery: bool = False
    body_sha256: str | None = None

    @property
    def outcome(self) -> str:
        """One word for metrics: refused, bad_request, busy, redelivery, announced, ignored."""
        if self.status == HTTPStatus.UNAUTHORIZED:
            return "refused"
        if self.status == HTTPStatus.SERVICE_UNAVAILABLE:
            return "busy"
        if self.status != HTTPStatus.OK:
            return "bad_request"
        if self.redelivery:
            return "redelivery"
        return "announced" if self.notices else "ignored"


# KEYS: the delivery id's marker, the body hash's marker; ARGV: how long to remember them (ms).
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'delivery' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'body' end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 'new'
"""


class WebhookReceiver:
    def __init__(
        self,
        *,
        secret: bytes,
        redis: Redis,
        bindings: Bindings,
        remember_for: timedelta,
        concurrency: int = 8,
        queue_wait: timedelta = timedelta(seconds=5),
    ) -> None:
        self._secret = secret
        self._redis = redis
        self._bindings = bindings
        self._remember_for = remember_for
        self._claim = redis.register_script(_CLAIM)
        self._slots = asyncio.Semaphore(concurrency)
        self._queue_wait = queue_wait

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """At most `concurrency` deliveries are worked on at once; one that waited `queue_wait` for a slot gets
        False (answer 503: GitHub marks it failed, an operator may redeliver it)."""
        try:
            async with asyncio.timeout(self._queue_wait.total_seconds()):
                await self._slots.acquire()
        except TimeoutError:
            yield False
            return
        try:
            yield True
        finally:
            self._slots.release()

    async def receive(self, headers: dict[str, str], body: bytes) -> Verdict:
        """`headers` with lower-case names, as HTTP servers hand them over."""
        delivery = read_delivery(self._secret, headers, body)
        if isinstance(delivery, Verdict):
            return delivery
        # Signed and well-formed: only now may it claim its id and body (so forgeries cannot burn real ones). The
        # same signed body under a new delivery id is a replay: announced once.
        claimed = await self._claim(
            keys=[keys.webhook_delivery(delivery.id), keys.webhook_body(delivery.body_sha256)],
            args=[int(self._remember_for.total_seconds() * 1000)],
        )
        if claimed != "new":
            reason = "redelivery ignored" if claimed == "delivery" else "replayed body ignored"
            return Verdict(HTTPStatus.OK, reason, delivery.id, redelivery=True)
        notice = notice_for(delivery.event, delivery.payload)
        if notice is None:
            return Verdict(
                HTTPStatus.OK,
                f"{delivery.event} not announced",
                delivery.id,
                body_sha256=delivery.body_sha256,
            )
        rooms = await self._rooms_for(notice)
        return Verdict(
            HTTPStatus.OK,
            f"announced in {len(rooms)} room(s)",
            delivery.id,
            rooms,
            body_sha256=delivery.body_sha256,
        )

    async def forget(self, verdict: Verdict) -> None:
        """Posting failed: let GitHub's redelivery of this delivery (id and body) through."""
        if verdict.delivery_id is not None:
            await self._redis.delete(keys.webhook_delivery(verdict.delivery_id))
        if verdict.body_sha256 is not None:
            await self._redis.delete(keys.webhook_body(verdict.body_sha256))

    async def _rooms_for(self, notice: Notice) -> tuple[RoomNotice, ...]:
        wanted = await self._bindings.rooms_for_repo(notice.repo)
        return tuple(
            RoomNotice(room_id, notice)
            for room_id, categories in sorted(wanted.items())
            if notice.category in categories and not _echo(notice, room_id)
        )


def _echo(notice: Notice, room_id: str) -> bool:
    """The room wrote this itself through us; it already heard back from the bot."""
    return notice.origin is not None and notice.origin == room_digest(room_id)
