import asyncio
import json
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.github_sync.bindings import Bindings
from services.github_sync.categories import Category
from services.github_sync.config import GithubSyncConfig, StaticBinding
from services.github_sync.origin import origin_marker
from services.github_sync.webhook import Verdict, WebhookReceiver, read_delivery, sign, signature_valid

SECRET = b"It's a Secret to Everybody"
PAYLOADS = Path(__file__).parent / "payloads"
CONFIG = GithubSyncConfig(
    bindings=(
        StaticBinding(repos=("acme/*",), rooms=("dev@chatroom",)),
        StaticBinding(
            repos=("acme/widgets",), rooms=("ops@chatroom",), events=frozenset({Category.RELEASES})
        ),
    )
)


def delivery(
    fixture: str, *, delivery_id: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
) -> tuple[dict[str, str], bytes]:
    body = (PAYLOADS / f"{fixture}.json").read_bytes()
    headers = {
        "x-github-event": fixture.split(".", maxsplit=1)[0],
        "x-github-delivery": delivery_id,
        "x-hub-signature-256": sign(SECRET, body),
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/044aadd",
    }
    return headers, body


def test_signature_matches_githubs_documented_example() -> None:
    # docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, b"Hello, World!") == expected
    assert signature_valid(SECRET, b"Hello, World!", expected)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d", "sha256=" + "0" * 64, "garbage"],
)
def test_bad_signatures(header: str | None) -> None:
    assert not signature_valid(SECRET, b"Hello, World!", header)


def test_no_secret_configured_accepts_nothing() -> None:
    assert not signature_valid(b"", b"x", sign(b"", b"x"))


def test_read_delivery_refusals() -> None:
    headers, body = delivery("issues.opened")
    unsigned = read_delivery(SECRET, {k: v for k, v in headers.items() if k != "x-hub-signature-256"}, body)
    forged = read_delivery(SECRET, {**headers, "x-hub-signature-256": sign(b"wrong secret", body)}, body)
    tampered = read_delivery(SECRET, headers, body.replace(b"Login", b"Logout"))
    no_event = read_delivery(SECRET, {k: v for k, v in headers.items() if k != "x-github-event"}, body)
    not_json = read_delivery(SECRET, {**headers, "x-hub-signature-256": sign(SECRET, b"[1")}, b"[1")
    assert [getattr(v, "outcome", None) for v in (unsigned, forged, no_event)] == [
        "refused",
        "refused",
        "bad_request",
    ]
    assert [getattr(v, "status", None) for v in (unsigned, forged, tampered, no_event, not_json)] == [
        HTTPStatus.UNAUTHORIZED,
        HTTPStatus.UNAUTHORIZED,
        HTTPStatus.UNAUTHORIZED,
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.BAD_REQUEST,
    ]


def receiver(redis: Redis) -> WebhookReceiver:
    return WebhookReceiver(
        secret=SECRET, redis=redis, bindings=Bindings(CONFIG, redis), remember_for=timedelta(days=7)
    )


async def test_routes_notices_by_binding_and_filter(redis: Redis) -> None:
    verdict = await receiver(redis).receive(*delivery("issues.opened"))
    assert verdict.status == HTTPStatus.OK
    assert [n.room_id for n in verdict.notices] == ["dev@chatroom"]  # ops only wants releases
    release = await receiver(redis).receive(*delivery("release.published", delivery_id="d-2"))
    assert [n.room_id for n in release.notices] == ["dev@chatroom", "ops@chatroom"]


async def test_a_redelivery_is_ignored(redis: Redis) -> None:
    hooks = receiver(redis)
    first = await hooks.receive(*delivery("issues.opened"))
    again = await hooks.receive(*delivery("issues.opened"))
    assert len(first.notices) == 1
    assert (again.status, again.reason, again.notices) == (HTTPStatus.OK, "redelivery ignored", ())
    assert (first.outcome, again.outcome) == ("announced", "redelivery")
    await hooks.forget(first)
    assert len((await hooks.receive(*delivery("issues.opened"))).notices) == 1


async def test_the_same_signed_body_under_new_delivery_ids_is_announced_once(redis: Redis) -> None:
    """A replay: somebody who captured one signed delivery sends it again with fresh X-GitHub-Delivery ids."""
    hooks = receiver(redis)
    verdicts = [await hooks.receive(*delivery("issues.opened", delivery_id=f"id-{n}")) for n in range(3)]
    assert [len(v.notices) for v in verdicts] == [1, 0, 0]
    assert [v.reason for v in verdicts[1:]] == ["replayed body ignored"] * 2
    assert {v.outcome for v in verdicts[1:]} == {"redelivery"}
    await hooks.forget(verdicts[0])  # posting failed: GitHub's own redelivery must get through
    assert len((await hooks.receive(*delivery("issues.opened", delivery_id="id-9"))).notices) == 1


def signed_body(body: bytes) -> tuple[dict[str, str], bytes]:
    headers = {
        "x-github-event": "issues",
        "x-github-delivery": "d-x",
        "x-hub-signature-256": sign(SECRET, body),
    }
    return headers, body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "RecursionError"),  # escaped decoding before: the route failed
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "RecursionError"),
        (b'{"action": "opened", "n": ' + b"1" * 5000 + b"}", "ValueError"),  # a 5,000-digit number
        (b'{"a": ' + b"[" * 40 + b"1" + b"]" * 40 + b"}", "deeper"),  # decodes, but deeper than events go
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_deep_huge_or_broken_json_is_a_bad_request(body: bytes, reason: str) -> None:
    verdict = read_delivery(SECRET, *signed_body(body))
    assert isinstance(verdict, Verdict)
    assert verdict.status == HTTPStatus.BAD_REQUEST
    assert reason in verdict.reason


def test_real_payloads_fit_the_depth_limit() -> None:
    for path in sorted(PAYLOADS.glob("*.json")):
        if path.stem == "ping":
            continue  # answered before decoding
        headers, body = delivery(path.stem)
        assert not isinstance(read_delivery(SECRET, headers, body), Verdict), path.name


async def test_deliveries_beyond_the_concurrency_bound_wait_then_are_refused(redis: Redis) -> None:
    hooks = WebhookReceiver(
        secret=SECRET,
        redis=redis,
        bindings=Bindings(CONFIG, redis),
        remember_for=timedelta(days=7),
        concurrency=2,
        queue_wait=timedelta(seconds=0.2),
    )
    release = asyncio.Event()
    inside: list[bool] = []

    async def hold() -> None:
        async with hooks.slot() as admitted:
            inside.append(admitted)
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    while len(inside) < 2:  # the holders run on this loop: let them enter
        await asyncio.sleep(0)
    async with hooks.slot() as third:
        assert third is False  # waited 0.2 s, no slot freed
    waiting = asyncio.create_task(hold())
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*holders, waiting)
    assert inside == [True, True, True]  # the waiting one got a slot once one was freed


async def test_a_forgery_does_not_burn_the_delivery_id(redis: Redis) -> None:
    hooks = receiver(redis)
    headers, body = delivery("issues.opened")
    forged = await hooks.receive({**headers, "x-hub-signature-256": sign(b"guess", body)}, body)
    assert forged.status == HTTPStatus.UNAUTHORIZED
    assert len((await hooks.receive(headers, body)).notices) == 1


async def test_the_room_that_wrote_it_is_not_told_again(redis: Redis) -> None:
    data = json.loads((PAYLOADS / "issues.opened.json").read_text(encoding="utf-8"))
    data["issue"]["body"] = "transcript\n" + origin_marker("dev@chatroom")
    body = json.dumps(data).encode()
    headers = {
        "x-github-event": "issues",
        "x-github-delivery": "d-3",
        "x-hub-signature-256": sign(SECRET, body),
    }
    verdict = await receiver(redis).receive(headers, body)
    assert verdict.notices == ()


async def test_ping_and_unannounced_events_answer_ok(redis: Redis) -> None:
    ping = await receiver(redis).receive(*delivery("ping"))
    labeled = await receiver(redis).receive(*delivery("issues.labeled", delivery_id="d-4"))
    assert (ping.status, ping.reason) == (HTTPStatus.OK, "pong")
    assert (labeled.status, labeled.notices) == (HTTPStatus.OK, ())
