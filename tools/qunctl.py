"""qunctl: the operator's command line. Human tables by default, `--json` for scripts.

    python -m tools.qunctl accounts                      # login state, queue and daily budgets per account
    python -m tools.qunctl rooms [--match 开源*]          # rooms the bot was seen in, members, switches
    python -m tools.qunctl services                      # live services and replicas; gone ones
    python -m tools.qunctl queues                        # consumer lag, stream sizes, dead letters
    python -m tools.qunctl dlq list|show|replay|purge    # dead letters (also `python -m tools.dlq`)
    python -m tools.qunctl broadcast send --text "..." --match "开源*" [--dry-run]
    python -m tools.qunctl broadcast status|list|cancel
    python -m tools.qunctl roomlist save NAME ROOM... | show | delete NAME
    python -m tools.qunctl alerts [test]

It reads the same environment as the ops service (NATS_URL, NATS_USER/NATS_PASSWORD or NATS_CREDS, REDIS_URL,
OPS_*): in Kubernetes, run it inside the ops pod (`kubectl exec deploy/ops -- python -m tools.qunctl ...`).
Exit status: 0 done, 1 nothing matched or something failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import httpx
import nats
from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis

from services.ops import alerts, bus, channels, deadletters
from services.ops.accounts import AccountBook
from services.ops.book import AlertBook, BookPolicy
from services.ops.broadcast import BroadcastError, BroadcastRunner, Image, Progress, Selection
from services.ops.operations import Operations
from services.ops.settings import OpsSettings
from services.shared import permissions


class UsageError(Exception):
    pass


# -- output ----------------------------------------------------------------------------------------------------


def width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    if not rows:
        out.write("(none)\n")
        return
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(width(column), *(width(line[i]) for line in cells)) for i, column in enumerate(columns)]
    for line in [list(columns), *cells]:
        out.write("  ".join(pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n")


_ISO_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d|Z)$")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(_cell(item) for item in value) or "-"
    if isinstance(value, dict):
        return " ".join(f"{key}={_cell(item)}" for key, item in value.items()) or "-"
    text = str(value).replace("\n", " ")
    if _ISO_TIME.match(text):  # times in the local zone, to the second
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return text if len(text) <= 60 else text[:59] + "…"


def progress_bar(progress: Progress, width: int = 30) -> str:
    counts = progress.counts()
    total = max(1, len(progress.broadcast.recipients))
    done = counts["done"]
    filled = round(width * done / total)
    extra = ", ".join(f"{counts[k]} {k}" for k in ("queued", "waiting", "cancelled", "expired") if counts[k])
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} done" + (f" ({extra})" if extra else "")


class Output:
    def __init__(self, as_json: bool, out: TextIO) -> None:
        self.as_json = as_json
        self.out = out

    def emit(
        self, data: Any, *, columns: Sequence[str] | None = None, rows: Sequence[dict[str, Any]] | None = None
    ) -> None:
        if self.as_json:
            self.out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        elif columns is not None:
            table(rows if rows is not None else data, columns, self.out)
        else:
            self.out.write(f"{data}\n")

    def result(self, data: Any, text: str | None) -> None:
        """`data` as JSON for scripts, or `text` (if any) for people."""
        if self.as_json:
            self.emit(data)
        elif text is not None:
            self.out.write(text + "\n")

    def say(self, text: str) -> None:
        if not self.as_json:
            self.out.write(text + "\n")


# -- connecting --------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def connected(settings: OpsSettings) -> AsyncIterator[tuple[NatsClient, Redis, httpx.AsyncClient]]:
    connection = await nats.connect(
        settings.nats_servers,
        user=settings.nats_user,
        password=settings.nats_password.get_secret_value() if settings.nats_password else None,
        user_credentials=str(settings.nats_creds) if settings.nats_creds else None,
        inbox_prefix=permissions.inbox_prefix(settings.nats_user),
        name="qunctl",
        max_reconnect_attempts=2,
    )
    redis = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        async with httpx.AsyncClient(timeout=settings.http_timeout_s) as http:
            yield connection, redis, http
    finally:
        await redis.aclose()
        await connection.close()


def _configured_channels(
    settings: OpsSettings, connection: NatsClient, redis: Redis, http: httpx.AsyncClient
) -> list[channels.Channel]:
    async def send(bot_id: str, command: Any) -> None:
        await bus.publish_command(connection, bot_id, command)

    return channels.configured(settings, http, send=send, logged_in=AccountBook(redis).logged_in_ids)


# -- verbs -------------------------------------------------------------------------------------------------------


async def run(argv: Sequence[str], settings: OpsSettings | None = None, out: TextIO | None = None) -> int:
    # --json may stand anywhere on the line.
    args = parser().parse_args([arg for arg in argv if arg != "--json"])
    args.json = "--json" in argv
    output = Output(args.json, out or sys.stdout)
    settings = settings or OpsSettings()
    try:
        async with connected(settings) as (connection, redis, http):
            names = [channel.name for channel in _configured_channels(settings, connection, redis, http)]
            book = AlertBook(redis, names, BookPolicy())
            ops = Operations(settings, redis, connection, book)
            result: int = await args.verb(args, ops, output, http)
            return result
    except (UsageError, BroadcastError) as error:
        (out or sys.stderr).write(f"qunctl: {error}\n")
        return 2


async def accounts(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    if args.forget:
        await ops.accounts.forget(args.forget)
        output.result({"forgotten": args.forget}, f"forgot account {args.forget}")
        return 0
    rows = await ops.gateways()
    flat = [
        {
            "account": row["bot_id"],
            "name": row["name"],
            "logged_in": row["logged_in"],
            "gateway": "answers"
            if row["answering"]
            else ("-> " + row["logged_in_as"] if row["logged_in_as"] else "silent"),
            "qr": row["qr_link"] or ("waiting" if row["qrcode"] else ""),
            "queued": sum((row["status"] or {}).get("outbound_queue", {}).values()),
            "budget": _budget(row["status"]),
            "held": (row["status"] or {}).get("held", ""),
        }
        for row in rows
    ]
    output.emit(
        rows, rows=flat, columns=["account", "name", "logged_in", "gateway", "qr", "queued", "budget", "held"]
    )
    return 0


def _budget(status: dict[str, Any] | None) -> str:
    if not status:
        return ""
    used, limits = status.get("daily_used", {}), status.get("daily_limits", {})
    return " ".join(f"{kind} {used.get(kind, 0)}/{limit}" for kind, limit in sorted(limits.items()))


async def budgets(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    rows = []
    for account in await ops.gateways():
        status = account["status"] or {}
        for kind, limit in sorted(status.get("daily_limits", {}).items()):
            used = status.get("daily_used", {}).get(kind, 0)
            rows.append(
                {
                    "account": account["bot_id"],
                    "kind": kind,
                    "used": used,
                    "limit": limit,
                    "share": f"{100 * used / limit:.0f}%" if limit else "-",
                }
            )
    output.emit(rows, columns=["account", "kind", "used", "limit", "share"])
    return 0


async def rooms(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    found = await ops.rooms(args.bot)
    if args.match:
        from services.ops.broadcast import topic_matches  # noqa: PLC0415

        found = [room for room in found if topic_matches(args.match, room["topic"])]
    output.emit(found, columns=["id", "topic", "member_count", "bot_id", "services_off", "gone", "last_seen"])
    return 0


async def services(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    if args.forget:
        forgotten = await ops.forget_service(args.forget)
        output.result(
            {"forgotten": forgotten},
            f"forgot {args.forget}" if forgotten else f"{args.forget} was not remembered",
        )
        return 0 if forgotten else 1
    found = await ops.services()
    if output.as_json:
        output.emit(found)
        return 0
    live = [{**row, "replicas": len(row["instances"])} for row in found["live"]]
    table(live, ["name", "version", "replicas", "internal"], output.out)
    if found["gone"]:
        output.say("\nseen before, no live replica now:")
        table(found["gone"], ["name", "last_seen", "missing_since"], output.out)
    return 0


async def queues(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    found = await ops.queues()
    if output.as_json:
        output.emit(found)
        return 0
    table(found["consumers"], ["stream", "name", "pending", "ack_pending", "redelivered"], output.out)
    output.say("")
    table(
        [{"stream": k, "messages": v} for k, v in found["streams"].items()],
        ["stream", "messages"],
        output.out,
    )
    output.say("")
    table(
        [{"subject": k, "dead letters": v} for k, v in found["dead_letters"].items()],
        ["subject", "dead letters"],
        output.out,
    )
    return 0


# dead letters


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not an ISO time: {value!r}") from None
    return moment if moment.tzinfo else moment.astimezone()


def dlq_filter(args: argparse.Namespace) -> deadletters.Filter:
    return deadletters.Filter(
        service=args.service,
        subject=args.subject,
        since=_time(args.since),
        until=_time(args.until),
        sequences=tuple(getattr(args, "seqs", ()) or ()),
    )


async def dlq_list(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    found = await ops.dead_letters(dlq_filter(args), args.limit)
    output.emit(found, columns=["seq", "service", "subject", "failed_at", "deliveries", "error"])
    return 0


async def dlq_show(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    letter = await ops.dead_letter(args.seq)
    if letter is None:
        output.result(None, f"no dead letter {args.seq}")
        return 1
    if output.as_json:
        output.emit(letter)
    else:
        for key, value in letter.items():
            output.say(f"{key}: {value}")
    return 0


def _must_select(selection: deadletters.Filter, args: argparse.Namespace) -> None:
    if selection.only_service and not selection.service and not args.all:
        raise UsageError("name the dead letters (sequences or --service/--subject/--since/--until), or --all")


async def dlq_replay(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    selection = dlq_filter(args)
    _must_select(selection, args)
    results = await ops.replay(selection, remove=args.remove, dry_run=args.dry_run)
    output.emit([r.to_json() for r in results], columns=["seq", "outcome", "detail"])
    return 0 if results and all(r.outcome != "refused" for r in results) else 1


async def dlq_purge(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    selection = dlq_filter(args)
    _must_select(selection, args)
    count = await ops.purge(selection, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    output.result({"deleted": count, "dry_run": args.dry_run}, f"{verb} {count} dead letter(s)")
    return 0


# broadcasts


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        room_ids=tuple(args.room or ()),
        topic=args.match or "",
        list_name=args.list or "",
        bot_id=args.bot or "",
    )


async def broadcast_send(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    selection = _selection(args)
    if args.dry_run:
        recipients = [asdict(r) for r in await ops.recipients(selection)]
        output.emit(recipients, columns=["room_id", "topic", "member_count", "bot_id"])
        output.say(f"{len(recipients)} room(s); nothing sent (dry run)")
        return 0
    image, data = None, None
    if args.image:
        data = await asyncio.to_thread(Path(args.image).read_bytes)
        image = Image.of(Path(args.image).name, data)
    created = await ops.create_broadcast(selection, args.text or "", image, data, created_by="qunctl")
    output.say(f"broadcast {created.id} to {len(created.recipients)} room(s)")
    if args.detach:
        output.result({"id": created.id, "rooms": len(created.recipients)}, None)
        return 0
    return await _follow(created.id, ops, output)


async def _follow(broadcast_id: str, ops: Operations, output: Output) -> int:
    """Carry the broadcast out here (or watch the ops service do it), with a progress bar; Ctrl-C leaves it to
    the ops service, `qunctl broadcast cancel` stops it."""

    async def publish(bot_id: str, command: Any) -> int:
        return await bus.publish_command(ops.nats, bot_id, command)

    async def floor(bot_id: str) -> int | None:
        return await bus.ack_floor(ops.nats, bot_id)

    runner = BroadcastRunner(
        ops.broadcast_store, publish, floor, ops.now, window=ops.settings.broadcast_window
    )
    last = ""

    def show(progress: Progress) -> None:
        nonlocal last
        bar = progress_bar(progress)
        if bar != last and not output.as_json:
            tty = output.out.isatty()
            output.out.write(("\r" + bar) if tty else bar + "\n")
            output.out.flush()
            last = bar

    while True:
        ran = await runner.run(broadcast_id, on_progress=show)
        progress = await ops.broadcast_store.progress(broadcast_id)
        if progress is None:
            return 1
        if not ran:  # another runner (the ops service) has it: watch
            show(progress)
        if progress.finished:
            if output.out.isatty():
                output.out.write("\n")
            output.result(progress.to_json(), None)
            return 0 if progress.counts()["done"] == len(progress.broadcast.recipients) else 1
        await asyncio.sleep(runner.tick_s)


async def broadcast_status(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    progress = await ops.broadcast_store.progress(args.id)
    if progress is None:
        output.say(f"no broadcast {args.id}")
        return 1
    if output.as_json:
        output.emit(progress.to_json())
        return 0
    output.say(f"{args.id}: {progress_bar(progress)}{' (cancelled)' if progress.cancelled else ''}")
    table(progress.to_json()["rooms"], ["room_id", "topic", "state", "at"], output.out)
    return 0


async def broadcast_list(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    found = await ops.broadcasts(args.limit)
    rows = [
        {
            "id": item["id"],
            "created_at": item["created_at"],
            "rooms": len(item["recipients"]),
            "done": item["counts"]["done"],
            "finished": item["finished"],
            "cancelled": item["cancelled"],
            "text": item["text"],
        }
        for item in found
    ]
    output.emit(
        found, rows=rows, columns=["id", "created_at", "rooms", "done", "finished", "cancelled", "text"]
    )
    return 0


async def broadcast_cancel(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    cancelled = await ops.cancel_broadcast(args.id)
    output.result(
        {"id": args.id, "cancelled": cancelled},
        f"broadcast {args.id} cancelled: rooms not handed to the gateway yet will not get it"
        if cancelled
        else f"no broadcast {args.id}",
    )
    return 0 if cancelled else 1


async def roomlist(args: argparse.Namespace, ops: Operations, output: Output, _: Any) -> int:
    store = ops.broadcast_store
    if args.action == "save":
        if not args.name or not args.rooms:
            raise UsageError("roomlist save NAME ROOM_ID...")
        await store.save_list(args.name, args.rooms)
        output.say(f"saved {args.name}: {len(set(args.rooms))} room(s)")
        return 0
    if args.action == "delete":
        deleted = await store.delete_list(args.name or "")
        output.say(f"deleted {args.name}" if deleted else f"no list {args.name}")
        return 0 if deleted else 1
    lists = await store.lists()
    output.emit(lists, rows=[{"name": k, "rooms": v} for k, v in lists.items()], columns=["name", "rooms"])
    return 0


# alerts


async def alerts_show(
    args: argparse.Namespace, ops: Operations, output: Output, http: httpx.AsyncClient
) -> int:
    if args.action == "test":
        return await _alert_test(ops, output, http)
    active, recent = await ops.book.active(), await ops.book.recent(args.limit)
    if output.as_json:
        output.emit({"active": active, "recent": recent})
        return 0
    output.say("active:")
    table(
        [
            {**r["alert"], "since": datetime.fromtimestamp(r["first"]).isoformat(timespec="seconds")}
            for r in active
        ],
        ["key", "severity", "title_en", "since"],
        output.out,
    )
    output.say("\nrecent notifications:")
    rows = [
        {
            "at": r["at"],
            "status": r["status"],
            "key": r["alert"]["key"],
            "deliveries": r.get("deliveries", {}),
        }
        for r in recent
    ]
    table(rows, ["at", "status", "key", "deliveries"], output.out)
    return 0


async def _alert_test(ops: Operations, output: Output, http: httpx.AsyncClient) -> int:
    """Send a test alert through every configured channel now, and say what each answered."""
    note = channels.Notification(
        "test-" + ops.now().strftime("%Y%m%d%H%M%S"),
        alerts.test_alert(ops.now()),
        "firing",
        ops.now().isoformat(),
    )
    results = []
    for channel in _configured_channels(ops.settings, ops.nats, ops.redis, http):
        try:
            await channel.send(note)
        except (channels.DeliveryError, channels.Skipped) as error:
            results.append({"channel": channel.name, "result": f"{type(error).__name__}: {error}"})
        else:
            results.append({"channel": channel.name, "result": "sent"})
    if not results:
        output.say("no alert channel is configured (see OPS_* in the README)")
        return 1
    output.emit(results, columns=["channel", "result"])
    return 0 if all(r["result"] == "sent" for r in results) else 1


# -- the command line --------------------------------------------------------------------------------------------


def _dlq_filters(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--service", help="only this service's dead letters")
    sub.add_argument("--subject", help="original subject, NATS wildcards allowed (qun.evt.*.message)")
    sub.add_argument("--since", help="failed at or after (ISO time; local zone if none)")
    sub.add_argument("--until", help="failed at or before (ISO time)")


def add_dlq(verbs: Any) -> None:
    dlq = verbs.add_parser("dlq", help="dead letters: list, show, replay, purge").add_subparsers(
        required=True
    )
    listing = dlq.add_parser("list", help="list dead letters, oldest first")
    _dlq_filters(listing)
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(verb=dlq_list)
    show = dlq.add_parser("show", help="one dead letter with its payload")
    show.add_argument("seq", type=int)
    show.set_defaults(verb=dlq_show)
    replay = dlq.add_parser("replay", help="republish to the original subject, keeping the message id")
    replay.add_argument("seqs", type=int, nargs="*")
    _dlq_filters(replay)
    replay.add_argument("--all", action="store_true", help="every dead letter (with no other filter)")
    replay.add_argument("--remove", action="store_true", help="delete the dead letters that were replayed")
    replay.add_argument("--dry-run", action="store_true")
    replay.set_defaults(verb=dlq_replay)
    purge = dlq.add_parser("purge", help="delete dead letters")
    purge.add_argument("seqs", type=int, nargs="*")
    _dlq_filters(purge)
    purge.add_argument("--all", action="store_true", help="every dead letter (with no other filter)")
    purge.add_argument("--dry-run", action="store_true")
    purge.set_defaults(verb=dlq_purge)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="qunctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root.add_argument("--json", action="store_true", help="JSON output for scripts")
    verbs = root.add_subparsers(required=True)

    sub = verbs.add_parser("accounts", help="accounts: login, queue, budgets")
    sub.add_argument("--forget", metavar="BOT_ID", help="stop watching an account that is gone for good")
    sub.set_defaults(verb=accounts)
    verbs.add_parser("budgets", help="today's send budgets per account").set_defaults(verb=budgets)
    sub = verbs.add_parser("rooms", help="rooms the accounts were seen in")
    sub.add_argument("--bot")
    sub.add_argument("--match", help="topic pattern (* and ?) or substring")
    sub.set_defaults(verb=rooms)
    sub = verbs.add_parser("services", help="live services and replicas")
    sub.add_argument("--forget", metavar="NAME", help="a service removed on purpose: no more alerts about it")
    sub.set_defaults(verb=services)
    verbs.add_parser("queues", help="consumer lag, streams, dead letters").set_defaults(verb=queues)
    add_dlq(verbs)

    broadcast = verbs.add_parser("broadcast", help="one message to many rooms").add_subparsers(required=True)
    send = broadcast.add_parser("send", help="send (or --dry-run to list the recipients)")
    send.add_argument("--text")
    send.add_argument("--image", help="a PNG, JPEG, GIF or WebP file (at most 512 KiB)")
    send.add_argument("--room", action="append", help="a room id (repeatable)")
    send.add_argument("--match", help="rooms whose topic matches (* and ?) or contains this")
    send.add_argument("--list", help="a saved room list")
    send.add_argument("--bot", help="only rooms of this account")
    send.add_argument("--dry-run", action="store_true", help="show the recipients, send nothing")
    send.add_argument("--detach", action="store_true", help="leave the delivery to the ops service")
    send.set_defaults(verb=broadcast_send)
    sub = broadcast.add_parser("status")
    sub.add_argument("id")
    sub.set_defaults(verb=broadcast_status)
    sub = broadcast.add_parser("list")
    sub.add_argument("--limit", type=int, default=20)
    sub.set_defaults(verb=broadcast_list)
    sub = broadcast.add_parser("cancel")
    sub.add_argument("id")
    sub.set_defaults(verb=broadcast_cancel)

    sub = verbs.add_parser("roomlist", help="saved room lists for broadcasts")
    sub.add_argument("action", choices=["show", "save", "delete"], nargs="?", default="show")
    sub.add_argument("name", nargs="?")
    sub.add_argument("rooms", nargs="*")
    sub.set_defaults(verb=roomlist)

    sub = verbs.add_parser(
        "alerts", help="active alerts and recent notifications; `alerts test` tries the channels"
    )
    sub.add_argument("action", choices=["show", "test"], nargs="?", default="show")
    sub.add_argument("--limit", type=int, default=20)
    sub.set_defaults(verb=alerts_show)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    try:
        sys.exit(asyncio.run(run(sys.argv[1:] if argv is None else argv)))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
