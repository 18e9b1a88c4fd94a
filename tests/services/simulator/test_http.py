"""The simulator's HTTP API over real HTTP on a free port."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from services.simulator.http import serving
from services.simulator.world import AT_SEPARATOR, OSS_ROOM_ID, QUOTE_SEPARATOR, TEST_ROOM_ID, SimulatorWorld


@pytest.fixture
def world() -> SimulatorWorld:
    return SimulatorWorld()


@pytest.fixture
async def client(world: SimulatorWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(world, port=0) as url, httpx.AsyncClient(base_url=url, timeout=5) as http:
        yield http


async def test_world_lists_bot_rooms_and_contacts(client: httpx.AsyncClient) -> None:
    data = (await client.get("/api/world")).json()
    assert data["bot"] == {"id": "qunbot", "name": "QunBot"}
    assert {room["topic"] for room in data["rooms"]} == {"开源交流群", "Test Room"}
    assert data["admin_connected"] is False
    room = (await client.get(f"/api/rooms/{OSS_ROOM_ID}")).json()
    assert room["member_count"] == 5
    lina = next(member for member in room["members"] if member["id"] == "wxid_lina")
    assert lina["display_name"] == "娜娜@前端"


async def test_speak_with_mention_and_quote(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    first = await client.post(
        f"/api/rooms/{OSS_ROOM_ID}/messages", json={"talker_id": "wxid_zhangwei", "text": "周四开会"}
    )
    assert first.status_code == 201
    reply = await client.post(
        f"/api/rooms/{OSS_ROOM_ID}/messages",
        json={
            "talker_id": "wxid_bob",
            "text": "标记",
            "mention_ids": ["qunbot"],
            "quote_id": first.json()["id"],
        },
    )
    assert reply.status_code == 201
    body = reply.json()
    assert body["text"] == f"「张伟：周四开会」\n{QUOTE_SEPARATOR}\n@QunBot{AT_SEPARATOR}标记"
    assert body["mention_ids"] == ["qunbot"]
    assert body["quote"] == {"talker_name": "张伟", "text": "周四开会"}
    assert world.messages(room_id=OSS_ROOM_ID)[-1].id == body["id"]


async def test_direct_message(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    response = await client.post("/api/contacts/wxid_bob/messages", json={"text": "ding"})
    assert response.status_code == 201
    assert world.messages(contact_id="wxid_bob")[-1].text == "ding"


async def test_join_leave_and_topic(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    joined = await client.post(f"/api/rooms/{TEST_ROOM_ID}/members", json={"name": "Frank"})
    assert joined.status_code == 201
    frank = joined.json()["id"]
    assert frank in world.room(TEST_ROOM_ID).member_ids
    refused = await client.delete(
        f"/api/rooms/{TEST_ROOM_ID}/members/wxid_erin", params={"remover_id": frank}
    )
    assert refused.status_code == 403
    left = await client.delete(f"/api/rooms/{TEST_ROOM_ID}/members/{frank}")
    assert left.status_code == 200
    assert frank not in [member["id"] for member in left.json()["members"]]
    renamed = await client.put(
        f"/api/rooms/{TEST_ROOM_ID}/topic", json={"topic": "QA", "changer_id": "wxid_dave"}
    )
    assert renamed.json()["topic"] == "QA"


async def test_friend_request(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    created = await client.post("/api/friendships", json={"name": "Grace", "hello": "你好"})
    assert created.status_code == 201
    world.bot_accept_friendship(created.json()["id"])
    (listed,) = (await client.get("/api/friendships")).json()
    assert listed["accepted"] is True


async def test_message_log_filters(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    said = world.say(OSS_ROOM_ID, "wxid_bob", "ding")
    world.bot_send_text(OSS_ROOM_ID, "dong")
    world.say(TEST_ROOM_ID, "wxid_carol", "elsewhere")
    from_bot = (await client.get("/api/messages", params={"from_bot": "true"})).json()
    assert [message["text"] for message in from_bot] == ["dong"]
    room_log = (
        await client.get("/api/messages", params={"room_id": OSS_ROOM_ID, "after": said.seq - 1})
    ).json()
    assert [message["text"] for message in room_log] == ["ding", "dong"]
    last = (await client.get("/api/messages", params={"limit": 1})).json()
    assert [message["text"] for message in last] == ["elsewhere"]


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("POST", f"/api/rooms/{OSS_ROOM_ID}/messages", {"talker_id": "wxid_bob"}, 400),
        ("POST", f"/api/rooms/{OSS_ROOM_ID}/messages", {"talker_id": "wxid_carol", "text": "x"}, 403),
        ("POST", "/api/rooms/nope@chatroom/messages", {"talker_id": "wxid_bob", "text": "x"}, 404),
        ("POST", f"/api/rooms/{OSS_ROOM_ID}/members", {"contact_id": "wxid_bob"}, 409),
        ("GET", "/api/nothing", None, 404),
        ("DELETE", "/api/rooms", None, 405),
        ("GET", "/static/..%2Fworld.py", None, 404),
    ],
)
async def test_errors_have_status_and_reason(
    client: httpx.AsyncClient, method: str, path: str, payload: Mapping[str, Any] | None, status: int
) -> None:
    response = await client.request(method, path, json=payload)
    assert response.status_code == status
    assert response.json()["error"]


async def test_bad_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/api/rooms/{OSS_ROOM_ID}/messages",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


async def test_page_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in page.text
    assert (await client.get("/static/app.js")).status_code == 200
    assert (await client.get("/static/style.css")).status_code == 200


async def read_events(lines: AsyncIterator[str], count: int) -> list[tuple[str, dict[str, Any]]]:
    """The next `count` server-sent events (name, data) from the stream's lines; fails after 5 s."""
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    async with asyncio.timeout(5):
        async for line in lines:
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
                if len(events) == count:
                    return events
    raise AssertionError(f"the stream ended after {events}")


async def test_stream_replays_then_goes_live(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    old = world.say(OSS_ROOM_ID, "wxid_bob", "old")
    world.say(OSS_ROOM_ID, "wxid_bob", "replayed")
    async with client.stream("GET", "/api/stream", params={"after": old.seq}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        (replayed,) = await read_events(lines, 1)
        assert replayed[1]["text"] == "replayed"
        world.bot_send_text(OSS_ROOM_ID, "live from the bot")
        world.join(OSS_ROOM_ID, name="Frank")
        live = await read_events(lines, 3)
    assert live[0] == ("message", live[0][1])
    assert live[0][1]["from_bot"] is True
    assert live[1][0] == "message"  # the system notice "…邀请…加入了群聊"
    assert live[1][1]["kind"] == "system"
    assert live[2][0] == "room"
    assert live[2][1]["member_count"] == 6


async def test_server_stops_with_a_stream_open(world: SimulatorWorld) -> None:
    async with (
        serving(world, port=0) as url,
        httpx.AsyncClient(base_url=url, timeout=5) as http,
        http.stream("GET", "/api/stream") as response,
    ):
        world.say(OSS_ROOM_ID, "wxid_bob", "hello")
        await read_events(response.aiter_lines(), 1)
    # Reaching here means shutdown did not hang on the open stream (the test timeout would fail it).
    assert response.is_closed


async def test_taken_port_raises(world: SimulatorWorld) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"):
            async with serving(world, port=port):
                pass


async def test_admin_panel_not_connected_then_fed(client: httpx.AsyncClient, world: SimulatorWorld) -> None:
    assert (await client.get("/api/admin")).json()["connected"] is False

    async def snapshot() -> Mapping[str, object]:
        return {"services": [{"name": "tagger", "version": "0.1.0"}], "dead_letters": []}

    world.admin_source = snapshot
    data = (await client.get("/api/admin")).json()
    assert data["connected"] is True
    assert data["services"] == [{"name": "tagger", "version": "0.1.0"}]

    async def broken() -> Mapping[str, object]:
        raise ConnectionError("nats is down")

    world.admin_source = broken
    failed = (await client.get("/api/admin")).json()
    assert failed["connected"] is False
    assert "nats is down" in failed["reason"]


async def test_world_serve_runs_until_cancelled(world: SimulatorWorld) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = asyncio.create_task(world.serve("127.0.0.1", port))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=1) as http:
        async with asyncio.timeout(5):
            while True:
                try:
                    if (await http.get("/api/rooms")).status_code == 200:
                        break
                except httpx.ConnectError:
                    await asyncio.sleep(0.01)
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
        with pytest.raises(httpx.ConnectError):
            await http.get("/api/rooms")


async def test_another_site_cannot_write_to_the_world(
    client: httpx.AsyncClient, world: SimulatorWorld
) -> None:
    before = len(world.messages())
    path = f"/api/rooms/{OSS_ROOM_ID}/messages"
    body = json.dumps({"talker_id": "wxid_bob", "text": "@QunBot 踢 @张伟"})

    # What any web page may post without a CORS preflight: a "simple" text/plain body.
    simple = await client.post(path, content=body, headers={"content-type": "text/plain"})
    form = await client.post(
        path, content="talker_id=wxid_bob", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    # JSON from another origin (the browser would ask first; a script outside a browser gets the same answer).
    foreign = await client.post(
        path, content=body, headers={"content-type": "application/json", "origin": "http://evil.example"}
    )
    cross_site = await client.post(
        path, content=body, headers={"content-type": "application/json", "sec-fetch-site": "cross-site"}
    )
    removal = await client.delete(f"/api/rooms/{OSS_ROOM_ID}/members/wxid_bob", headers={"origin": "null"})

    assert [r.status_code for r in (simple, form, foreign, cross_site, removal)] == [415, 415, 403, 403, 403]
    assert "cross-origin" in foreign.json()["error"]
    assert len(world.messages()) == before
    assert "wxid_bob" in world.room(OSS_ROOM_ID).member_ids


async def test_the_page_itself_and_programs_may_write(client: httpx.AsyncClient) -> None:
    path = f"/api/rooms/{OSS_ROOM_ID}/messages"
    own_origin = str(client.base_url).rstrip("/")
    page = await client.post(
        path,
        json={"talker_id": "wxid_bob", "text": "from the page"},
        headers={"origin": own_origin, "sec-fetch-site": "same-origin"},
    )
    program = await client.post(path, json={"talker_id": "wxid_bob", "text": "from a script"})

    assert (page.status_code, program.status_code) == (201, 201)
    assert (await client.get("/api/world")).status_code == 200  # reading is never refused here


async def test_a_name_of_another_site_resolving_here_gets_nothing(
    client: httpx.AsyncClient, world: SimulatorWorld
) -> None:
    """DNS rebinding: `rebind.evil.example` made to resolve to 127.0.0.1 is same-origin with itself, so Origin and
    Sec-Fetch-Site checks pass; the Host header gives it away."""
    port = str(client.base_url).rstrip("/").rsplit(":", 1)[1]
    before = len(world.messages())
    evil = {"host": f"rebind.evil.example:{port}", "origin": f"http://rebind.evil.example:{port}"}
    write = await client.post(
        f"/api/rooms/{OSS_ROOM_ID}/messages",
        json={"talker_id": "wxid_bob", "text": "@QunBot 踢 @张伟"},
        headers={**evil, "sec-fetch-site": "same-origin"},
    )
    read = await client.get("/api/admin", headers=evil)
    stream = await client.get("/api/stream", headers=evil)
    by_name = await client.get("/api/world", headers={"host": f"localhost:{port}"})
    by_ipv6 = await client.get("/api/world", headers={"host": f"[::1]:{port}"})
    assert [r.status_code for r in (write, read, stream)] == [403, 403, 403]
    assert "unknown host" in write.json()["error"]
    assert (by_name.status_code, by_ipv6.status_code) == (200, 200)
    assert len(world.messages()) == before
