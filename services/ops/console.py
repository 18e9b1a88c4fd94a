"""The operators' console: a page (plain HTML/JS under static/, no build step) and the JSON API it, `qunctl` users
with a URL, and the tests use. Every API call needs `Authorization: Bearer <token>`: OPS_CONSOLE_TOKEN reads,
OPS_CONSOLE_WRITE_TOKEN also writes (broadcasts, cancel, dead-letter replay). Without a token configured the
console answers 404 to everything. The page itself holds no data; it asks for the token and keeps it in the tab.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from services.ops import deadletters
from services.ops.broadcast import BroadcastError, Image, Selection
from services.ops.operations import Operations
from services.ops.settings import OpsSettings
from services.shared.http import Request, Response

log = logging.getLogger("qunbus.ops.console")

STATIC = Path(__file__).parent / "static"
PREFIX = "/ops"
Access = Literal["read", "write"]
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        status,
        json.dumps(data, ensure_ascii=False, default=str).encode(),
        "application/json; charset=utf-8",
        {"cache-control": "no-store"},
    )


def access_of(settings: OpsSettings, headers: dict[str, str]) -> Access | None:
    """Which rights the bearer token grants (constant-time comparisons), or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    offered = token.strip().encode()
    write = settings.console_write_token
    if write is not None and hmac.compare_digest(offered, write.get_secret_value().encode()):
        return "write"
    read = settings.console_token
    if read is not None and hmac.compare_digest(offered, read.get_secret_value().encode()):
        return "read"
    return None


def _query(request: Request) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(request.query).items()}


def _body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise ApiError(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"not an ISO time: {value!r}") from None
    if moment.tzinfo is None:
        raise ApiError(400, f"give the time with its offset: {value!r}")
    return moment


def dlq_filter(params: dict[str, Any]) -> deadletters.Filter:
    seqs = params.get("seqs") or []
    if isinstance(seqs, str):
        seqs = [part for part in seqs.split(",") if part]
    try:
        sequences = tuple(int(seq) for seq in seqs)
    except (TypeError, ValueError):
        raise ApiError(400, "seqs are numbers") from None
    return deadletters.Filter(
        service=params.get("service") or None,
        subject=params.get("subject") or None,
        since=_time(params.get("since")),
        until=_time(params.get("until")),
        sequences=sequences,
    )


PAGES = {
    PREFIX: "index.html",
    f"{PREFIX}/": "index.html",
    f"{PREFIX}/app.js": "app.js",
    f"{PREFIX}/style.css": "style.css",
}
API: dict[tuple[str, str], tuple[Access, str]] = {
    ("GET", f"{PREFIX}/api/overview"): ("read", "overview"),
    ("GET", f"{PREFIX}/api/rooms"): ("read", "rooms"),
    ("GET", f"{PREFIX}/api/deadletters"): ("read", "dead_letters"),
    ("GET", f"{PREFIX}/api/deadletter"): ("read", "dead_letter"),
    ("POST", f"{PREFIX}/api/deadletters/replay"): ("write", "replay"),
    ("GET", f"{PREFIX}/api/broadcasts"): ("read", "broadcasts"),
    ("GET", f"{PREFIX}/api/broadcast"): ("read", "broadcast"),
    ("POST", f"{PREFIX}/api/broadcasts"): (
        "read",
        "send_broadcast",
    ),  # a dry run needs only read; sending: write
    ("POST", f"{PREFIX}/api/broadcast/cancel"): ("write", "cancel_broadcast"),
    ("GET", f"{PREFIX}/api/qr"): ("read", "qr"),
}
ROUTES: list[tuple[str, str]] = [("GET", path) for path in PAGES] + list(API)
"""Every (method, path) the console answers."""


def _static(name: str) -> Response:
    data = (STATIC / name).read_bytes()
    return Response(200, data, _TYPES[Path(name).suffix], {"cache-control": "no-store"})


def _refusal(needed: Access, access: Access | None) -> Response | None:
    if access is None:
        return _json({"error": "a valid bearer token is needed"}, 401)
    if needed == "write" and access != "write":
        return _json({"error": "this needs the write token"}, 403)
    return None


class Console:
    def __init__(self, settings: OpsSettings, operations: Operations) -> None:
        self.settings = settings
        self.ops = operations

    @property
    def enabled(self) -> bool:
        return self.settings.console_token is not None or self.settings.console_write_token is not None

    async def handle(self, method: str, path: str, request: Request) -> Response:
        """Answer one request to a path of ROUTES."""
        if not self.enabled:
            return Response.text("not found", 404)
        if path in PAGES:
            return _static(PAGES[path])
        needed, name = API[(method, path)]
        access = access_of(self.settings, request.headers)
        refusal = _refusal(needed, access)
        if refusal is not None or access is None:
            return refusal or _json({"error": "a valid bearer token is needed"}, 401)
        handler: Callable[[Request, Access], Awaitable[Any]] = getattr(self, name)
        try:
            result = await handler(request, access)
        except ApiError as error:
            return _json({"error": str(error)}, error.status)
        except BroadcastError as error:
            return _json({"error": str(error)}, 400)
        return result if isinstance(result, Response) else _json(result)

    # -- reading -----------------------------------------------------------------------------------------------

    async def overview(self, _: Request, access: Access) -> dict[str, Any]:
        return {**await self.ops.overview(), "access": access}

    async def rooms(self, request: Request, _: Access) -> list[dict[str, Any]]:
        return await self.ops.rooms(_query(request).get("bot") or None)

    async def dead_letters(self, request: Request, _: Access) -> list[dict[str, Any]]:
        params = _query(request)
        try:
            limit = min(500, int(params.get("limit", "100")))
        except ValueError:
            raise ApiError(400, "limit is a number") from None
        return await self.ops.dead_letters(dlq_filter(params), limit)

    async def dead_letter(self, request: Request, _: Access) -> dict[str, Any]:
        try:
            seq = int(_query(request).get("seq", ""))
        except ValueError:
            raise ApiError(400, "seq is a number") from None
        letter = await self.ops.dead_letter(seq)
        if letter is None:
            raise ApiError(404, f"no dead letter {seq}")
        return letter

    async def broadcasts(self, _: Request, __: Access) -> list[dict[str, Any]]:
        return await self.ops.broadcasts()

    async def broadcast(self, request: Request, _: Access) -> dict[str, Any]:
        found = await self.ops.broadcast(_query(request).get("id", ""))
        if found is None:
            raise ApiError(404, "no such broadcast")
        return found

    async def qr(self, request: Request, _: Access) -> Response:
        svg = await self.ops.qr_svg(_query(request).get("bot", ""))
        if svg is None:
            return Response.text("no QR code to scan", 404)
        return Response(200, svg, "image/svg+xml", {"cache-control": "no-store"})

    # -- writing -----------------------------------------------------------------------------------------------

    async def replay(self, request: Request, _: Access) -> list[dict[str, Any]]:
        body = _body(request)
        selection = dlq_filter(body)
        if not selection.sequences:
            raise ApiError(400, "name the dead letters to replay (seqs)")
        results = await self.ops.replay(selection, remove=bool(body.get("remove")))
        return [result.to_json() for result in results]

    async def send_broadcast(self, request: Request, access: Access) -> dict[str, Any]:
        body = _body(request)
        dry_run = bool(body.get("dry_run"))
        if not dry_run and access != "write":
            raise ApiError(403, "sending needs the write token (a dry run does not)")
        rooms = body.get("rooms") or []
        if not isinstance(rooms, list) or not all(isinstance(room, str) for room in rooms):
            raise ApiError(400, "rooms is a list of room ids")
        selection = Selection(
            room_ids=tuple(rooms),
            topic=str(body.get("match") or ""),
            list_name=str(body.get("list") or ""),
            bot_id=str(body.get("bot") or ""),
        )
        image = None
        data = None
        if body.get("image_base64"):
            try:
                data = base64.b64decode(str(body["image_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(400, "image_base64 is not base64") from None
            image = Image.of(str(body.get("image_name") or "image"), data)
        text = str(body.get("text") or "")
        if dry_run:
            return {"dry_run": True, "recipients": [asdict(r) for r in await self.ops.recipients(selection)]}
        created = await self.ops.create_broadcast(selection, text, image, data, created_by="console")
        log.info("broadcast %s created from the console for %d rooms", created.id, len(created.recipients))
        return {"id": created.id, "recipients": [asdict(r) for r in created.recipients]}

    async def cancel_broadcast(self, request: Request, _: Access) -> dict[str, Any]:
        broadcast_id = str(_body(request).get("id") or _query(request).get("id", ""))
        if not await self.ops.cancel_broadcast(broadcast_id):
            raise ApiError(404, "no such broadcast")
        return {"id": broadcast_id, "cancelled": True}
