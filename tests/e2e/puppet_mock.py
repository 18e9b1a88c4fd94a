"""The official Wechaty peer for end-to-end tests.

`tests/puppet_mock/server.mjs` runs the official TypeScript PuppetServer (`wechaty-puppet-service`, TLS off)
over a `wechaty-puppet-mock` world, plus an HTTP control channel. `PuppetMockWorld` starts that process on
free ports with a fresh token, scripts the world (members speak, join, leave, ask for friendship) and reads
what the bot did in it (messages sent, members removed or added, friendships accepted).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

PUPPET_MOCK_DIR = Path(__file__).resolve().parents[1] / "puppet_mock"
SERVER_SCRIPT = PUPPET_MOCK_DIR / "server.mjs"
NPM_CI_TIMEOUT_S = 300.0
START_TIMEOUT_S = 30.0
_START_ATTEMPTS = 3

# WeChat separates an @-mention from the following text with U+2005 (four-per-em space).
MENTION_SEPARATOR = "\u2005"
QUOTE_SEPARATOR = "- - - - - - - - - - - - - - -"


def mention(name: str) -> str:
    """`@name` as WeChat writes it into the message text."""
    return f"@{name}{MENTION_SEPARATOR}"


def quoted_reply(quoted_name: str, quoted_text: str, reply: str) -> str:
    """A quoted reply as WeChat delivers it: the quoted message on top, a separator, then the reply."""
    return f"「{quoted_name}：{quoted_text}」\n{QUOTE_SEPARATOR}\n{reply}"


def ensure_node_modules() -> None:
    """Install the pinned packages from package-lock.json (`npm ci`) unless node_modules is up to date."""
    lock = PUPPET_MOCK_DIR / "package-lock.json"
    installed = PUPPET_MOCK_DIR / "node_modules" / ".package-lock.json"  # npm's record of what it installed
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    assert npm is not None, "call tests.peers.require_node() first"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=PUPPET_MOCK_DIR,
        check=True,
        timeout=NPM_CI_TIMEOUT_S,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent into the mock world."""

    id: str
    room_id: str | None
    listener_id: str | None
    text: str
    mention_ids: tuple[str, ...]
    at: float
    """When the peer received it (seconds since the epoch)."""


@dataclass(frozen=True)
class SentFile:
    """An image or file the bot sent into the mock world, as the peer decoded it."""

    room_id: str | None
    listener_id: str | None
    name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Membership:
    """A member the bot removed from, added to, or invited into a room."""

    room_id: str
    contact_id: str


@dataclass(frozen=True)
class TopicChange:
    """A room the bot renamed."""

    room_id: str
    topic: str


@dataclass(frozen=True)
class Observed:
    """Everything the bot did to the mock world so far, in order."""

    sent: tuple[SentMessage, ...]
    removed: tuple[Membership, ...]
    added: tuple[Membership, ...]
    invited: tuple[Membership, ...]
    accepted_friendship_ids: tuple[str, ...]
    topics: tuple[TopicChange, ...]
    files: tuple[SentFile, ...] = ()

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Observed:
        def memberships(key: str) -> tuple[Membership, ...]:
            return tuple(Membership(room_id=m["roomId"], contact_id=m["contactId"]) for m in raw[key])

        return cls(
            sent=tuple(
                SentMessage(
                    id=m["id"],
                    room_id=m["roomId"],
                    listener_id=m["listenerId"],
                    text=m["text"],
                    mention_ids=tuple(m["mentionIds"]),
                    at=m["timestamp"] / 1000,
                )
                for m in raw["sent"]
            ),
            removed=memberships("removed"),
            added=memberships("added"),
            invited=memberships("invited"),
            accepted_friendship_ids=tuple(f["friendshipId"] for f in raw["acceptedFriendships"]),
            topics=tuple(TopicChange(room_id=t["roomId"], topic=t["topic"]) for t in raw["topics"]),
            files=tuple(
                SentFile(
                    room_id=f["roomId"],
                    listener_id=f["listenerId"],
                    name=f["name"],
                    media_type=f["mediaType"],
                    size=f["size"],
                    sha256=f["sha256"],
                )
                for f in raw.get("files", [])
            ),
        )


class PuppetMockError(RuntimeError):
    """The control channel refused a request (unknown id, bad argument) or the server died."""


class PuppetMockWorld:
    """A running official peer. Create with `PuppetMockWorld.started()`."""

    def __init__(self, *, grpc_port: int, token: str, bot_id: str, bot_name: str, log: IO[bytes]) -> None:
        self.grpc_port = grpc_port
        self.token = token
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.log_path = Path(log.name)
        self._log = log
        self._process: asyncio.subprocess.Process | None = None
        self._http = httpx.AsyncClient(timeout=10)

    @property
    def endpoint(self) -> str:
        """`WECHATY_PUPPET_SERVICE_ENDPOINT` for a client of this peer."""
        return f"127.0.0.1:{self.grpc_port}"

    @classmethod
    @asynccontextmanager
    async def started(
        cls, *, bot_id: str = "qunbus-bot", bot_name: str = "QunBot"
    ) -> AsyncIterator[PuppetMockWorld]:
        token = f"insecure_qunbus_{secrets.token_hex(8)}"
        log_path, log = _open_log()
        world = cls(grpc_port=free_port(), token=token, bot_id=bot_id, bot_name=bot_name, log=log)
        try:
            for attempt in range(_START_ATTEMPTS):
                try:
                    await world.start_server()
                    break
                except PuppetMockError:
                    # The free port may have been taken between probing and binding: try another one.
                    await world.stop_server()
                    if attempt == _START_ATTEMPTS - 1:
                        raise
                    world.grpc_port = free_port()
            yield world
        finally:
            await world.stop_server()
            await world._http.aclose()
            _close_log(log_path, log)

    async def start_server(self) -> None:
        """Start the server (again) on the same gRPC port and token, with a new, empty world."""
        if self._process is not None:
            raise PuppetMockError("the server is already running")
        self._process = await _spawn(self.grpc_port, self.token, self.bot_id, self.bot_name, self._log)
        control_port = await _read_listening_line(self._process, self.log_path)
        self._http.base_url = httpx.URL(f"http://127.0.0.1:{control_port}")

    async def stop_server(self) -> None:
        """Stop the server: for its clients, the puppet service went away. The world is gone with it."""
        process, self._process = self._process, None
        if process is not None:
            await _stop(process)

    # -- scripting the world --------------------------------------------------------------------------------

    async def create_contacts(self, *people: tuple[str, str]) -> None:
        """Create contacts from (id, name) pairs. Ids must not contain "@" (that marks a room)."""
        await self._post("/contacts", {"contacts": [{"id": cid, "name": name} for cid, name in people]})

    async def create_room(
        self,
        room_id: str,
        *,
        topic: str,
        member_ids: Sequence[str],
        owner_id: str | None = None,
        admin_ids: Sequence[str] = (),
        aliases: dict[str, str] | None = None,
        include_bot: bool = True,
    ) -> str:
        """Create a room (the bot is a member unless include_bot=False); returns its id (`...@chatroom`)."""
        room = await self._post(
            "/rooms",
            {
                "id": room_id,
                "topic": topic,
                "memberIds": list(member_ids),
                "ownerId": owner_id,
                "adminIds": list(admin_ids),
                "aliases": aliases or {},
                "includeBot": include_bot,
            },
        )
        created: str = room["id"]
        return created

    async def say_in_room(
        self, talker_id: str, room_id: str, text: str, *, mention_ids: Sequence[str] = ()
    ) -> str:
        """A member writes into a room; returns the message id. Put `mention(name)` into the text too."""
        sent = await self._post(
            "/messages",
            {"talkerId": talker_id, "roomId": room_id, "text": text, "mentionIds": list(mention_ids)},
        )
        message_id: str = sent["id"]
        return message_id

    async def say_to_bot(self, talker_id: str, text: str) -> str:
        """A contact sends the bot a direct message; returns the message id."""
        sent = await self._post("/messages", {"talkerId": talker_id, "listenerId": self.bot_id, "text": text})
        message_id: str = sent["id"]
        return message_id

    async def join(self, room_id: str, contact_ids: Sequence[str], *, inviter_id: str) -> None:
        await self._post(f"/rooms/{room_id}/join", {"contactIds": list(contact_ids), "inviterId": inviter_id})

    async def leave(self, room_id: str, contact_ids: Sequence[str], *, remover_id: str | None = None) -> None:
        """Members leave on their own, or are removed by remover_id (an owner or admin, not the bot)."""
        await self._post(
            f"/rooms/{room_id}/leave", {"contactIds": list(contact_ids), "removerId": remover_id}
        )

    async def change_topic(self, room_id: str, topic: str, *, changer_id: str) -> None:
        await self._post(f"/rooms/{room_id}/topic", {"topic": topic, "changerId": changer_id})

    async def request_friendship(self, contact_id: str, hello: str) -> str:
        """A contact asks the bot for friendship; returns the friendship id."""
        request = await self._post("/friendships", {"contactId": contact_id, "hello": hello})
        friendship_id: str = request["id"]
        return friendship_id

    # -- reading the world ----------------------------------------------------------------------------------

    async def room_member_ids(self, room_id: str) -> list[str]:
        room = await self._get(f"/rooms/{room_id}")
        return list(room["memberIdList"])

    async def observed(self) -> Observed:
        return Observed.from_json(await self._get("/observed"))

    async def wait_for(self, predicate: Callable[[Observed], bool], *, within: float = 10.0) -> Observed:
        """Poll what the bot did until predicate holds; fail with the last observation after `within` s."""
        deadline = time.monotonic() + within
        while True:
            observed = await self.observed()
            if predicate(observed):
                return observed
            if time.monotonic() > deadline:
                raise TimeoutError(f"the mock world never saw it within {within}s; it saw {observed}")
            await asyncio.sleep(0.05)

    async def wait_logged_in(self, *, within: float = 15.0) -> None:
        """Wait until a client started the puppet, the bot logged in and `ready` was emitted."""
        deadline = time.monotonic() + within
        while not (await self._get("/state"))["ready"]:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no client logged the bot in within {within}s: {_log_tail(self.log_path)}"
                )
            await asyncio.sleep(0.05)

    # -- transport -------------------------------------------------------------------------------------------

    async def _get(self, path: str) -> Any:
        return self._checked(await self._http.get(path))

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._checked(await self._http.post(path, json=body))

    def _checked(self, response: httpx.Response) -> Any:
        if response.status_code != httpx.codes.OK:
            raise PuppetMockError(
                f"{response.request.url.path}: {response.json().get('error', response.text)}"
            )
        return response.json()


async def _spawn(
    grpc_port: int, token: str, bot_id: str, bot_name: str, log: IO[bytes]
) -> asyncio.subprocess.Process:
    node = shutil.which("node")
    assert node is not None, "call tests.peers.require_node() first"
    return await asyncio.create_subprocess_exec(
        node,
        str(SERVER_SCRIPT),
        "--grpc-port",
        str(grpc_port),
        "--token",
        token,
        "--bot-id",
        bot_id,
        "--bot-name",
        bot_name,
        cwd=PUPPET_MOCK_DIR,
        # The server exits when its stdin closes, so it never outlives a test run that was killed.
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
        env={**os.environ, "WECHATY_LOG": os.environ.get("WECHATY_LOG", "warn")},
    )


async def _read_listening_line(process: asyncio.subprocess.Process, log_path: Path) -> int:
    """The server prints one JSON line once both its ports listen; return the control port."""
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=START_TIMEOUT_S)
    except TimeoutError:
        line = b""
    if not line:
        raise PuppetMockError(f"puppet-mock server did not start: {_log_tail(log_path)}")
    announced = json.loads(line)
    control_port: int = announced["controlPort"]
    return control_port


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), timeout=5)
    except TimeoutError:
        process.kill()
        await process.wait()


def _open_log() -> tuple[Path, IO[bytes]]:
    """A file for the server's stderr, shown in failure messages and removed afterwards."""
    log = tempfile.NamedTemporaryFile(prefix="puppet-mock-", suffix=".log", delete=False)  # noqa: SIM115
    return Path(log.name), log


def _close_log(log_path: Path, log: IO[bytes]) -> None:
    log.close()
    log_path.unlink(missing_ok=True)


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]
