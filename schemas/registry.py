"""Service discovery and gateway status: request/reply on core NATS (not stored in streams)."""

from __future__ import annotations

from pydantic import Field

from schemas.base import Payload
from schemas.values import Value


class ChatCommand(Value):
    """A chat command a service answers. Matched on `MessageReceived.body` by its leading keyword."""

    name: str = Field(description="Stable name within the service.", examples=["tag"])
    keywords_zh: list[str] = Field(default_factory=list, description="Chinese keywords.", examples=[["标记"]])
    keywords_en: list[str] = Field(default_factory=list, description="English keywords.", examples=[["tag"]])
    usage_zh: str = Field(
        default="", description="One line of usage in Chinese.", examples=["引用一条消息 @我 标记 [关键词]"]
    )
    usage_en: str = Field(
        default="",
        description="One line of usage in English.",
        examples=["quote a message, @me tag [keywords]"],
    )
    admin_only: bool = Field(
        default=False, description="Only admins may use it; others get a polite refusal."
    )
    needs_mention: bool = Field(
        default=True,
        description="In a room, only when the bot is @-mentioned (direct messages never need it).",
    )
    rooms_only: bool = Field(
        default=False, description="Only in group chats; a direct message gets one polite explanation."
    )
    examples_zh: list[str] = Field(
        default_factory=list,
        description="Sentences members may write in plain words that this command understands (help shows them).",
        examples=[["明天上午9点提醒我开会"]],
    )
    examples_en: list[str] = Field(
        default_factory=list,
        description="The same in English.",
        examples=[["remind me at 6pm to deploy"]],
    )

    @property
    def keywords(self) -> list[str]:
        return [*self.keywords_zh, *self.keywords_en]


class ServiceInfo(Payload):
    """What a live service answers on `qun.svc.discover` (every replica answers; callers dedupe by name)."""

    name: str = Field(description="Service name as used in k8s, NATS users and logs.", examples=["tagger"])
    version: str = Field(description="Service version.", examples=["0.1.0"])
    instance: str = Field(description="Id of the answering replica.", examples=["tagger-7f9c"])
    summary_zh: str = Field(default="", description="What the service does, in Chinese.")
    summary_en: str = Field(default="", description="What the service does, in English.")
    title_zh: str = Field(
        default="", description="Display name members and admins use, in Chinese.", examples=["提醒"]
    )
    title_en: str = Field(default="", description="Display name in English.", examples=["reminders"])
    internal: bool = Field(default=False, description="Plumbing or example: never listed in help.")
    switchable: bool = Field(
        default=True,
        description="Whether room admins may switch it off in a room (the moderator may not be).",
    )
    claims: bool = Field(
        default=False,
        description="Takes part in intent claims for messages addressed to the bot (has commands, recognisers "
        "or a fallback): the others wait for its claim.",
    )
    commands: list[ChatCommand] = Field(default_factory=list, description="Its chat commands.")


class GatewayStatus(Payload):
    """Answer of `qun.gw.<bot_id>.status`."""

    bot_id: str = Field(description="The account's contact id.", examples=["wxid_qunbot"])
    logged_in: bool = Field(description="Whether the account is logged in.")
    name: str = Field(default="", description="The account's display name.")
    rooms: int = Field(default=0, ge=0, description="Rooms the account is in.")
    outbound_queue: dict[str, int] = Field(
        default_factory=dict, description="Messages waiting per room or contact id."
    )
    rate_limit_waits: int = Field(
        default=0, ge=0, description="Sends delayed by the rate limits since start."
    )
    sent: int = Field(default=0, ge=0, description="Messages sent since start.")
    sending: bool = Field(
        default=True,
        description="Whether this process holds the account's send lease (a second gateway process waits).",
    )
    held: str = Field(
        default="",
        description="Why sending is held, if it is (Redis unreachable, a daily budget exhausted); empty otherwise.",
    )
    dropped_stale: int = Field(
        default=0,
        ge=0,
        description="Commands dropped since start because they were too old or past deadline.",
    )
    queue_by_priority: dict[str, int] = Field(
        default_factory=dict, description="Messages waiting per priority class."
    )
    daily_used: dict[str, int] = Field(
        default_factory=dict, description="Today's sends per budget (text, file, invite, friend)."
    )
    daily_limits: dict[str, int] = Field(default_factory=dict, description="The daily budget per kind.")
