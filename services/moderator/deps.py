"""The moderator's resources: its Redis stores, opened once per running instance."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from services.moderator.dm_store import DmStore
from services.moderator.message_store import MessageStore
from services.moderator.password_store import PasswordStore
from services.moderator.redis_types import StrRedis
from services.moderator.room_store import RoomDirectory
from services.moderator.settings import ModeratorSettings
from services.moderator.vote_store import VoteStore
from services.moderator.welcome_store import WelcomeStore
from services.shared import AppContext, Context
from services.shared.rooms import RoomStore


@dataclass(frozen=True)
class Stores:
    """Thin Redis layers, one per feature; shared by every handler of the instance."""

    rooms: RoomDirectory
    votes: VoteStore
    welcome: WelcomeStore
    messages: MessageStore
    passwords: PasswordStore
    dms: DmStore
    room_prefs: RoomStore
    """The room preferences every service reads (switches, language, time zone, room admins); only the moderator
    writes them."""


@contextlib.asynccontextmanager
async def open_stores(_settings: ModeratorSettings, redis: StrRedis) -> AsyncIterator[Stores]:
    """The plumbing's ``deps`` factory (run before the instance listens)."""
    yield Stores(
        rooms=RoomDirectory(redis),
        votes=VoteStore(redis),
        welcome=WelcomeStore(redis),
        messages=MessageStore(redis),
        passwords=PasswordStore(redis),
        dms=DmStore(redis),
        room_prefs=RoomStore(redis),  # here, before the service listens: it subscribes to change notices
    )


Ctx: TypeAlias = Context[ModeratorSettings, Stores]
AppCtx: TypeAlias = AppContext[ModeratorSettings, Stores]


def epoch_ms(moment: datetime) -> int:
    """Redis scores are milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)
