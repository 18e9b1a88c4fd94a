"""Every Redis key the moderator uses, built in one place.

All keys start with ``qun:moderator:`` and carry the bot id, so several logged-in accounts can share one Redis without
seeing each other's rooms. The welcome batches are the exception: their ids are globally unique, and one sorted
set of due batches lets any replica flush any bot's batch without knowing the list of bots.
"""

from __future__ import annotations

PREFIX = "qun:moderator"


def room_config(bot_id: str, room_id: str) -> str:
    """Hash of per-room settings (welcome template, kick threshold, flood policy)."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:config"


def room_directory(bot_id: str) -> str:
    """Hash room id -> JSON record of the rooms the bot has seen (topic, owner, size)."""
    return f"{PREFIX}:{bot_id}:rooms"


def room_members(bot_id: str, room_id: str) -> str:
    """Set of contact ids known (from events) to be in the room."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:members"


def votes(bot_id: str, room_id: str, target_id: str) -> str:
    """Sorted set voter id -> vote time (ms) of the votes to remove ``target_id``."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:votes:{target_id}"


def vote_outcome(bot_id: str, event_id: str) -> str:
    """JSON outcome of the vote (or withdrawal) made by ``event_id``: a redelivery replays it word for word."""
    return f"{PREFIX}:{bot_id}:vote-outcome:{event_id}"


def flood_window(bot_id: str, room_id: str, member_id: str) -> str:
    """Sorted set event id -> time (ms) of a member's recent messages in a room."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:flood:{member_id}"


def flood_strike_numbers(bot_id: str, room_id: str, member_id: str) -> str:
    """Hash event id -> "strike:count" as recorded when it struck (a redelivery gets the same answer)."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:flood-strike-numbers:{member_id}"


def flood_strikes(bot_id: str, room_id: str, member_id: str) -> str:
    """Sorted set event id -> time (ms) of a member's recent flood violations in a room."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:flood-strikes:{member_id}"


def flood_quiet_until(bot_id: str, room_id: str, member_id: str) -> str:
    """Time (ms) until which, after a strike, a member's messages are not counted (the grace)."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:flood-quiet-until:{member_id}"


def dm_window(bot_id: str, contact_id: str) -> str:
    """Sorted set event id -> time (ms) of a contact's recent direct messages to the bot."""
    return f"{PREFIX}:{bot_id}:dm:{contact_id}:window"


def dm_strikes(bot_id: str, contact_id: str) -> str:
    """Hash of the direct messages that crossed the limit (a redelivery gets the same answer)."""
    return f"{PREFIX}:{bot_id}:dm:{contact_id}:strikes"


def dm_muted_until(bot_id: str, contact_id: str) -> str:
    """Time (ms) until which the moderator answers nothing from a contact who flooded it by direct message (the
    plumbing's own mute key, honoured by every service, is set once the warning went out)."""
    return f"{PREFIX}:{bot_id}:dm:{contact_id}:muted-until"


def password_to_room(bot_id: str) -> str:
    """Hash password digest -> room id."""
    return f"{PREFIX}:{bot_id}:passwords"


def room_to_password(bot_id: str) -> str:
    """Hash room id -> password digest (to replace or clear a room's password)."""
    return f"{PREFIX}:{bot_id}:password-of-room"


def password_guesses(bot_id: str, contact_id: str) -> str:
    """Sorted set event id -> time (ms) of a contact's recent password guesses (a brute-force limit)."""
    return f"{PREFIX}:{bot_id}:password-guesses:{contact_id}"


def welcome_seen(bot_id: str, event_id: str) -> str:
    """Marker that a ``RoomJoined`` event was already added to a batch (redelivery adds nobody twice)."""
    return f"{PREFIX}:{bot_id}:welcome:seen:{event_id}"


def welcome_open(bot_id: str, room_id: str) -> str:
    """The id of the batch that is still collecting joiners for a room."""
    return f"{PREFIX}:{bot_id}:room:{room_id}:welcome-open"


WELCOME_DUE = f"{PREFIX}:welcome:due"
"""Sorted set batch id -> time (ms) at which the batch is to be flushed."""

WELCOME_BATCH_PREFIX = f"{PREFIX}:welcome:batch:"
WELCOME_JOINERS_PREFIX = f"{PREFIX}:welcome:joiners:"


def welcome_batch(batch_id: str) -> str:
    """Hash describing a batch: bot id, room id, topic, due time."""
    return WELCOME_BATCH_PREFIX + batch_id


def welcome_joiners(batch_id: str) -> str:
    """List of JSON ``{"id", "name"}`` of the people a batch greets, in join order."""
    return WELCOME_JOINERS_PREFIX + batch_id


def welcome_flush_claim(batch_id: str) -> str:
    """Lease (SET NX PX) held by the one replica flushing a batch."""
    return f"{PREFIX}:welcome:claim:{batch_id}"
