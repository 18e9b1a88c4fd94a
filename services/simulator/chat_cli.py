"""Chat in a simulated WeChat group from the terminal, over the simulator's HTTP API.

    python -m services.simulator.chat_cli --url http://127.0.0.1:8700 [--room 开源交流群] [--as Bob]

Type a line to say it in the room as the chosen member ("@QunBot help" mentions the bot). Commands start with "/":
type /help for the list. The bot's replies and everything else said in the room appear as they happen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx

AT_SEPARATOR = "\u2005"
HELP = """\
commands / 命令:
  <text>               say it in the room (type "@Name" to mention, e.g. "@QunBot help")
  /quote N <text>      reply quoting message [N]            引用第 N 条消息回复
  /dm <text>           write to the bot privately            私聊机器人
  /as <name>           speak as another member               切换发言人
  /room <n|topic>      switch room                           切换群
  /rooms               list rooms                            群列表
  /who                 list members                          群成员
  /join <name>         a new member joins                    新成员入群
  /kick <name>         the owner removes a member            群主移出成员
  /leave               the current speaker leaves            当前发言人退群
  /topic <new topic>   rename the room                       修改群名
  /friend <name> [hi]  someone asks the bot for friendship   好友请求
  /help, /quit"""


class MemberJson(TypedDict):
    id: str
    name: str
    alias: str | None
    display_name: str


class RoomJson(TypedDict):
    id: str
    topic: str
    owner_id: str
    admin_ids: list[str]
    member_count: int
    members: list[MemberJson]


class ChatError(Exception):
    """A command the user typed cannot be carried out; the message explains why."""


@dataclass
class ChatSession:
    """The state of one terminal chat: which room, who speaks, and the messages shown so far (for /quote N)."""

    http: httpx.AsyncClient
    bot: dict[str, Any] = field(default_factory=dict)
    rooms: list[RoomJson] = field(default_factory=list)
    room_id: str = ""
    speaker_id: str = ""
    shown: list[dict[str, Any]] = field(default_factory=list)
    write: Callable[[str], None] = print

    async def load(self, room: str | None = None, speaker: str | None = None) -> None:
        world = await self.call("GET", "/api/world")
        self.bot = world["bot"]
        self.rooms = world["rooms"]
        self.room_id = self.find_room(room)["id"] if room else self.rooms[0]["id"]
        self.speaker_id = self.find_member(speaker)["id"] if speaker else self.default_speaker()

    # ----------------------------------------------------------------------------------------------------------------
    # Lookups

    @property
    def room(self) -> RoomJson:
        return next(room for room in self.rooms if room["id"] == self.room_id)

    def default_speaker(self) -> str:
        humans = [member["id"] for member in self.room["members"] if member["id"] != self.bot.get("id")]
        if self.speaker_id in humans:
            return self.speaker_id
        if not humans:
            raise ChatError("nobody but the bot is in this room")
        return humans[0]

    def find_room(self, key: str) -> RoomJson:
        if key.isdigit() and 1 <= int(key) <= len(self.rooms):
            return self.rooms[int(key) - 1]
        for room in self.rooms:
            if key in (room["id"], room["topic"]) or key.lower() in room["topic"].lower():
                return room
        raise ChatError(f"no room {key!r}; /rooms lists them")

    def find_member(self, name: str) -> MemberJson:
        for member in self.room["members"]:
            if name in (member["id"], member["name"], member["display_name"]):
                return member
        for member in self.room["members"]:
            if name.lower() in member["display_name"].lower():
                return member
        raise ChatError(f"nobody called {name!r} in {self.room['topic']}; /who lists members")

    def speaker_name(self) -> str:
        return self.find_member(self.speaker_id)["display_name"]

    async def refresh_rooms(self) -> None:
        self.rooms = await self.call("GET", "/api/rooms")

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: str) -> Any:
        response = await self.http.request(method, path, json=body, params=params or None)
        data = response.json()
        if response.is_error:
            raise ChatError(data.get("error", response.reason_phrase))
        return data

    # ----------------------------------------------------------------------------------------------------------------
    # Showing

    def prompt(self) -> str:
        return f"[{self.room['topic']}] {self.speaker_name()}> "

    def show(self, message: dict[str, Any]) -> None:
        """Print a message of the current room, or a direct message of the current speaker."""
        in_room = message["room_id"] == self.room_id
        direct = message["room_id"] is None and self.speaker_id in (message["talker_id"], message["to_id"])
        if not (in_room or direct):
            return
        self.write(self.format(message, direct=direct))

    def format(self, message: dict[str, Any], *, direct: bool = False) -> str:
        clock = time.strftime("%H:%M", time.localtime(message["timestamp"]))
        if message["kind"] == "system":
            return f"      {clock}  — {message['text']} —"
        self.shown.append(message)
        number = len(self.shown)
        who = f"🤖 {message['talker_name']}" if message["from_bot"] else message["talker_name"]
        where = " (私聊 DM)" if direct else ""
        text = message["reply"].replace(AT_SEPARATOR, " ")
        if message["quote"]:
            quote = message["quote"]
            text += f"\n           「{quote['talker_name']}：{quote['text'].replace(AT_SEPARATOR, ' ')}」"
        return f"[{number:>3}] {clock}  {who}{where}: {text}"

    # ----------------------------------------------------------------------------------------------------------------
    # Commands

    async def handle(self, line: str) -> bool:
        """Carry out one typed line; returns False when the user wants to quit."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith("/"):
            await self.say(line)
            return True
        command, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if command in ("quit", "exit", "q"):
            return False
        handler = self.commands().get(command)
        if handler is None:
            raise ChatError(f"unknown command /{command}; /help lists them")
        await handler(rest)
        return True

    def commands(self) -> dict[str, Callable[[str], Any]]:
        return {
            "help": self.cmd_help,
            "quote": self.cmd_quote,
            "dm": self.cmd_dm,
            "as": self.cmd_as,
            "room": self.cmd_room,
            "rooms": self.cmd_rooms,
            "who": self.cmd_who,
            "join": self.cmd_join,
            "kick": self.cmd_kick,
            "leave": self.cmd_leave,
            "topic": self.cmd_topic,
            "friend": self.cmd_friend,
        }

    async def say(self, text: str, quote_id: str | None = None) -> None:
        body: dict[str, Any] = {"talker_id": self.speaker_id, "text": text}
        if quote_id:
            body["quote_id"] = quote_id
        await self.call("POST", f"/api/rooms/{self.room_id}/messages", body)

    async def cmd_help(self, _: str) -> None:
        self.write(HELP)

    async def cmd_quote(self, rest: str) -> None:
        number, _, text = rest.partition(" ")
        if not number.isdigit() or not 1 <= int(number) <= len(self.shown) or not text.strip():
            raise ChatError("usage: /quote N text  (N is the number in brackets)")
        await self.say(text.strip(), quote_id=self.shown[int(number) - 1]["id"])

    async def cmd_dm(self, rest: str) -> None:
        if not rest:
            raise ChatError("usage: /dm text")
        await self.call("POST", f"/api/contacts/{self.speaker_id}/messages", {"text": rest})

    async def cmd_as(self, rest: str) -> None:
        self.speaker_id = self.find_member(rest)["id"]
        self.write(f"now speaking as {self.speaker_name()}")

    async def cmd_room(self, rest: str) -> None:
        await self.refresh_rooms()
        self.room_id = self.find_room(rest)["id"]
        self.speaker_id = self.default_speaker()
        self.write(f"— {self.room['topic']} ({len(self.room['members'])}) —")
        for message in await self.call("GET", "/api/messages", room_id=self.room_id, limit="15"):
            self.show(message)

    async def cmd_rooms(self, _: str) -> None:
        await self.refresh_rooms()
        for number, room in enumerate(self.rooms, 1):
            mark = "*" if room["id"] == self.room_id else " "
            self.write(f" {mark}{number}. {room['topic']} ({room['member_count']})")

    async def cmd_who(self, _: str) -> None:
        await self.refresh_rooms()
        for member in self.room["members"]:
            roles = [
                role
                for role, present in (
                    ("群主 owner", member["id"] == self.room["owner_id"]),
                    ("BOT", member["id"] == self.bot["id"]),
                )
                if present
            ]
            self.write(f"  {member['display_name']}  {' '.join(roles)}".rstrip())

    async def cmd_join(self, rest: str) -> None:
        if not rest:
            raise ChatError("usage: /join name")
        await self.call(
            "POST", f"/api/rooms/{self.room_id}/members", {"name": rest, "inviter_id": self.speaker_id}
        )
        await self.refresh_rooms()

    async def cmd_kick(self, rest: str) -> None:
        member = self.find_member(rest)
        owner = self.room["owner_id"]
        await self.call("DELETE", f"/api/rooms/{self.room_id}/members/{member['id']}", remover_id=owner)
        await self.refresh_rooms()

    async def cmd_leave(self, _: str) -> None:
        await self.call("DELETE", f"/api/rooms/{self.room_id}/members/{self.speaker_id}")
        await self.refresh_rooms()
        self.speaker_id = self.default_speaker()

    async def cmd_topic(self, rest: str) -> None:
        if not rest:
            raise ChatError("usage: /topic new topic")
        body = {"topic": rest, "changer_id": self.speaker_id}
        await self.call("PUT", f"/api/rooms/{self.room_id}/topic", body)
        await self.refresh_rooms()

    async def cmd_friend(self, rest: str) -> None:
        name, _, hello = rest.partition(" ")
        if not name:
            raise ChatError("usage: /friend name [hello]")
        await self.call("POST", "/api/friendships", {"name": name, "hello": hello.strip()})
        self.write(f"{name} asked {self.bot['name']} for friendship")


async def stream_messages(http: httpx.AsyncClient, after: int) -> AsyncIterator[dict[str, Any]]:
    """Messages from the live stream, resuming after `after`; reconnects when the stream drops."""
    while True:
        event = ""
        try:
            async with http.stream("GET", "/api/stream", params={"after": after}, timeout=None) as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "message":
                        message = json.loads(line.removeprefix("data: "))
                        after = max(after, message["seq"])
                        yield message
        except httpx.TransportError:
            pass
        await asyncio.sleep(1)  # the simulator restarted or the network blinked: try again


async def follow(session: ChatSession, after: int) -> None:
    async for message in stream_messages(session.http, after):
        session.show(message)


async def read_lines() -> AsyncIterator[str]:
    while line := await asyncio.to_thread(sys.stdin.readline):
        yield line


async def run(url: str, room: str | None, speaker: str | None) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        session = ChatSession(http)
        await session.load(room, speaker)
        session.write(f"qunbus simulator at {url} — /help for commands, /quit to leave")
        await session.cmd_rooms("")
        history = await session.call("GET", "/api/messages", room_id=session.room_id, limit="15")
        for message in history:
            session.show(message)
        last_seq = max(
            (message["seq"] for message in await session.call("GET", "/api/messages", limit="1")), default=0
        )
        follower = asyncio.create_task(follow(session, last_seq))
        try:
            print(session.prompt(), end="", flush=True)
            async for line in read_lines():
                try:
                    if not await session.handle(line):
                        break
                except ChatError as error:
                    session.write(f"! {error}")
                print(session.prompt(), end="", flush=True)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower


def main() -> None:
    parser = argparse.ArgumentParser(description="Chat in a simulated WeChat group from the terminal.")
    parser.add_argument("--url", default="http://127.0.0.1:8700", help="the simulator's HTTP address")
    parser.add_argument("--room", help="room number, topic or id (default: the first room)")
    parser.add_argument("--as", dest="speaker", help="member to speak as (default: the first member)")
    args = parser.parse_args()
    try:
        asyncio.run(run(args.url, args.room, args.speaker))
    except KeyboardInterrupt:
        pass
    except (httpx.TransportError, ChatError) as error:
        sys.exit(f"cannot chat with the simulator at {args.url}: {error}")


if __name__ == "__main__":
    main()
