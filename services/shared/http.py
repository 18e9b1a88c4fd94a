"""A tiny ASGI app for the few HTTP endpoints a service has: /healthz, /readyz, /metrics, and its own routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from services.shared.runtime import Runtime

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 1 << 20  # webhooks are small; refuse anything larger than 1 MiB


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: str = ""


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode())

    @classmethod
    def json(cls, data: bytes | str, status: int = 200) -> Response:
        return cls(status, data.encode() if isinstance(data, str) else data, "application/json")


Handler = Callable[[Request], Awaitable[Response]]


class HttpApp:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        self._routes[(method.upper(), path)] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        handler = self._routes.get((method, path))
        if handler is None:
            allowed = any(route_path == path for _, route_path in self._routes)
            response = (
                Response.text("method not allowed", 405) if allowed else Response.text("not found", 404)
            )
        else:
            body = await _read_body(receive)
            if body is None:
                response = Response.text("payload too large", 413)
            else:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                request = Request(method, path, headers, body, scope.get("query_string", b"").decode())
                response = await handler(request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(b"content-type", response.content_type.encode())]
                + [(k.encode(), v.encode()) for k, v in response.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def ops_app(runtime: Runtime[Any, Any]) -> HttpApp:
    """/healthz (the service's own health checks), /readyz (also NATS and Redis answer), /metrics, and the routes
    the service declared."""
    app = HttpApp()
    context = runtime.context

    def alive() -> bool:
        return all(check(context) for check in runtime.service.health_checks)

    async def healthz(_: Request) -> Response:
        return Response.text("ok") if alive() else Response.text("unhealthy", 503)

    async def readyz(_: Request) -> Response:
        try:
            connected = runtime.bus.connected and bool(await runtime.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means not ready
            connected = False
        return Response.text("ready") if connected and alive() else Response.text("not ready", 503)

    async def metrics(_: Request) -> Response:
        return Response(200, generate_latest(), CONTENT_TYPE_LATEST)

    app.add("GET", "/healthz", healthz)
    app.add("GET", "/readyz", readyz)
    app.add("GET", "/metrics", metrics)
    for route in runtime.service.routes:
        app.add(route.method, route.path, _bound(route.handler, context))
    return app


def _bound(handler: Callable[[Request, Any], Awaitable[Response]], context: Any) -> Handler:
    async def bound(request: Request) -> Response:
        return await handler(request, context)

    return bound


@contextlib.asynccontextmanager
async def serving(app: HttpApp, host: str, port: int) -> AsyncIterator[None]:
    """Serve `app` on host:port while inside the block."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.01)
    if task.done():
        await task  # raises why it could not start (e.g. the port is taken)
    try:
        yield
    finally:
        server.should_exit = True
        await task
