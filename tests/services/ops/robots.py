"""Local stand-ins for the alert platforms: HTTP servers speaking each robot's documented protocol, checking the
payload's shape and the signature as the platform would, and recording what they accepted. Plus an SMTP server
(aiosmtpd) for e-mail."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from tools.servers import free_port

WECOM_KEY = "wecom-key-7f3a"
DINGTALK_TOKEN = "ding-token-91b2"
DINGTALK_SECRET = "SECdingsecret0123456789"
FEISHU_HOOK = "feishu-hook-44c1"
FEISHU_SECRET = "feishu-secret-abc"
SERVERCHAN_KEY = "SCT12345Tabcdef"
WEBHOOK_SECRET = "generic-secret-xyz"


@dataclass
class Received:
    robot: str
    payload: Any


@dataclass
class Robots:
    """One HTTP server for all robots (each on its own path), as the platforms' hosts would be."""

    url: str = ""
    accepted: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    fail_next: int = 0
    """Answer the next N requests with HTTP 503 (a platform outage)."""

    def of(self, robot: str) -> list[Any]:
        return [item.payload for item in self.accepted if item.robot == robot]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        if self.fail_next:
            self.fail_next -= 1
            await _answer(send, 503, {"error": "try later"})
            return
        robot, answer = self.judge(scope["path"], query, headers, body)
        ok = answer.get("errcode", answer.get("code", 0)) == 0
        (self.accepted if ok else self.refused).append(Received(robot, self.payload_of(robot, body)))
        # The generic receiver answers like any web app (a status code); the robots answer 200 with an error code.
        await _answer(send, 401 if robot == "webhook" and not ok else 200, answer)

    @staticmethod
    def payload_of(robot: str, body: bytes) -> Any:
        if robot == "serverchan":
            return {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        return json.loads(body) if body else None

    def judge(
        self, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[str, dict[str, Any]]:
        if path == "/cgi-bin/webhook/send":
            payload = json.loads(body)
            if query.get("key") != WECOM_KEY:
                return "wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}
            if payload.get("msgtype") != "markdown" or not payload["markdown"].get("content"):
                return "wecom", {"errcode": 40008, "errmsg": "invalid message type"}
            if len(payload["markdown"]["content"].encode()) > 4096:
                return "wecom", {"errcode": 40058, "errmsg": "content exceed max length"}
            return "wecom", {"errcode": 0, "errmsg": "ok"}
        if path == "/robot/send":
            payload = json.loads(body)
            if query.get("access_token") != DINGTALK_TOKEN:
                return "dingtalk", {"errcode": 300001, "errmsg": "token is not exist"}
            stamp = query.get("timestamp", "0")
            expected = base64.b64encode(
                hmac.new(
                    DINGTALK_SECRET.encode(), f"{stamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            # parse_qs already URL-decoded `sign` once, as the platform does.
            if query.get("sign") != expected or abs(time.time() * 1000 - int(stamp)) > 3600_000:
                return "dingtalk", {"errcode": 310000, "errmsg": "sign not match"}
            if payload.get("msgtype") != "markdown" or not {"title", "text"} <= set(payload["markdown"]):
                return "dingtalk", {"errcode": 40035, "errmsg": "missing parameter"}
            return "dingtalk", {"errcode": 0, "errmsg": "ok"}
        if path == f"/open-apis/bot/v2/hook/{FEISHU_HOOK}":
            payload = json.loads(body)
            stamp = str(payload.get("timestamp", ""))
            expected = base64.b64encode(
                hmac.new(f"{stamp}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256).digest()
            ).decode()
            if payload.get("sign") != expected or abs(time.time() - int(stamp or 0)) > 3600:
                return "feishu", {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
            if payload.get("msg_type") != "text" or not payload.get("content", {}).get("text"):
                return "feishu", {"code": 9499, "msg": "Bad Request"}
            return "feishu", {"code": 0, "msg": "success", "data": {}}
        if path == f"/{SERVERCHAN_KEY}.send":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if not form.get("title"):
                return "serverchan", {"code": 40001, "message": "bad title"}
            return "serverchan", {"code": 0, "message": "", "data": {"pushid": "1"}}
        if path == "/hooks/qunbus":
            stamp = headers.get("x-qunbus-timestamp", "")
            expected = hmac.new(
                WEBHOOK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
            if headers.get("x-qunbus-signature") != f"sha256={expected}":
                return "webhook", {"code": 401, "error": "bad signature"}
            return "webhook", {}
        return "unknown", {"code": 404}

    def settings(self) -> dict[str, Any]:
        """OPS_* settings pointing every channel at this server."""
        return {
            "webhook_url": f"{self.url}/hooks/qunbus",
            "webhook_secret": WEBHOOK_SECRET,
            "wecom_webhook_url": f"{self.url}/cgi-bin/webhook/send?key={WECOM_KEY}",
            "dingtalk_webhook_url": f"{self.url}/robot/send?access_token={DINGTALK_TOKEN}",
            "dingtalk_secret": DINGTALK_SECRET,
            "feishu_webhook_url": f"{self.url}/open-apis/bot/v2/hook/{FEISHU_HOOK}",
            "feishu_secret": FEISHU_SECRET,
            "serverchan_sendkey": SERVERCHAN_KEY,
            "serverchan_url": self.url,
        }


async def _answer(send: Any, status: int, data: Any) -> None:
    body = json.dumps(data).encode()
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def serving_robots() -> AsyncIterator[Robots]:
    robots = Robots()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(robots, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    robots.url = f"http://127.0.0.1:{port}"
    try:
        yield robots
    finally:
        server.should_exit = True
        await task


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@asynccontextmanager
async def serving_mailbox() -> AsyncIterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    await asyncio.to_thread(controller.start)
    try:
        yield mailbox
    finally:
        await asyncio.to_thread(controller.stop)
