"""Every Redis key of the ops service, built in one place (all under `qun:ops:`)."""

from __future__ import annotations

ROOT = "qun:ops"

# alerts
ACTIVE_ALERTS = f"{ROOT}:alerts:active"  # hash: alert key -> {"alert", "first", "notified"}
ONE_OFF_ALERTS = f"{ROOT}:alerts:once"  # hash: alert key -> epoch of the last announcement
ALERT_LOG = f"{ROOT}:alerts:log"  # list of recent notifications with their delivery results, newest first
OUTBOX = f"{ROOT}:outbox"  # zset: "<notification id>|<channel>" -> due epoch
ATTEMPTS = f"{ROOT}:outbox:attempts"  # hash: outbox member -> failed attempts
RULE_STATE = f"{ROOT}:rules"  # JSON of alerts.RuleState
TROUBLE = f"{ROOT}:trouble"  # hash: bot id -> ISO time of the first unrecovered gateway error
LEADER = f"{ROOT}:leader"  # the replica that polls


def note(notification_id: str) -> str:
    return f"{ROOT}:note:{notification_id}"


def note_deliveries(notification_id: str) -> str:
    return f"{ROOT}:note:{notification_id}:deliveries"  # hash: channel -> result


def sent(channel: str) -> str:
    """zset of send times on a channel (its hourly cap)."""
    return f"{ROOT}:sent:{channel}"


# accounts and rooms seen on the bus
ACCOUNTS = f"{ROOT}:accounts"  # hash: bot id -> JSON of accounts.Account


def rooms(bot_id: str) -> str:
    return f"{ROOT}:rooms:{bot_id}"  # hash: room id -> JSON of accounts.RoomSeen


# broadcasts
BROADCASTS = f"{ROOT}:broadcasts"  # zset: broadcast id -> created epoch
ACTIVE_BROADCASTS = f"{ROOT}:broadcasts:active"  # set of ids still being delivered
ROOM_LISTS = f"{ROOT}:roomlists"  # hash: list name -> JSON list of room ids


def broadcast(broadcast_id: str) -> str:
    return f"{ROOT}:broadcast:{broadcast_id}"  # JSON of the broadcast (spec and recipients)


def broadcast_rooms(broadcast_id: str) -> str:
    return f"{ROOT}:broadcast:{broadcast_id}:rooms"  # hash: room id -> state JSON


def broadcast_file(broadcast_id: str) -> str:
    return f"{ROOT}:broadcast:{broadcast_id}:file"  # the image, base64


def broadcast_lease(broadcast_id: str) -> str:
    return f"{ROOT}:broadcast:{broadcast_id}:lease"
