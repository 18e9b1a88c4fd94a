"""The operator's side of the table: secrets come from the environment and are never logged; what rests in Redis and
in the streams gives no password away; the console's tokens. Real nats-server and redis-server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from nats.js.errors import NotFoundError
from pydantic import SecretStr, ValidationError
from redis.asyncio import Redis

from schemas import AddToRoom, Contact, DeadLettered, Room, streams
from services.gateway.app import make_service
from services.moderator.app import service as moderator
from services.moderator.password import normalize_password, password_digest
from services.moderator.settings import ModeratorSettings
from services.ops.accounts import RoomBook
from services.ops.app import service as ops
from tests.conftest import GENEROUS_QUOTA_ENV, Bus, RunService
from tests.deploy.secrets_dir import SECRETS
from tests.factories import BOB, ROOM, message
from tests.security.chat import ask
from tests.services.gateway.test_app import eventually

OWNER = ROOM.owner_id or "owner"
PASSWORD = "open-sesame-42"
WRONG_GUESS = "wrong-guess-7"


async def _room_password_set(bus: Bus) -> None:
    """The room is known; its owner sets its password by DM; Bob's friend Carol joins with it; Dave guesses."""
    await bus.publish_event(message("大家好", talker=BOB, mentions_bot=False))
    await bus.consumer_settled("moderator")
    owner = Contact(id=OWNER, name="Owner")
    told = await ask(bus, message(f"设置进群密码 开源交流群 {PASSWORD}", room=None, talker=owner))
    assert told.text.startswith("已设置")
    await bus.publish_event(message(PASSWORD, room=None, talker=Contact(id="carol", name="Carol")))
    await bus.wait_for("qun.cmd.bot.room.add", AddToRoom)
    await ask(bus, message(WRONG_GUESS, room=None, talker=Contact(id="dave", name="Dave")))
    await bus.consumer_settled("moderator")


async def test_secrets_come_from_the_environment_and_never_reach_a_log(
    bus: Bus,
    run_service: RunService,
    nats_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """NATS and Redis passwords in their URLs, the password key, a room password: read from the environment, and
    nowhere in the settings' repr or in anything logged at DEBUG while the moderator runs; nor the puppet service
    token while the gateway connects. The secrets script prints which values to fill in, never a value it
    generated."""
    nats_password, redis_password, key = (
        "nats-pw-in-the-url",
        "redis-pw-in-the-url",
        "password-key-" + "x" * 20,
    )
    caplog.set_level(logging.DEBUG)
    puppet_token = "insecure_" + "puppet-token" * 3
    await _gateway_starts_a_session(run_service, puppet_token, caplog)
    admin = Redis.from_url(redis_url, decode_responses=True)
    await admin.config_set("requirepass", redis_password)
    await admin.aclose()
    for name, value in {
        "NATS_URL": nats_url.replace("nats://", f"nats://moderator:{nats_password}@"),
        "REDIS_URL": redis_url.replace("redis://", f"redis://:{redis_password}@"),
        "MODERATOR_PASSWORD_INVITES": "true",
        "MODERATOR_PASSWORD_SECRET": key,
        "QUN_LOG_LEVEL": "DEBUG",
        **GENEROUS_QUOTA_ENV,
    }.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    settings = ModeratorSettings()
    assert settings.password_secret.get_secret_value() == key  # from the environment
    runtime = moderator.runtime(settings)
    runtime.retry_base_s = 0.02
    async with runtime:
        await _room_password_set(bus)
    with pytest.raises(ValidationError) as refused:
        ModeratorSettings(
            password_invites=True, password_secret=SecretStr("short-key-0")
        )  # too short: refused without echoing it
    shown = f"{settings!r}\n{settings!s}\n{refused.value}\n{caplog.text}"
    assert "moderator started" in caplog.text  # the log was captured
    for secret in (nats_password, redis_password, key, "short-key-0", PASSWORD, WRONG_GUESS, puppet_token):
        assert secret not in shown, secret

    printed, generated, modes = await asyncio.to_thread(_run_the_secrets_script, tmp_path)
    assert len(generated) > 5
    assert "fill in" in printed
    assert not [value for value in generated if value in printed]
    assert set(modes) == {0o600}
    env_files = [".env", "services/.env", "deploy/k8s/secrets/services.env"]
    ignored = await asyncio.to_thread(
        subprocess.run,
        ["git", "check-ignore", *env_files],
        cwd=SECRETS.parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ignored.stdout.split() == env_files  # git would not commit them


async def _gateway_starts_a_session(
    run_service: RunService, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway as documented for a real account (endpoint and token), against a port that accepts and hangs up:
    python-wechaty builds its puppet (and logs about the token), then loses the connection."""

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    endpoint = f"127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    settings = {"puppet": "service", "puppet_service_endpoint": endpoint, "puppet_service_token": token}
    try:
        async with run_service(make_service(), **settings, reconnect_min_s=0.01, reconnect_max_s=0.05):
            await eventually(lambda: "there are endpoint<" in caplog.text, timeout=10)
    finally:
        listener.close()
        await listener.wait_closed()


def _run_the_secrets_script(folder: Path) -> tuple[str, list[str], list[int]]:
    """What `deploy/k8s/secrets/init_secrets.py` prints, the values it wrote, and its files' modes."""
    for template in SECRETS.glob("*.env.example"):
        (folder / template.name).write_text(template.read_text())
    script = subprocess.run(
        [sys.executable, str(SECRETS / "init_secrets.py"), "--dir", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    generated = [
        line.partition("=")[2]
        for path in folder.glob("*.env")
        for line in path.read_text().splitlines()
        if "=" in line and not line.startswith("#") and not line.endswith("<fill-in>")
    ]
    modes = [path.stat().st_mode & 0o777 for path in folder.glob("*.env")]
    return script.stdout + script.stderr, generated, modes


async def _rdb_dump(redis_url: str) -> bytes:
    """The RDB file Redis writes for a backup, uncompressed (compression could hide a match)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.config_set("rdbcompression", "no")
        await client.save()
        folder = str((await client.config_get("dir"))["dir"])
        name = str((await client.config_get("dbfilename"))["dbfilename"])
    finally:
        await client.aclose()
    return await asyncio.to_thread((Path(folder) / name).read_bytes)


async def test_a_copy_of_redis_reveals_no_room_password(
    bus: Bus, run_service: RunService, redis_url: str
) -> None:
    """Room passwords rest only as HMACs under MODERATOR_PASSWORD_SECRET, which lives outside Redis: a backup of
    Redis holds neither a password nor an unkeyed hash of it. Without the key, password invites do not start."""
    key = "k" * 32
    with pytest.raises(ValidationError, match="MODERATOR_PASSWORD_SECRET must be set"):
        ModeratorSettings(password_invites=True)
    async with run_service(moderator, password_invites=True, password_secret=key):
        await _room_password_set(bus)
    dump = await _rdb_dump(redis_url)
    assert (
        password_digest(PASSWORD, secret=key, bot_id="bot").encode() in dump
    )  # the test sees what is stored
    for secret in (PASSWORD, WRONG_GUESS):
        assert secret.encode() not in dump
        for text in {secret, normalize_password(secret), f"bot\x00{normalize_password(secret)}"}:
            for algorithm in ("md5", "sha1", "sha256", "sha512"):
                assert hashlib.new(algorithm, text.encode()).hexdigest().encode() not in dump


def _on_disk(store: Path, needle: bytes) -> list[str]:
    return [str(path) for path in store.rglob("*") if path.is_file() and needle in path.read_bytes()]


async def test_a_room_password_does_not_rest_in_the_streams(
    bus: Bus, run_service: RunService, tmp_path: Path
) -> None:
    """The direct messages that set, try or guess a password are erased from QUN_EVT once handled (overwritten on
    disk, not just unlinked); a direct message that ends up as a dead letter keeps only its hash and length."""
    store = tmp_path / "jetstream"  # where the test's nats-server keeps its streams
    broken = json.dumps(  # a direct message that breaks the schema (no timestamp): dead-lettered at once
        {
            "id": "dm-broken",
            "bot_id": "bot",
            "talker": {"id": "eve", "name": "Eve"},
            "room": None,
            "text": "another-secret-99",
            "body": "another-secret-99",
        }
    ).encode()
    async with run_service(moderator, password_invites=True, password_secret="k" * 32):
        await _room_password_set(bus)
        await bus.publish_raw("qun.evt.bot.message", broken, msg_id="dm-broken")
        [letter] = await bus.wait_for("qun.dlq.moderator", DeadLettered)
    events = []
    info = await bus.js.stream_info(streams.EVENTS.name)
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            events.append((await bus.js.get_msg(streams.EVENTS.name, sequence)).data or b"")
        except NotFoundError:
            continue  # erased
    assert any(
        b"\xe5\xa4\xa7\xe5\xae\xb6\xe5\xa5\xbd" in event for event in events
    )  # 大家好: the rest is kept
    for secret in (PASSWORD.encode(), WRONG_GUESS.encode()):
        assert not [event for event in events if secret in event]
        assert _on_disk(store, secret) == []
    assert (letter.redacted, letter.payload, letter.payload_bytes) == (True, "", len(broken))
    assert letter.payload_sha256 == hashlib.sha256(broken).hexdigest()
    assert "another-secret-99" not in letter.model_dump_json()


READ, WRITE = "console-read-token", "console-write-token"


@asynccontextmanager
async def _console(run_service: RunService, **tokens: str) -> AsyncIterator[httpx.AsyncClient]:
    async with run_service(ops, **tokens) as runtime:
        transport = httpx.ASGITransport(app=runtime.http_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
            yield client


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_console_reads_with_the_read_token_and_writes_only_with_the_write_token(
    run_service: RunService, redis_url: str
) -> None:
    """Without a token configured the console does not exist; the read token reads (and dry-runs); sending a
    broadcast or replaying dead letters needs the write token."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    await RoomBook(redis).observe(
        "bot", Room(id=ROOM.id, topic=ROOM.topic, member_count=3), datetime.now(UTC)
    )
    await redis.aclose()
    broadcast = {"rooms": [ROOM.id], "text": "今晚停机维护"}
    async with _console(run_service) as off:
        assert (await off.get("/ops/api/overview", headers=_bearer("anything"))).status_code == 404
    async with _console(run_service, console_token=READ, console_write_token=WRITE) as client:
        nobody = await client.get("/ops/api/overview")
        guessed = await client.get("/ops/api/overview", headers=_bearer("console-read-tokem"))
        reader = await client.get("/ops/api/overview", headers=_bearer(READ))
        dry_run = await client.post(
            "/ops/api/broadcasts", json={**broadcast, "dry_run": True}, headers=_bearer(READ)
        )
        send_as_reader = await client.post("/ops/api/broadcasts", json=broadcast, headers=_bearer(READ))
        replay_as_reader = await client.post(
            "/ops/api/deadletters/replay", json={"seqs": [1]}, headers=_bearer(READ)
        )
        send_as_writer = await client.post("/ops/api/broadcasts", json=broadcast, headers=_bearer(WRITE))
        listed = await client.get("/ops/api/broadcasts", headers=_bearer(READ))
    assert [r.status_code for r in (nobody, guessed)] == [401, 401]
    assert (reader.status_code, reader.json()["access"]) == (200, "read")
    assert [r["room_id"] for r in dry_run.json()["recipients"]] == [ROOM.id]
    assert [r.status_code for r in (send_as_reader, replay_as_reader)] == [403, 403]
    assert send_as_writer.status_code == 200
    assert [b["id"] for b in listed.json()] == [send_as_writer.json()["id"]]  # one broadcast: the writer's
