"""Registry, HTTP endpoints and consumers of a running service, over real servers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import nats
import pytest

from examples.dingdong.app import service as dingdong
from schemas import ChatCommand, MessageReceived, SayText
from services.shared import AppContext, Context, QunService, QunSettings
from services.shared.bus import discover
from services.shared.http import Request, Response
from services.shared.provision import ensure_consumer, ensure_streams
from tests.conftest import Bus, RunService
from tests.factories import message
from tools.servers import Server, free_port, start_nats


def other_service() -> QunService[QunSettings, None]:
    service: QunService[QunSettings, None] = QunService("other", version="2.0", settings=QunSettings)

    @service.command(ChatCommand(name="hi", keywords_en=["hi"], usage_en="hi — greets"))
    async def hi(event: MessageReceived, ctx: Context[QunSettings, None], args: str) -> None:
        await ctx.reply("hello")

    @service.route("POST", "/echo")
    async def echo(request: Request, app: AppContext[QunSettings, None]) -> Response:
        return Response.json(request.body)

    return service


async def test_discover_lists_exactly_the_live_services_once_each(run_service: RunService) -> None:
    async with run_service(dingdong) as first, run_service(dingdong), run_service(other_service()):
        found = await discover(first.bus.connection, window_s=0.3)
        assert [(info.name, [c.name for c in info.commands]) for info in found] == [
            ("dingdong", ["ding"]),
            ("other", ["hi"]),
        ]
    async with run_service(other_service()) as alone:
        assert [info.name for info in await alone.discover()] == ["other"]


async def test_replicas_share_one_durable_consumer(bus: Bus, run_service: RunService) -> None:
    async with run_service(dingdong), run_service(dingdong):
        for n in range(20):
            await bus.publish_event(message("ding", id=f"ding-{n}"))
        await bus.says(count=20)
        await bus.consumer_settled("dingdong")
        consumers = [c.name for c in await bus.js.consumers_info("QUN_EVT")]
    assert consumers == ["dingdong"]
    assert len(bus.commands(SayText)) == 20


async def test_health_ready_metrics_and_service_routes_over_http(run_service: RunService) -> None:
    port = free_port()
    async with (
        run_service(other_service(), http_port=port) as runtime,
        runtime.serving_http(),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        assert (await http.get("/healthz")).text == "ok"
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.post("/echo", content=b'{"a": 1}')).json() == {"a": 1}
        assert (await http.get("/echo")).status_code == 405
        assert (await http.get("/nope")).status_code == 404
        assert "qun_messages_handled_total" in (await http.get("/metrics")).text


async def test_readyz_fails_when_redis_is_gone(run_service: RunService, redis_server: Server) -> None:
    port = free_port()
    async with (
        run_service(other_service(), http_port=port) as runtime,
        runtime.serving_http(),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        redis_server.kill()
        assert (await http.get("/readyz")).status_code == 503


async def test_provisioned_consumer_is_reused_by_the_service(bus: Bus, run_service: RunService) -> None:
    spec = dingdong.consumer()
    assert spec is not None
    await ensure_consumer(bus.js, spec)
    async with run_service(dingdong):
        await bus.publish_event(message("ding"))
        await bus.says()
    info = await bus.js.consumer_info("QUN_EVT", "dingdong")
    assert info.config.filter_subjects == ["qun.evt.*.message"]


async def test_a_failing_health_check_fails_health_and_readiness(run_service: RunService) -> None:
    service = other_service()
    healthy = {"now": True}

    @service.health_check
    def flag(app: AppContext[QunSettings, None]) -> bool:
        return healthy["now"]

    port = free_port()
    async with (
        run_service(service, http_port=port) as runtime,
        runtime.serving_http(),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
        healthy["now"] = False
        assert (await http.get("/healthz")).status_code == 503
        assert (await http.get("/readyz")).status_code == 503


async def test_a_service_whose_stream_is_not_there_yet_waits_for_it(tmp_path: Path, redis_url: str) -> None:
    """JetStream not ready at start (a cluster still electing, provisioning still running): retry, don't exit."""
    server = await start_nats(tmp_path / "jetstream")  # no streams yet: binding the consumer fails
    settings = QunSettings(nats_url=server.url, redis_url=redis_url, start_timeout_s=30)  # type: ignore[arg-type]
    runtime = dingdong.runtime(settings)
    starting = asyncio.create_task(runtime.start())
    connection = await nats.connect(server.url)
    try:
        async with asyncio.timeout(30):
            while runtime.retries == 0:  # it failed once and is waiting to try again
                await asyncio.sleep(0.02)
            await ensure_streams(connection.jetstream())
            await starting
            replies = await connection.subscribe("qun.cmd.bot.say")
            event = message("ding", room=None)
            await connection.jetstream().publish("qun.evt.bot.message", event.model_dump_json().encode())
            reply = await replies.next_msg(timeout=10)
        assert SayText.model_validate_json(reply.data).text == "dong"
    finally:
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await runtime.stop()
        await connection.close()
        server.stop()


async def test_a_service_gives_up_on_unreachable_nats_after_its_start_timeout(redis_url: str) -> None:
    settings = QunSettings(nats_url=f"nats://127.0.0.1:{free_port()}", redis_url=redis_url, start_timeout_s=2)  # type: ignore[arg-type]
    runtime = dingdong.runtime(settings)
    started = time.monotonic()
    with pytest.raises((OSError, TimeoutError, nats.errors.Error)):
        await runtime.start()
    assert time.monotonic() - started < 10  # not nats-py's own two minutes of retries
