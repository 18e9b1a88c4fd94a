"""The bytes of a `SendFile`, checked before anything is sent: inline base64 or an object of the `QUN_FILES` store,
exactly `size` bytes with the announced SHA-256. A file that cannot be right is `Permanent` (dead-lettered)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError

from schemas import SendFile
from services.shared.consumer import Permanent

FILES_BUCKET = "QUN_FILES"

LoadObject = Callable[[str], Awaitable[bytes]]
"""Reads an object of the `QUN_FILES` store by name."""


@dataclass(frozen=True)
class FileBlob:
    name: str
    mime_type: str
    data: bytes

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


def object_store_loader(js: JetStreamContext) -> LoadObject:
    async def load(name: str) -> bytes:
        try:
            store = await js.object_store(FILES_BUCKET)
            found = await store.get(name)
        except BucketNotFoundError as error:
            raise Permanent(f"no object store {FILES_BUCKET}") from error
        except (ObjectNotFoundError, NotFoundError) as error:
            raise Permanent(f"no object {name!r} in {FILES_BUCKET}") from error
        return bytes(found.data or b"")

    return load


async def file_of(command: SendFile, load_object: LoadObject | None, max_bytes: int) -> FileBlob:
    if command.size > max_bytes:
        raise Permanent(
            f"{command.name}: {command.size} bytes, more than GATEWAY_MAX_FILE_BYTES ({max_bytes})"
        )
    if command.data_base64 is not None:
        try:
            data = base64.b64decode(command.data_base64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise Permanent(f"{command.name}: data_base64 is not base64") from error
    else:
        if load_object is None:
            raise Permanent(f"{command.name}: files by reference need the {FILES_BUCKET} object store")
        data = await load_object(str(command.object_name))
    if len(data) != command.size:
        raise Permanent(f"{command.name}: {len(data)} bytes, the command says {command.size}")
    if hashlib.sha256(data).hexdigest() != command.sha256:
        raise Permanent(f"{command.name}: SHA-256 does not match")
    return FileBlob(command.name, command.mime_type, data)
