"""The simulator's HTTP API and page: a small hand-written ASGI app served by uvicorn.

The API (documented in README.md next to this file) is the one the page, the terminal chat and the tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import uvicorn

from services.simulator.world import (
    ChatMessage,
    FriendRequest,
    FriendshipRequested,
    Invitation,
    InvitationSent,
    Member,
    MembersJoined,
    MembersLeft,
    MessagePosted,
    NotPermittedError,
    Person,
    RoomView,
    SimulatorWorld,
    TopicChanged,
    UnknownContactError,
    UnknownMessageError,
    UnknownRoomError,
    WorldError,
    WorldEvent,
)

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
AsgiMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[AsgiMessage]]
Send = Callable[[AsgiMessage], Awaitable[None]]

STATIC_DIR = Path(__file__).parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: A comment line keeps idle SSE connections open through proxies.
KEEPALIVE_SECONDS = 15.0
#: How long the admin panel waits for the launcher's data source.
ADMIN_TIMEOUT_SECONDS = 3.0
JSON_TYPE = "application/json; charset=utf-8"
#: Image types the page shows inline (SVG is not one: it can carry script).
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


# --------------------------------------------------------------------------------------------------------------------
# JSON shapes


def person_json(person: Person) -> dict[str, Any]:
    return asdict(person)


def member_json(member: Member) -> dict[str, Any]:
    return {**asdict(member), "display_name": member.display_name}


def room_json(room: RoomView) -> dict[str, Any]:
    return {
        "id": room.id,
        "topic": room.topic,
        "owner_id": room.owner_id,
        "admin_ids": list(room.admin_ids),
        "member_count": len(room.members),
        "members": [member_json(member) for member in room.members],
    }


def message_json(message: ChatMessage) -> dict[str, Any]:
    data = {**asdict(message), "mention_ids": list(message.mention_ids)}
    if message.file is not None:
        data["file"] = {**asdict(message.file), "url": f"/api/files/{quote(message.id)}"}
    return data


def friend_request_json(request: FriendRequest) -> dict[str, Any]:
    return asdict(request)


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return asdict(invitation)


# --------------------------------------------------------------------------------------------------------------------
# Requests and responses


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise HttpError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise HttpError(400, "the body must be a JSON object")
        return data


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, data: object, status: int = 200) -> Response:
        return cls(status, json.dumps(data, ensure_ascii=False, default=str).encode())


def text_field(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise HttpError(400, f"'{name}' must be a non-empty string")
    return value


def id_list(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise HttpError(400, f"'{name}' must be a list of ids")
    return value


def status_of(error: WorldError) -> int:
    if isinstance(error, UnknownRoomError | UnknownContactError | UnknownMessageError):
        return 404
    if isinstance(error, NotPermittedError):
        return 403
    return 409


Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class Router:
    routes: list[Route] = field(default_factory=list)

    def add(self, method: str, template: str, handler: Handler) -> None:
        """`template` uses {name} for a path segment."""
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append(Route(method, re.compile(f"^{pattern}$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route.handler, found.groupdict()
            allowed = True
        raise HttpError(405 if allowed else 404, f"{method} {path} is not part of the API")


# --------------------------------------------------------------------------------------------------------------------
# The app


class SimulatorApp:
    """ASGI app over a world. `closing` ends the live streams so that the server can stop promptly."""

    def __init__(self, world: SimulatorWorld, host: str = "127.0.0.1") -> None:
        self.world = world
        self.host = host
        self.closing = asyncio.Event()
        self.router = Router()
        add = self.router.add
        add("GET", "/", self.index)
        add("GET", "/static/{name}", self.static)
        add("GET", "/api/world", self.get_world)
        add("GET", "/api/rooms", self.list_rooms)
        add("GET", "/api/rooms/{room_id}", self.get_room)
        add("POST", "/api/rooms/{room_id}/messages", self.speak_in_room)
        add("POST", "/api/rooms/{room_id}/members", self.join_room)
        add("DELETE", "/api/rooms/{room_id}/members/{contact_id}", self.leave_room)
        add("PUT", "/api/rooms/{room_id}/topic", self.change_topic)
        add("GET", "/api/contacts", self.list_contacts)
        add("POST", "/api/contacts/{contact_id}/messages", self.direct_message)
        add("GET", "/api/messages", self.list_messages)
        add("GET", "/api/friendships", self.list_friendships)
        add("POST", "/api/friendships", self.request_friendship)
        add("GET", "/api/invitations", self.list_invitations)
        add("POST", "/api/invitations/{invitation_id}/accept", self.accept_invitation)
        add("GET", "/api/admin", self.admin)
        add("GET", "/api/files/{message_id}", self.get_file)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets are not used
        if not is_known_host(parse_headers(scope).get("host"), self.host):
            await _send(
                send, Response.json({"error": "unknown host name: open the page by its address"}, 403)
            )
            return
        if scope["path"] == "/api/stream" and scope["method"] == "GET":
            await self.stream(scope, receive, send)
            return
        await _send(send, await self.respond(scope, receive))

    async def respond(self, scope: Scope, receive: Receive) -> Response:
        try:
            handler, params = self.router.match(scope["method"], scope["path"])
            request = Request(
                method=scope["method"],
                path=scope["path"],
                params=params,
                query=parse_query(scope),
                headers=parse_headers(scope),
                body=await read_body(receive),
            )
            refuse_cross_origin_writes(request)
            return await handler(request)
        except HttpError as error:
            return Response.json({"error": str(error)}, error.status)
        except WorldError as error:
            return Response.json({"error": str(error)}, status_of(error))

    # ----------------------------------------------------------------------------------------------------------------
    # Page

    async def index(self, request: Request) -> Response:
        return static_file("index.html")

    async def static(self, request: Request) -> Response:
        return static_file(request.params["name"])

    # ----------------------------------------------------------------------------------------------------------------
    # Reading the world

    async def get_world(self, request: Request) -> Response:
        world = self.world
        return Response.json(
            {
                "bot": {"id": world.bot_id, "name": world.bot_name},
                "rooms": [room_json(room) for room in world.rooms()],
                "contacts": [person_json(person) for person in world.contacts()],
                "admin_connected": world.admin_source is not None,
            }
        )

    async def list_rooms(self, request: Request) -> Response:
        return Response.json([room_json(room) for room in self.world.rooms()])

    async def get_room(self, request: Request) -> Response:
        return Response.json(room_json(self.world.room(request.params["room_id"])))

    async def list_contacts(self, request: Request) -> Response:
        return Response.json([person_json(person) for person in self.world.contacts()])

    async def list_messages(self, request: Request) -> Response:
        query = request.query
        from_bot = {"true": True, "false": False}.get(query.get("from_bot", "").lower())
        messages = self.world.messages(
            room_id=query.get("room_id"),
            contact_id=query.get("contact_id"),
            after=int_param(query, "after", 0),
            from_bot=from_bot,
        )
        limit = int_param(query, "limit", 0)
        if limit > 0:
            messages = messages[-limit:]
        return Response.json([message_json(message) for message in messages])

    async def list_friendships(self, request: Request) -> Response:
        return Response.json([friend_request_json(item) for item in self.world.friend_requests()])

    async def list_invitations(self, request: Request) -> Response:
        return Response.json([invitation_json(item) for item in self.world.invitations()])

    # ----------------------------------------------------------------------------------------------------------------
    # Acting as people

    async def speak_in_room(self, request: Request) -> Response:
        data = request.json()
        style = data.get("quote_style", "current")
        if style not in ("current", "legacy"):
            raise HttpError(400, "'quote_style' is 'current' or 'legacy'")
        message = self.world.say(
            request.params["room_id"],
            str(text_field(data, "talker_id")),
            str(text_field(data, "text")),
            mention_ids=id_list(data, "mention_ids"),
            quote_id=text_field(data, "quote_id", required=False),
            quote_style=style,
        )
        return Response.json(message_json(message), 201)

    async def direct_message(self, request: Request) -> Response:
        text = str(text_field(request.json(), "text"))
        message = self.world.direct_message(request.params["contact_id"], text)
        return Response.json(message_json(message), 201)

    async def join_room(self, request: Request) -> Response:
        data = request.json()
        member = self.world.join(
            request.params["room_id"],
            contact_id=text_field(data, "contact_id", required=False),
            name=text_field(data, "name", required=False),
            inviter_id=text_field(data, "inviter_id", required=False),
        )
        return Response.json(member_json(member), 201)

    async def leave_room(self, request: Request) -> Response:
        room_id = request.params["room_id"]
        self.world.leave(room_id, request.params["contact_id"], remover_id=request.query.get("remover_id"))
        return Response.json(room_json(self.world.room(room_id)))

    async def change_topic(self, request: Request) -> Response:
        data = request.json()
        room_id = request.params["room_id"]
        self.world.change_topic(
            room_id, str(text_field(data, "topic")), changer_id=str(text_field(data, "changer_id"))
        )
        return Response.json(room_json(self.world.room(room_id)))

    async def request_friendship(self, request: Request) -> Response:
        data = request.json()
        friend_request = self.world.request_friendship(
            contact_id=text_field(data, "contact_id", required=False),
            name=text_field(data, "name", required=False),
            hello=text_field(data, "hello", required=False) or "",
        )
        return Response.json(friend_request_json(friend_request), 201)

    async def accept_invitation(self, request: Request) -> Response:
        member = self.world.accept_invitation(request.params["invitation_id"])
        return Response.json(member_json(member))

    async def get_file(self, request: Request) -> Response:
        """An image or file the bot sent. Images the page shows inline; anything else only downloads (a file
        named .html must not run as this page's script)."""
        sent, data = self.world.file_data(request.params["message_id"])
        inline = sent.mime_type in INLINE_IMAGES
        disposition = "inline" if inline else f"attachment; filename*=UTF-8''{quote(sent.name)}"
        return Response(
            200,
            data,
            sent.mime_type if inline else "application/octet-stream",
            headers=(("content-disposition", disposition), ("x-content-type-options", "nosniff")),
        )

    # ----------------------------------------------------------------------------------------------------------------
    # Admin panel

    async def admin(self, request: Request) -> Response:
        source = self.world.admin_source
        if source is None:
            return Response.json(
                {"connected": False, "reason": "no admin source (run the simulator via make demo)"}
            )
        try:
            snapshot = await asyncio.wait_for(source(), ADMIN_TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 - the launcher's source may fail any way; the panel shows why
            log.warning("admin source failed: %r", error)
            return Response.json({"connected": False, "reason": f"admin source failed: {error!r}"})
        return Response.json({"connected": True, **snapshot})

    # ----------------------------------------------------------------------------------------------------------------
    # Live stream (server-sent events)

    async def stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Messages (`event: message`, `id:` = seq) from `?after=` or Last-Event-ID on, then live; `event: room`
        when a room's members or topic change; `event: friendship` for friend requests."""
        query, headers = parse_query(scope), parse_headers(scope)
        after = int_param({"after": headers.get("last-event-id", query.get("after", "0"))}, "after", 0)
        frames: asyncio.Queue[str] = asyncio.Queue()
        unsubscribe = self.world.subscribe(lambda event: self._queue_frame(frames, event))
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(wait_for_disconnect(receive, disconnected))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            backlog = "".join(message_frame(message) for message in self.world.messages(after=after))
            await send(
                {
                    "type": "http.response.body",
                    "body": f"retry: 2000\n\n{backlog}".encode(),
                    "more_body": True,
                }
            )
            while (frame := await next_frame(frames, disconnected, self.closing)) is not None:
                await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            unsubscribe()
            watcher.cancel()

    def _queue_frame(self, frames: asyncio.Queue[str], event: WorldEvent) -> None:
        match event:
            case MessagePosted(message=message):
                frames.put_nowait(message_frame(message))
            case (
                MembersJoined(room_id=room_id) | MembersLeft(room_id=room_id) | TopicChanged(room_id=room_id)
            ):
                frames.put_nowait(sse_frame("room", room_json(self.world.room(room_id))))
            case InvitationSent(invitation=invitation):
                frames.put_nowait(sse_frame("invitation", invitation_json(invitation)))
            case FriendshipRequested(request=request):
                frames.put_nowait(sse_frame("friendship", friend_request_json(request)))


async def _send(send: Send, response: Response) -> None:
    headers = [(b"content-type", response.content_type.encode()), (b"cache-control", b"no-store")]
    headers += [(name.encode(), value.encode()) for name, value in response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def is_known_host(host_header: str | None, served_as: str) -> bool:
    """Against DNS rebinding: a page on another site, under a name of its own made to resolve to this machine, would
    be same-origin with the simulator and pass every check below. Only IP addresses, `localhost` and the host name
    the simulator was started with are answered (a request without a Host header comes from no browser)."""
    if not host_header:
        return True
    name = urlsplit(f"//{host_header}").hostname or ""
    if name in {"localhost", served_as.lower()} or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: What a page on another site may send without asking first (no CORS preflight): refused as a write's body.
_SIMPLE_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")


def refuse_cross_origin_writes(request: Request) -> None:
    """Only this page, the terminal chat and programs may change the world; another site the user visits may not.

    A browser tells where a request comes from (`Origin`, `Sec-Fetch-Site`): a write from another origin is refused.
    A write's body must be JSON declared as such: a browser sends that cross-origin only after a preflight this server
    never approves, while `text/plain` or form bodies could be posted from any page without one.
    """
    if request.method not in _WRITES:
        return
    headers = request.headers
    origin = headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1].rstrip("/") != headers.get("host", ""):
        raise HttpError(403, "cross-origin writes are refused")
    if headers.get("sec-fetch-site") not in {None, "same-origin", "none"}:
        raise HttpError(403, "cross-site writes are refused")
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type.startswith(_SIMPLE_TYPES) or (request.body and content_type != "application/json"):
        raise HttpError(415, "a write's body must be JSON with content-type: application/json")


def sse_frame(event: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def message_frame(message: ChatMessage) -> str:
    return sse_frame("message", message_json(message), message.seq)


async def next_frame(frames: asyncio.Queue[str], *stops: asyncio.Event) -> str | None:
    """The next frame, a keep-alive comment after a quiet while, or None once any of `stops` is set."""
    getter = asyncio.ensure_future(frames.get())
    stoppers = [asyncio.ensure_future(stop.wait()) for stop in stops]
    done, pending = await asyncio.wait(
        [getter, *stoppers], timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    if getter in done:
        return getter.result()
    if done:
        return None
    return ": keep-alive\n\n"


async def wait_for_disconnect(receive: Receive, disconnected: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    disconnected.set()


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_query(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}


def parse_headers(scope: Scope) -> dict[str, str]:
    return {name.decode().lower(): value.decode() for name, value in scope.get("headers", [])}


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"'{name}' must be an integer") from None


def static_file(name: str) -> Response:
    path = STATIC_DIR / name
    # Only files directly in static/ are served, so no path can climb out of it.
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in CONTENT_TYPES:
        raise HttpError(404, f"no page {name}")
    return Response(200, path.read_bytes(), CONTENT_TYPES[path.suffix])


# --------------------------------------------------------------------------------------------------------------------
# Serving


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process (the demo launcher or the tests)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def serving(world: SimulatorWorld, host: str = "127.0.0.1", port: int = 8700) -> AsyncIterator[str]:
    """Serve the API and page while the block runs; yields the base URL (port 0 picks a free port)."""
    app = SimulatorApp(world, host)
    config = uvicorn.Config(app, host=host, port=port, lifespan="off", log_level="warning", access_log=False)
    server = _EmbeddedServer(config)
    # Bind here so that a taken port raises OSError to the caller (uvicorn itself would call sys.exit).
    listener = socket.create_server((host, port), reuse_port=False)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the simulator's HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{listener.getsockname()[1]}"
    finally:
        app.closing.set()
        server.should_exit = True
        await task
        listener.close()


async def serve(world: SimulatorWorld, host: str = "127.0.0.1", port: int = 8700) -> None:
    """Serve until cancelled."""
    async with serving(world, host, port) as url:
        log.info("simulator page and API on %s", url)
        await asyncio.Event().wait()
