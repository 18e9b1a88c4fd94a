"""The bytes of a SendFile: inline or from the QUN_FILES object store (real NATS), checked before sending; and a
picture sent through the gateway onto the simulated world."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.js.client import JetStreamContext

from schemas import DeadLettered, GatewayStatus, SendFile, subjects
from services.gateway.files import FILES_BUCKET, file_of, object_store_loader
from services.shared.consumer import Permanent
from tests.conftest import Bus, RunService

from .test_app import BOT, Chat, eventually, running


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A real, decodable PNG (red pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def send_file(data: bytes, **fields: Any) -> SendFile:
    values: dict[str, Any] = {
        "room_id": "r1",
        "name": "日报.png",
        "mime_type": "image/png",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "data_base64": base64.b64encode(data).decode(),
    }
    return SendFile(**(values | fields))


async def test_an_inline_file_is_decoded_and_checked() -> None:
    png = tiny_png()

    blob = await file_of(send_file(png), None, max_bytes=1024)

    assert (blob.name, blob.mime_type, blob.data, blob.is_image) == ("日报.png", "image/png", png, True)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"data_base64": "not base64!"}, "not base64"),
        ({"size": 3}, "the command says 3"),
        ({"sha256": "0" * 64}, "SHA-256"),
        ({"size": 10_000}, "GATEWAY_MAX_FILE_BYTES"),
    ],
)
async def test_a_file_that_cannot_be_right_is_permanent(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(Permanent, match=reason):
        await file_of(send_file(tiny_png(), **fields), None, max_bytes=1024)


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    connection = await nats.connect(nats_url)
    yield connection.jetstream()
    await connection.close()


async def test_a_file_by_reference_comes_from_the_object_store(js: JetStreamContext) -> None:
    load = object_store_loader(js)
    png = tiny_png(40, 40)
    with pytest.raises(Permanent, match="no object store"):
        await load("report.png")
    store = await js.create_object_store(FILES_BUCKET)
    await store.put("report.png", png)
    by_reference = send_file(png, data_base64=None, object_name="report.png")

    blob = await file_of(by_reference, load, max_bytes=1 << 20)

    assert blob.data == png
    with pytest.raises(Permanent, match="no object"):
        await file_of(send_file(png, data_base64=None, object_name="gone.png"), load, max_bytes=1 << 20)


async def test_a_picture_reaches_the_room_and_counts_against_the_file_budget(
    run_service: RunService, bus: Bus
) -> None:
    chat = Chat()
    png = tiny_png()
    async with running(chat, run_service, bus):
        picture = send_file(png, room_id=chat.room)
        await bus.js.publish(subjects.command(BOT, SendFile), picture.model_dump_json().encode())
        broken = send_file(png, room_id=chat.room, sha256="0" * 64)
        await bus.js.publish(subjects.command(BOT, SendFile), broken.model_dump_json().encode())
        await eventually(lambda: bool(chat.world.bot_sent()))
        [letter] = await bus.wait_for("qun.dlq.gateway", DeadLettered)
        reply = await bus.connection.request(subjects.gateway_status(BOT), b"", timeout=2)

    [sent] = chat.world.bot_sent()
    assert sent.file is not None
    assert (sent.room_id, sent.file.name, sent.file.mime_type) == (chat.room, "日报.png", "image/png")
    assert sent.file.sha256 == hashlib.sha256(png).hexdigest()
    assert chat.world.file_data(sent.id)[1] == png
    assert "SHA-256" in letter.error
    assert (letter.deliveries, letter.payload_sha256 is not None) == (1, True)
    assert GatewayStatus.model_validate_json(reply.data).daily_used["file"] == 1
