"""What the internet can do: post to github-sync's webhook (only GitHub, signing with the shared secret, is heard),
put text into GitHub that the bot repeats, and open web pages in a browser that also shows the simulator. One test per
line of the README's "Who can do what" table; real nats-server, redis-server and HTTP."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import httpx

from schemas import SayText
from services.github_sync.webhook import sign
from services.simulator.http import serving
from services.simulator.world import OSS_ROOM_ID, SimulatorWorld
from tests.conftest import Bus
from tests.services.github_sync.test_app import PAYLOADS, SECRET, post, room_seen, signed

GITHUB_SAID = "[GitHub]"


def _notices(bus: Bus) -> list[SayText]:
    return [say for say in bus.commands(SayText) if say.text.startswith(GITHUB_SAID)]


async def test_only_deliveries_signed_by_github_are_announced_and_each_only_once(
    bus: Bus, start: Any
) -> None:
    """Unsigned, wrongly signed or altered deliveries are refused (401); a redelivery under the same id, and the
    same signed body replayed under new delivery ids, are announced once."""
    body, headers = signed("issues.opened", "delivery-1")
    async with start() as runtime:
        await room_seen(bus, runtime)
        refused = [
            await post(runtime, body, {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}),
            await post(runtime, *signed("issues.opened", "delivery-1", secret="a-guessed-secret")),
            await post(runtime, body.replace(b"Safari", b"Chrome"), headers),
        ]
        genuine = await post(runtime, body, headers)
        replays = [await post(runtime, body, headers)] + [
            await post(runtime, body, {**headers, "X-GitHub-Delivery": f"fresh-{n}"}) for n in range(3)
        ]
        await bus.says(lambda say: say.text.startswith(GITHUB_SAID))
        await bus.consumer_settled("github-sync")
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert genuine.status_code == 200
    assert [(r.status_code, r.text) for r in replays] == [(200, "redelivery ignored")] + [
        (200, "replayed body ignored")
    ] * 3
    assert len(_notices(bus)) == 1


async def test_oversized_deep_or_flooding_deliveries_are_refused_and_the_service_goes_on(
    bus: Bus, start: Any
) -> None:
    """A body over 1 MiB gets 413, JSON nested too deep or with a number too long to convert 400 (even signed);
    beyond the concurrency bound a delivery waits a moment, then gets 503. A genuine delivery then still gets in."""
    bodies = {
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "digits": b'{"action": "opened", "n": ' + b"1" * 5000 + b"}",
        "oversized": b'{"pad": "' + b"x" * (1 << 20) + b'"}',
    }
    async with start(webhook_concurrency=1, webhook_queue_wait_s=0.2) as runtime:
        await room_seen(bus, runtime)
        answers = {
            name: await post(runtime, body, {**_headers(body), "X-GitHub-Delivery": name})
            for name, body in bodies.items()
        }
        async with (
            runtime.context.deps.webhooks.slot() as held
        ):  # the one slot, as a slow delivery would hold it
            assert held
            busy = await post(runtime, *signed("issues.opened", "while-busy"))
        after = await post(runtime, *signed("issues.opened", "after"))
        await bus.says(lambda say: say.text.startswith(GITHUB_SAID))
    assert {name: r.status_code for name, r in answers.items()} == {
        "deep": 400,
        "digits": 400,
        "oversized": 413,
    }
    assert (busy.status_code, busy.headers.get("retry-after")) == (503, "30")
    assert after.status_code == 200


def _headers(body: bytes, event: str = "issues") -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-Hub-Signature-256": sign(SECRET.encode(), body)}


async def test_text_from_github_cannot_ping_the_room_or_hide_what_it_says(bus: Bus, start: Any) -> None:
    """Anyone can open an issue on a public repository: its title reaches the room without `@所有人` / `@all`,
    control characters or bidirectional overrides (which make a line read backwards)."""
    payload = json.loads((PAYLOADS / "issues.opened.json").read_text(encoding="utf-8"))
    payload["issue"]["title"] = "@所有人 ＠ all 紧急\u202e\u2066通知\x07\u200b 请@all 转账"
    body = json.dumps(payload).encode()
    async with start() as runtime:
        await room_seen(bus, runtime)
        answer = await post(runtime, body, {**_headers(body), "X-GitHub-Delivery": "hostile-title"})
        [notice] = await bus.says(lambda say: say.text.startswith(GITHUB_SAID))
    assert answer.status_code == 200
    assert "所有人" in notice.text  # the words stay, the ping goes
    assert "@所有人" not in notice.text
    assert "@all " not in notice.text.replace("＠", "@")
    invisible = [char for char in notice.text if unicodedata.category(char) in {"Cc", "Cf"} and char != "\n"]
    assert invisible == []


async def test_a_web_page_cannot_drive_the_simulator() -> None:
    """A page on another site the developer visits cannot write to the simulated world (a JSON body from another
    origin needs a preflight the simulator never approves; text/plain and forms are refused), nor reach it under a
    name of its own that resolves to this machine (DNS rebinding)."""
    world = SimulatorWorld()
    before = len(world.messages())
    path = f"/api/rooms/{OSS_ROOM_ID}/messages"
    body = json.dumps({"talker_id": "wxid_bob", "text": "@QunBot 踢 @张伟"})
    async with serving(world, port=0) as url, httpx.AsyncClient(base_url=url, timeout=5) as client:
        port = url.rsplit(":", 1)[1]
        simple = await client.post(path, content=body, headers={"content-type": "text/plain"})
        foreign = await client.post(
            path, content=body, headers={"content-type": "application/json", "origin": "http://evil.example"}
        )
        cross_site = await client.post(
            path, content=body, headers={"content-type": "application/json", "sec-fetch-site": "cross-site"}
        )
        rebound = {"host": f"rebind.evil.example:{port}", "origin": f"http://rebind.evil.example:{port}"}
        rebound_write = await client.post(
            path,
            content=body,
            headers={"content-type": "application/json", "sec-fetch-site": "same-origin", **rebound},
        )
        rebound_read = await client.get("/api/admin", headers=rebound)
        own = await client.post(path, json={"talker_id": "wxid_bob", "text": "from the page"})
    assert [r.status_code for r in (simple, foreign, cross_site)] == [415, 403, 403]
    assert [r.status_code for r in (rebound_write, rebound_read)] == [403, 403]
    assert own.status_code == 201
    assert [m.text for m in world.messages()[before:]] == ["from the page"]
