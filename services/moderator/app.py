"""The moderator service: thin handlers that translate events into the domain modules' decisions.

Every room message, whether or not it is one of our commands, goes through ``observe_message`` first (room
directory, members, anti-flood), so the wrapper ``command`` below registers commands with that step in front.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from schemas import (
    AcceptFriendship,
    AddToRoom,
    ChatCommand,
    FriendshipRequested,
    MessageReceived,
    RemoveFromRoom,
    Room,
    RoomJoined,
    RoomLeft,
    RoomTopicChanged,
    SayText,
    streams,
)
from services.moderator import admin_flow, help_text
from services.moderator.deps import Ctx, Stores, open_stores
from services.moderator.dm_flood import check_dm, dm_gate
from services.moderator.flood_flow import check_flood
from services.moderator.friendship import greeting, hello_has_keyword
from services.moderator.front_desk_flow import (
    answer_not_understood,
    answer_small_talk,
    answer_typo,
    recognise_small_talk,
    recognise_typo,
)
from services.moderator.invite_flow import recognise_password, set_password, try_password, wrong_password
from services.moderator.observe import record_of, saw_leavers
from services.moderator.settings import ModeratorSettings
from services.moderator.vote_flow import handle_vote
from services.moderator.votekick import (
    CAST_KEYWORDS_EN,
    CAST_KEYWORDS_ZH,
    UNVOTE_USAGE,
    VOTE_USAGE,
    WITHDRAW_KEYWORDS_EN,
    WITHDRAW_KEYWORDS_ZH,
    parse_vote,
)
from services.moderator.welcome_flow import on_joined, sweep_welcomes
from services.shared import Bilingual, Intent, QunService
from services.shared.commands import language_of

service: QunService[ModeratorSettings, Stores] = QunService(
    "moderator",
    version="0.1.0",
    settings=ModeratorSettings,
    deps=open_stores,
    switchable=False,  # it holds the per-room switches: switching it off would leave nobody to switch it on
    publishes=(SayText, AddToRoom, RemoveFromRoom, AcceptFriendship),
    # ctx.erase_event(): direct messages that set or try a room password do not stay in the event stream.
    nats_publish=(f"$JS.API.STREAM.MSG.DELETE.{streams.EVENTS.name}",),
    title_zh="群管理",
    title_en="room admin",
    summary_zh="欢迎新人、投票踢人、密码进群、好友验证、防刷屏、帮助和群设置",
    summary_en="welcome, vote-kick, password invites, friend requests, anti-flood, help and room settings",
)

ChatHandler = Callable[[MessageReceived, Ctx, str], Awaitable[None]]


async def observe_message(event: MessageReceived, ctx: Ctx) -> bool:
    """What every message updates — a room message: the room directory, its known members, the flood counters; a
    direct message: its sender's count. False: answer nothing (the sender flooded the bot by direct message)."""
    if event.room is not None:
        await check_flood(event, ctx, event.room)
        return True
    return await check_dm(event, ctx)


def command(spec: ChatCommand) -> Callable[[ChatHandler], ChatHandler]:
    """``service.command`` with ``observe_message`` run first."""

    def register(handler: ChatHandler) -> ChatHandler:
        async def observed(event: MessageReceived, ctx: Ctx, args: str) -> None:
            if await observe_message(event, ctx):
                await handler(event, ctx, args)

        service.command(spec)(observed)
        return handler

    return register


# -- everything that is not one of our commands -------------------------------------------------------------


@service.on(MessageReceived)
async def on_message(event: MessageReceived, ctx: Ctx) -> None:
    """Every message another service answered, or nobody: it counts for flood; in a room it may be a
    ``@name [弱]`` vote."""
    await observe_message(event, ctx)
    if event.room is None:
        return
    intent = parse_vote(event.body, event.mention_ids, ctx.bot_id)
    if intent is not None:
        await handle_vote(event, ctx, intent)


service.on(RoomJoined)(on_joined)
service.background(sweep_welcomes)


@service.on(RoomLeft)
async def on_left(event: RoomLeft, ctx: Ctx) -> None:
    """Forget who left, so a password brings them back with an invitation rather than a mention."""
    await saw_leavers(ctx.deps, ctx.bot_id, event.room, event.leavers)


@service.on(RoomTopicChanged)
async def on_topic(event: RoomTopicChanged, ctx: Ctx) -> None:
    """Admins name rooms by topic in DMs: keep topics fresh."""
    await ctx.deps.rooms.remember_room(ctx.bot_id, record_of(event.room))


@service.on(FriendshipRequested)
async def on_friendship(event: FriendshipRequested, ctx: Ctx) -> None:
    """Accept requests with a configured keyword, then tell them which rooms they can join by password."""
    if not hello_has_keyword(event.hello, ctx.settings.friend_keywords):
        return
    await ctx.send(AcceptFriendship(friendship_id=event.friendship_id))
    invites = ctx.settings.password_invites
    room_ids = await ctx.deps.passwords.rooms_with_password(ctx.bot_id) if invites else []
    records = [r for r in [await ctx.deps.rooms.room(ctx.bot_id, i) for i in room_ids] if r is not None]
    text = greeting(records)
    await ctx.say(
        contact_id=event.contact.id, text=text.pick(language_of(event.hello) if event.hello else "zh")
    )


# -- the front desk: nothing addressed to the bot goes unanswered --------------------------------------------


@command(
    ChatCommand(
        name="hello",
        usage_zh="打个招呼：@我 你好 / 谢谢",
        usage_en="say hello: @me hi / thanks",
        examples_zh=["你好", "在吗", "谢谢"],
        examples_en=["hi", "thanks"],
    )
)
async def hello(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await answer_small_talk(event, ctx, args)


async def _muted(event: MessageReceived, ctx: Ctx) -> bool:
    """A direct message from a contact muted for flooding (or the one that mutes them): nothing to recognise."""
    return event.room is None and (await dm_gate(event, ctx)).muted


@service.recogniser("hello")
async def small_talk(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """A hello, a bare mention, thanks or "ok", and nothing more."""
    return None if await _muted(event, ctx) else recognise_small_talk(event)


@command(
    ChatCommand(
        name="did-you-mean", usage_zh="打错命令时提示最接近的命令", usage_en="suggests the closest command"
    )
)
async def did_you_mean(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await answer_typo(event, ctx, args)


@service.recogniser("did-you-mean")
async def typo(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """A message that starts with something close to a live keyword (`提型`, `remnd`, `帮主`)."""
    return None if await _muted(event, ctx) else await recognise_typo(event, ctx)


@service.fallback(rank=0)
async def not_understood(event: MessageReceived, ctx: Ctx) -> None:
    """Whatever nobody else took, in rooms and direct messages: how to find out what I can do."""
    tried = await wrong_password(event, ctx)  # a direct message that could be a password is erased either way
    if await observe_message(event, ctx):
        await answer_not_understood(event, ctx, wrong_password=tried)


# -- help -------------------------------------------------------------------------------------------------


@command(
    ChatCommand(
        name="help",
        keywords_zh=["帮助"],
        keywords_en=["help"],
        usage_zh="帮助 [服务或命令]：我能做什么；帮助 管理：管理员命令",
        usage_en="help [service or command]: what I can do; help admin: the admin commands",
    )
)
async def show_help(event: MessageReceived, ctx: Ctx, args: str) -> None:
    services = await ctx.discover()
    asker = help_text.Asker(lang=ctx.lang, admin=await ctx.is_admin(), in_room=event.room is not None)
    await ctx.reply(help_text.details(args, services, asker) if args else help_text.overview(services, asker))


# -- vote-kick ----------------------------------------------------------------------------------------------


@command(
    ChatCommand(
        name="vote-kick",
        keywords_zh=CAST_KEYWORDS_ZH,
        keywords_en=CAST_KEYWORDS_EN,
        usage_zh="踢 @某人 或 [弱] @某人：投票移出（不用 @我）",
        usage_en="vote kick @name: vote to remove someone (no need to mention me)",
        needs_mention=False,
        rooms_only=True,
    )
)
async def vote_kick(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await _vote(event, ctx, VOTE_USAGE)


async def _vote(event: MessageReceived, ctx: Ctx, usage: Bilingual) -> None:
    intent = parse_vote(event.body, event.mention_ids, ctx.bot_id)
    if intent is not None:
        await handle_vote(event, ctx, intent)
    elif (
        event.mentions_bot
    ):  # said to me, but no vote: how it goes ("踢球去吗" in passing is nobody's business)
        await ctx.reply(usage, mention_ids=[event.talker.id])


@command(
    ChatCommand(
        name="unvote",
        keywords_zh=WITHDRAW_KEYWORDS_ZH,
        keywords_en=WITHDRAW_KEYWORDS_EN,
        usage_zh="[强] @某人：撤回投票",
        usage_en="unvote @name: withdraw your vote",
        needs_mention=False,
        rooms_only=True,
    )
)
async def unvote(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await _vote(event, ctx, UNVOTE_USAGE)


# -- password invites ---------------------------------------------------------------------------------------


@command(
    ChatCommand(
        name="join",
        usage_zh="私聊我发进群密码，我就拉你进群",
        usage_en="DM me a room's password and I add you to the room",
    )
)
async def join(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await try_password(event, ctx)


@service.recogniser("join")
async def password(event: MessageReceived, ctx: Ctx) -> Intent | None:
    """A direct message that is a room's password (one answer: nobody else replies to it)."""
    if await _muted(event, ctx):
        return None  # not even checked: flooding is no way to try passwords
    return Intent(0.95) if await recognise_password(event, ctx) else None


@command(
    ChatCommand(
        name="set-password",
        keywords_zh=["设置进群密码"],
        keywords_en=["set password"],
        usage_zh="私聊我：设置进群密码 <群名> <密码>（「无」取消）；私聊我发密码即可进群",
        usage_en="DM me: set password <room> <password> (`off` clears); DM me a password to join its room",
        needs_mention=False,  # caught even without a mention in a group, to warn that it is public there
    )
)
async def set_room_password(event: MessageReceived, ctx: Ctx, args: str) -> None:
    await set_password(event, ctx, args)


# -- room admin ---------------------------------------------------------------------------------------------

RoomHandler = Callable[[Room, MessageReceived, Ctx, str], Awaitable[None]]


def room_command(spec: ChatCommand, handler: RoomHandler) -> None:
    """Register a room-admin command; the handler gets the room (the plumbing has answered a direct message)."""

    async def in_room(event: MessageReceived, ctx: Ctx, args: str) -> None:
        if event.room is not None:  # always: rooms_only
            await handler(event.room, event, ctx, args)

    command(spec)(in_room)


def admin_only(name: str, zh: list[str], en: list[str], usage_zh: str, usage_en: str) -> ChatCommand:
    """The plumbing answers a direct message and refuses everyone but admins before the handler runs."""
    return ChatCommand(
        name=name,
        keywords_zh=zh,
        keywords_en=en,
        usage_zh=usage_zh,
        usage_en=usage_en,
        admin_only=True,
        rooms_only=True,
    )


room_command(
    admin_only("add-admin", ["设为管理员"], ["add admin"], "设为管理员 @某人", "add admin @name"),
    admin_flow.add_admins,
)
room_command(
    admin_only("remove-admin", ["取消管理员"], ["remove admin"], "取消管理员 @某人", "remove admin @name"),
    admin_flow.remove_admins,
)
room_command(
    admin_only(
        "disable", ["关闭"], ["disable"], "关闭 <服务>：在本群关闭一个服务", "disable <service>: in this room"
    ),
    admin_flow.disable_service,
)
room_command(
    admin_only(
        "enable", ["开启"], ["enable"], "开启 <服务>：在本群重新开启", "enable <service>: in this room again"
    ),
    admin_flow.enable_service,
)
room_command(
    admin_only(
        "set-welcome",
        ["设置欢迎语"],
        ["set welcome"],
        "设置欢迎语 <文字>：可用 {names} {topic}；「默认」恢复",
        "set welcome <text>: {names} and {topic} are filled in; `default` restores",
    ),
    admin_flow.set_welcome,
)
room_command(
    admin_only(
        "set-flood",
        ["设置刷屏策略", "设置刷屏"],
        ["set flood policy", "set flood"],
        "设置刷屏 [警告|投票|踢出] [条数/秒数] [最大字数] [宽限秒数]",
        "set flood [warn|vote|remove] [messages/seconds] [max length] [grace seconds]",
    ),
    admin_flow.set_flood,
)
room_command(
    admin_only(
        "set-kick-votes",
        ["设置踢人票数"],
        ["set kick votes"],
        "设置踢人票数 <票数>|默认",
        "set kick votes <number>|auto",
    ),
    admin_flow.set_kick_votes,
)
room_command(
    admin_only(
        "set-language",
        ["设置语言"],
        ["set language"],
        "设置语言 中文|英文|自动：本群的回复语言（自动：跟随每条消息）",
        "set language zh|en|auto: this room's reply language (auto: that of each message)",
    ),
    admin_flow.set_language,
)
room_command(
    admin_only(
        "set-timezone",
        ["设置时区"],
        ["set timezone"],
        "设置时区 <IANA 时区名>|默认：本群的时区，例如 设置时区 Asia/Tokyo",
        "set timezone <IANA zone>|default: this room's time zone, e.g. set timezone Europe/Berlin",
    ),
    admin_flow.set_timezone,
)
