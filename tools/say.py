"""Publish one chat message as the gateway would, and print the commands that come back.

python -m tools.say ding                        # a direct message from "alice" to bot "bot"
python -m tools.say --room room1 "标记 #会议"    # in a room, @-mentioning the bot
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

import nats

from schemas import Contact, MessageReceived, Room, new_id, subjects


def build(args: argparse.Namespace) -> MessageReceived:
    room = Room(id=args.room, topic=args.room, owner_id=args.owner) if args.room else None
    return MessageReceived(
        id=new_id(),
        bot_id=args.bot,
        timestamp=datetime.now(UTC),
        text=args.text,
        body=args.text,
        talker=Contact(id=args.talker, name=args.talker.title()),
        room=room,
        mentions_bot=room is not None,
        mention_ids=[args.bot] if room else [],
    )


async def main(args: argparse.Namespace) -> int:
    connection = await nats.connect(args.nats)
    replies = await connection.subscribe(subjects.all_commands(args.bot))
    event = build(args)
    await connection.jetstream().publish(
        subjects.event(args.bot, MessageReceived),
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.id},
    )
    print(f"> {subjects.event(args.bot, MessageReceived)} {event.body}")
    deadline, answered = time.monotonic() + args.wait, 0
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            reply = await replies.next_msg(timeout=remaining)
        except TimeoutError:
            break
        answered += 1
        print(f"< {reply.subject} {reply.data.decode()}")
    await connection.close()
    return 0 if answered else 1


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("text")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--bot", default="bot")
    parser.add_argument("--room", help="room id (default: a direct message)")
    parser.add_argument("--owner", default="owner")
    parser.add_argument("--talker", default="alice")
    parser.add_argument("--wait", type=float, default=2.0, help="seconds to collect replies")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
