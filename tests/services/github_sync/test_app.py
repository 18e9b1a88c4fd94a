"""github-sync over the real bus: nats-server + redis-server per test, the service in-process, and the fake
GitHub on a local port. Webhooks are posted over HTTP to the service's own HTTP_PORT."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from schemas import Contact, MessageReceived, Quote, SayText
from services.github_sync.app import service
from services.github_sync.comments import member_tag
from services.github_sync.neutralise import ZWJ
from services.github_sync.webhook import sign
from services.history.app import service as history_service
from services.shared import Runtime
from services.shared.commands import match_command
from services.tagger.app import service as tagger_service
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, OTHER_ROOM, ROOM, message
from tests.services.github_sync.conftest import TOKEN
from tests.services.github_sync.fake_github import FakeGitHub, Scripted, bad_gateway
from tools.servers import free_port

SECRET = "webhook-secret-for-tests"
PAYLOADS = Path(__file__).parent / "payloads"
OWNER = Contact(id="owner", name="Owner")  # ROOM's owner: an admin
ISSUES = "/repos/acme/widgets/issues"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "github-sync.yaml"
    path.write_text(
        f"bindings:\n  - repos: [acme/widgets]\n    rooms: ['{ROOM.id}']\nallow: ['acme/*']\n",
        encoding="utf-8",
    )
    return path


Start = Callable[..., Any]


@pytest.fixture
def start(run_service: RunService, fake_github: FakeGitHub, config_file: Path) -> Start:
    """`async with start(**overrides) as runtime:` — github-sync wired to the fake GitHub and a webhook port."""

    @asynccontextmanager
    async def run(*, history: bool = True, **overrides: Any) -> AsyncIterator[Runtime[Any, Any]]:
        """`history`: the history service runs beside it (transcripts come from there)."""
        settings: dict[str, Any] = {
            "github_token": TOKEN,
            "github_api_url": fake_github.url,
            "github_webhook_secret": SECRET,
            "config": config_file,
            "retries": 1,
            "retry_base_s": 0.01,
            "outbox_first_retry_s": 60.0,
            "outbox_poll_s": 0.05,
            "http_port": free_port(),
            **overrides,
        }
        async with AsyncExitStack() as stack:
            if history:
                await stack.enter_async_context(run_service(history_service))
            runtime = await stack.enter_async_context(run_service(service, **settings))
            await stack.enter_async_context(runtime.serving_http())
            yield runtime

    return run


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def chat(body: str, *, seconds: int, talker: Contact = ALICE, **extra: Any) -> MessageReceived:
    """A room message `seconds` after a fixed start, not addressed to the bot."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    return message(
        body, talker=talker, mentions_bot=False, timestamp=start + timedelta(seconds=seconds), **extra
    )


async def say_all(bus: Bus, *events: MessageReceived) -> None:
    """Publish the events; the last one (the trigger, in most tests) once the history service has kept the others,
    as it has by the time a member typed the trigger."""
    for event in events[:-1]:
        await bus.publish_event(event)
    if len(events) > 1:
        await bus.consumer_settled("history")
    if events:
        await bus.publish_event(events[-1])


def replies_to(event: MessageReceived) -> Callable[[SayText], bool]:
    return lambda say: say.reply_to == event.id


def issue_opened(say: SayText) -> bool:
    """The background loop's answer to an issue request."""
    return say.text.startswith(("已创建 Issue", "Opened issue", "（延迟）已创建 Issue"))


# --- chat → issue -------------------------------------------------------------------------------------------


async def test_issue_from_the_last_messages(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    trigger = chat("以上3条开工单 [bug] 登录失败", seconds=10)
    async with start():
        await say_all(
            bus,
            chat("too old to be included", seconds=1),
            chat("登录页点了没反应 @alice 看下 #12", seconds=2, talker=BOB),
            chat("<script>alert(1)</script> & 复现了", seconds=3),
            chat("我来修", seconds=4, talker=BOB, quote=Quote(talker_name="Alice", text="谁来修？\n急")),
            chat("I am the bot", seconds=5, from_self=True),
            trigger,
        )
        [filing] = await bus.says(replies_to(trigger))
        [reply] = await bus.says(issue_opened)
    [issue] = fake_github.issues("acme/widgets")
    assert filing.text == "正在把 3 条消息提交到 acme/widgets，稍后回复 Issue 链接。"
    assert reply.room_id == ROOM.id
    assert reply.mention_ids == [ALICE.id]
    assert reply.text == "已创建 Issue #1：https://github.com/acme/widgets/issues/1"
    assert issue["title"] == "登录失败"
    assert [label["name"] for label in issue["labels"]] == ["bug"]
    body = issue["body"]
    assert "too old" not in body
    assert "I am the bot" not in body
    assert "开工单" not in body
    assert "**Bob** · " in body
    assert f"登录页点了没反应 @{ZWJ}alice 看下 #{ZWJ}12" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 复现了" in body
    assert "> *（引用，未核实）* 谁来修？\n> 急\n\n我来修" in body  # typed by Bob: his, not Alice's
    assert body.index("登录页") < body.index("&lt;script") < body.index("我来修")
    assert "由 Alice 从微信群「开源交流群」的 3 条消息开单" in body


async def test_english_trigger_with_mention_and_digest_title(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    trigger = message("issue last 2", timestamp=datetime.now(UTC))
    async with start():
        await say_all(
            bus, chat("Export to CSV crashes on empty tables, every single time we try it", seconds=1)
        )
        await say_all(bus, chat("confirmed", seconds=2, talker=BOB), trigger)
        [filing] = await bus.says(replies_to(trigger))
        [reply] = await bus.says(issue_opened)
    assert filing.text == "Filing 2 message(s) in acme/widgets; the issue link follows."
    [issue] = fake_github.issues("acme/widgets")
    assert reply.text == "Opened issue #1: https://github.com/acme/widgets/issues/1"
    assert issue["title"] == "Export to CSV crashes on empty tables, every single time we…"
    assert len(issue["title"]) <= 60
    assert "Opened from the chat “开源交流群” by Alice, from 2 messages" in issue["body"]


async def test_502_then_201_files_one_issue(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    fake_github.script("POST", ISSUES, bad_gateway())
    trigger = chat("以上开工单", seconds=10)
    async with start():
        await say_all(bus, chat("something broke", seconds=1), trigger)
        [reply] = await bus.says(issue_opened)
    assert reply.text.startswith("已创建 Issue #1")
    assert len(fake_github.calls("POST", ISSUES)) == 2
    assert len(fake_github.issues("acme/widgets")) == 1


async def test_github_down_the_request_waits_and_the_room_is_told(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    fake_github.script("POST", ISSUES, *[bad_gateway()] * 4)  # first try + 1 retry, twice
    trigger = chat("以上开工单 支付超时", seconds=10)
    async with start() as runtime:
        await say_all(bus, chat("支付一直转圈", seconds=1), trigger)
        [delayed] = await bus.says(lambda say: "GitHub 暂时无法访问" in say.text)
        assert (delayed.room_id, delayed.mention_ids) == (ROOM.id, [ALICE.id])
        runtime.clock.offset = timedelta(seconds=61)  # next attempt due; still 502
        await eventually(lambda: len(fake_github.calls("POST", ISSUES)) == 4)
        runtime.clock.offset = timedelta(seconds=61 + 121)  # GitHub is back
        [done] = await bus.says(lambda say: "（延迟）已创建 Issue #1" in say.text)
    assert (done.room_id, done.mention_ids) == (ROOM.id, [ALICE.id])
    assert [issue["title"] for issue in fake_github.issues("acme/widgets")] == ["支付超时"]
    assert len(bus.commands(SayText)) == 3  # "filing", "delayed" once, "done" once


async def test_a_refusal_is_reported_once_and_not_retried(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    fake_github.script("POST", ISSUES, Scripted(410, {"message": "Issues are disabled for this repo"}))
    trigger = chat("以上开工单", seconds=10)
    async with start() as runtime:
        await say_all(bus, chat("x", seconds=1), trigger)
        [refused] = await bus.says(lambda say: say.text.startswith("GitHub 拒绝了这个请求"))
        runtime.clock.offset = timedelta(hours=1)
        await bus.consumer_settled("github-sync")
    assert refused.text == "GitHub 拒绝了这个请求：Issues are disabled for this repo"
    assert (refused.room_id, refused.mention_ids) == (ROOM.id, [ALICE.id])
    assert len(fake_github.calls("POST", ISSUES)) == 1
    assert fake_github.issues("acme/widgets") == []


async def test_two_replicas_drain_a_waiting_request_once(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    fake_github.script("POST", ISSUES, bad_gateway(), bad_gateway())
    trigger = chat("以上开工单", seconds=10)
    async with start() as one, start() as two:
        await say_all(bus, chat("x", seconds=1), trigger)
        await bus.says(lambda say: "GitHub 暂时无法访问" in say.text, timeout=10)
        one.clock.offset = two.clock.offset = timedelta(seconds=61)
        # two instances on a shared 2-core machine: allow more than the default 5 s
        await bus.says(lambda say: "（延迟）已创建 Issue #1" in say.text, timeout=10)
        await eventually(lambda: len(fake_github.calls("POST", ISSUES)) >= 3)
        await bus.consumer_settled("github-sync")
        stored = await stored_says(bus)
    assert len(fake_github.issues("acme/widgets")) == 1
    # Both replicas may announce the result, under one id: what JetStream stored is what the gateway sends.
    assert len([say for say in stored if "（延迟）" in say.text]) == 1


async def test_a_redelivered_trigger_files_once(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    trigger = chat("以上开工单", seconds=10)
    async with start():
        await say_all(bus, chat("x", seconds=1), trigger)
        await bus.says(issue_opened)
        await bus.publish_raw(
            "qun.evt.bot.message", trigger.model_dump_json().encode(), msg_id=trigger.id + "-again"
        )
        first, again = await bus.says(replies_to(trigger), count=2)
        await bus.consumer_settled("github-sync")
        stored = (await bus.js.stream_info("QUN_CMD")).state.messages
    assert again.model_dump_json() == first.model_dump_json()  # same id: JetStream keeps one
    assert stored == 2  # "filing" once, the issue link once
    assert len(fake_github.issues("acme/widgets")) == 1


async def test_several_repos_bound_asks_which(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    fake_github.add_repo("acme/gadgets")
    bind = message("绑定 acme/gadgets", talker=OWNER)
    ambiguous = chat("以上开工单", seconds=10)
    named = chat("以上开工单 acme/gadgets 换个按钮", seconds=11)
    async with start():
        await say_all(bus, bind)
        await bus.says(replies_to(bind))
        await say_all(bus, chat("按钮太小", seconds=1), ambiguous)
        [question] = await bus.says(replies_to(ambiguous))
        await say_all(bus, named)
        [created] = await bus.says(issue_opened)
    assert "acme/gadgets, acme/widgets" in question.text
    assert created.text.startswith("已创建 Issue #1")
    assert [issue["title"] for issue in fake_github.issues("acme/gadgets")] == ["换个按钮"]


async def test_history_off_means_no_issue(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    """Recording is the history service's switch (admins: `聊天记录 关`); github-sync's own is gone."""
    off = message("聊天记录 关", talker=OWNER)
    old_switch = message("仓库设置 记录 关", talker=OWNER)
    trigger = chat("以上开工单", seconds=10)
    async with start():
        for event in (off, old_switch):
            await say_all(bus, event)
            await bus.says(replies_to(event))
        await say_all(bus, chat("secret", seconds=1), trigger)
        [reply] = await bus.says(replies_to(trigger))
    assert reply.text == "本群没有保存聊天记录，无法开工单。管理员可以 @我 聊天记录 开。"
    moved = [say.text for say in bus.commands(SayText) if say.reply_to == old_switch.id]
    assert moved == ["聊天记录由群聊记录服务统一保存：管理员可以 @我 聊天记录 开/关。"]
    assert fake_github.issues("acme/widgets") == []


async def test_without_the_history_service_the_member_is_told(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    trigger = chat("以上开工单", seconds=10)
    status = message("github", talker=BOB)
    async with start(history=False, history_timeout_s=0.5):
        await bus.publish_event(trigger)
        [reply] = await bus.says(replies_to(trigger))
        await bus.publish_event(status)
        [shown] = await bus.says(replies_to(status))
    assert reply.text == "聊天记录服务暂时没有响应，无法读取最近的消息，请稍后再试。"
    assert "History: history service not answering" in shown.text
    assert fake_github.issues("acme/widgets") == []


async def test_a_slow_github_does_not_hold_up_the_room(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    """GitHub is called from the background loop, never from a handler: the room's next message is answered
    while the issue is still on its way."""
    slow = fake_github.hold()
    trigger = chat("以上开工单", seconds=10)
    status = message("github", talker=BOB)
    async with start():
        await say_all(bus, chat("x", seconds=1), trigger)
        await bus.says(replies_to(trigger))
        await say_all(bus, status)
        [answer] = await bus.says(replies_to(status))
        assert fake_github.issues("acme/widgets") == []  # GitHub has not answered yet
        slow.set()
        [done] = await bus.says(issue_opened)
    assert answer.text.startswith("Repositories: acme/widgets")
    assert "History: on" in answer.text  # asked of the history service
    assert done.text == "已创建 Issue #1：https://github.com/acme/widgets/issues/1"


async def test_transcript_times_are_in_the_rooms_time_zone(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    said = chat("支付失败", seconds=1)
    async with start() as runtime:
        await runtime.rooms.set_timezone(ROOM.id, "America/New_York")
        await say_all(bus, said, chat("以上开工单", seconds=10))
        await bus.says(issue_opened)
    [issue] = fake_github.issues("acme/widgets")
    new_york = said.timestamp.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M")
    shanghai = said.timestamp.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"**Alice** · {new_york}" in issue["body"]
    assert shanghai not in issue["body"]  # not QUN_TIMEZONE's


async def test_chat_that_starts_like_a_trigger_is_kept_and_not_answered(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    """`以上` is declared as a command (so the tagger leaves it alone); plain chat starting with it is history."""
    summary = chat("以上就是今天的结论", seconds=1)
    asked = message(
        "以上是不是都对？", mentions_bot=False, timestamp=datetime.now(UTC) - timedelta(minutes=4)
    )
    trigger = message("以上3条开工单", timestamp=datetime.now(UTC))
    async with start():
        await say_all(bus, summary, asked, trigger)
        await bus.says(issue_opened)
        await bus.consumer_settled("github-sync")
    [issue] = fake_github.issues("acme/widgets")
    assert "以上就是今天的结论" in issue["body"]
    assert "以上是不是都对？" in issue["body"]
    assert {say.reply_to for say in bus.commands(SayText)} == {trigger.id, None}  # filing, then the link


async def test_other_services_see_the_trigger_and_the_settings_keyword_as_ours(
    bus: Bus, start: Start
) -> None:
    """The tagger answers "@bot …" unless another service's command matches the body (registry keywords)."""
    async with start() as runtime:
        [info] = [i for i in await runtime.discover() if i.name == "github-sync"]
    ours = [
        "以上5条开工单 登录失败",
        "以上开工单",
        "以上五条创建 Issue",
        "开工单 5",
        "issue last 5",
        "仓库设置 记录 关",
        "github",
        "绑定 acme/x",
    ]
    questions = ["仓库地址是多少", "仓库在哪里", "以前的工单呢"]
    assert [body for body in ours if match_command(body, info.commands) is None] == []
    assert [body for body in questions if match_command(body, info.commands) is not None] == []


async def test_rooms_that_follow_nothing_cost_nothing_and_nothing_is_kept_twice(
    bus: Bus, start: Start, redis: Redis
) -> None:
    async with start():
        await say_all(bus, chat("private", seconds=1, room=OTHER_ROOM), chat("kept", seconds=2))
        await bus.consumer_settled("github-sync")
    assert not await redis.exists(f"github-sync:room:{OTHER_ROOM.id}:bot")  # no work at all for such rooms
    assert await redis.get(f"github-sync:room:{ROOM.id}:bot") == "bot"
    assert await redis.keys("github-sync:room:*:history*") == []  # the one history is the history service's


async def test_a_room_bound_in_chat_can_file_at_once(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    """Whether a room follows anything is cached per process; binding it must take effect at once. The history
    is the room's, kept by the history service whether or not it followed a repository then."""
    bind = message("绑定 acme/widgets", room=OTHER_ROOM, talker=Contact(id="owner2", name="Owner 2"))
    trigger = chat("以上开工单", seconds=10, room=OTHER_ROOM)
    async with start():
        await say_all(bus, chat("before binding", seconds=1, room=OTHER_ROOM), bind)
        await bus.says(replies_to(bind))
        await say_all(bus, chat("after binding", seconds=2, room=OTHER_ROOM), trigger)
        await bus.says(issue_opened)
    [issue] = fake_github.issues("acme/widgets")
    assert "after binding" in issue["body"]
    assert "before binding" in issue["body"]


# --- binding permissions ------------------------------------------------------------------------------------


async def test_only_admins_bind_and_unbind(bus: Bus, start: Start) -> None:
    by_member = message("绑定 acme/gadgets", talker=BOB)
    by_owner = message("bind acme/gadgets", talker=OWNER)
    unbind_by_member = message("解绑 acme/gadgets", talker=BOB)
    status = message("github", talker=BOB)
    async with start():
        for event in (by_member, by_owner, unbind_by_member, status):
            await say_all(bus, event)
            await bus.says(replies_to(event))
    texts = {say.reply_to: say.text for say in bus.commands(SayText)}
    assert "只有管理员" in texts[by_member.id]
    assert texts[by_owner.id] == "Now following acme/gadgets."
    assert "只有管理员" in texts[unbind_by_member.id]
    assert "Repositories: acme/gadgets, acme/widgets" in texts[status.id]


async def test_chat_binding_is_limited_to_what_the_operator_allows(
    bus: Bus, start: Start, tmp_path: Path
) -> None:
    """Room owners count as admins, and whatever is bound is written to with the operator's token: only the
    repositories under `allow:` in the config file may be bound in chat."""
    outside = message("bind corp/private", talker=OWNER)
    inside = message("绑定 acme/gadgets", talker=OWNER)
    no_allow_list = tmp_path / "no-allow.yaml"
    no_allow_list.write_text("bindings: []\n", encoding="utf-8")
    refused_everywhere = message("绑定 acme/gadgets", talker=OWNER)
    async with start():
        await say_all(bus, outside, inside)
        await bus.says(replies_to(outside))
        await bus.says(replies_to(inside))
    async with start(config=no_allow_list):
        await say_all(bus, refused_everywhere)
        [off] = await bus.says(replies_to(refused_everywhere))
    texts = {say.reply_to: say.text for say in bus.commands(SayText)}
    assert texts[outside.id].startswith(
        "corp/private is not among the repositories that may be bound in chat"
    )
    assert texts[inside.id].startswith("已绑定 acme/gadgets")
    assert "GITHUB_SYNC_CONFIG" in off.text
    assert off.text.startswith("在聊天中绑定仓库已关闭")


async def test_settings_changes_are_admin_only(bus: Bus, start: Start) -> None:
    member = message("github notify releases", talker=BOB)
    owner = message("github notify releases", talker=OWNER)
    async with start():
        for event in (member, owner):
            await say_all(bus, event)
            await bus.says(replies_to(event))
    texts = {say.reply_to: say.text for say in bus.commands(SayText)}
    assert texts[member.id] == "Only admins can change these settings."
    assert texts[owner.id] == "This room will get: releases"


# --- GitHub → chat ------------------------------------------------------------------------------------------


def signed(fixture: str, delivery_id: str, *, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = (PAYLOADS / f"{fixture}.json").read_bytes()
    return body, {
        "X-GitHub-Event": fixture.split(".", maxsplit=1)[0],
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(secret.encode(), body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
    }


async def post(runtime: Runtime[Any, Any], body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.settings.http_port}") as http:
        return await http.post("/github/webhook", content=body, headers=headers)


def webhook_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("qun_github_sync_webhooks_total", {"outcome": outcome}) or 0.0


async def room_seen(bus: Bus, runtime: Runtime[Any, Any]) -> None:
    """The service learns which bot speaks in the room from any message there."""
    await say_all(bus, chat("hello", seconds=0))
    bots = runtime.context.deps.room_bots
    deadline = time.monotonic() + 5
    while await bots.bot_for(ROOM.id) is None:
        assert time.monotonic() < deadline, "the room's bot was not recorded"
        await asyncio.sleep(0.01)


EVENTS = [
    ("issues.opened", "[GitHub] acme/widgets#42 新 Issue：Login button does nothing on Safari"),
    ("issues.closed", "[GitHub] acme/widgets#42 Issue 已关闭：Login button does nothing on Safari"),
    ("issues.reopened", "[GitHub] acme/widgets#42 Issue 重新打开："),
    ("issue_comment.created", "[GitHub] acme/widgets#42 bob-dev 评论了 Issue「Login button"),
    ("issue_comment.created.pull_request", "[GitHub] acme/widgets#57 bob-dev 评论了 PR「Fix Safari"),
    ("pull_request.opened", "[GitHub] acme/widgets#57 新 PR：Fix Safari click handler on login"),
    ("pull_request.closed.merged", "[GitHub] acme/widgets#57 PR 已合并：Fix Safari"),
    ("pull_request.closed.unmerged", "[GitHub] acme/widgets#57 PR 已关闭：Fix Safari"),
    ("pull_request_review.submitted", "[GitHub] acme/widgets#57 alice 批准了 PR「Fix Safari"),
    ("release.published", "[GitHub] acme/widgets@v2.3.0 新发布：Widgets 2.3.0"),
]


async def test_each_event_type_is_announced_in_the_bound_room(bus: Bus, start: Start) -> None:
    async with start(notices_per_hour=20) as runtime:
        await room_seen(bus, runtime)
        for n, (fixture, _) in enumerate(EVENTS):
            response = await post(runtime, *signed(fixture, f"delivery-{n}"))
            assert response.status_code == 200, response.text
        notices = await bus.says(lambda say: say.text.startswith("[GitHub]"), count=len(EVENTS))
    texts = [say.text for say in notices]
    for _, expected in EVENTS:
        assert any(text.startswith(expected) for text in texts), expected
    assert {say.room_id for say in notices} == {ROOM.id}
    assert len(texts) == len(EVENTS)
    assert {say.priority for say in notices} == {"notice"}
    for say in notices:  # a notice hours late is noise: the gateway drops it after half an hour
        assert say.deadline is not None
        assert timedelta(minutes=29) < say.deadline - datetime.now(UTC) <= timedelta(minutes=30)


def comment_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    data = json.loads((PAYLOADS / "issue_comment.created.json").read_text(encoding="utf-8"))
    data["comment"]["id"] = 1000 + n
    data["comment"]["body"] = f"comment number {n}"
    body = json.dumps(data).encode()
    return body, {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": f"burst-{n}",
        "X-Hub-Signature-256": sign(SECRET.encode(), body),
    }


async def test_thirty_comments_become_a_few_notices_and_one_digest(bus: Bus, start: Start) -> None:
    """The room's hourly budget (6 here): 5 notices at once, the other 25 folded into one digest when the burst
    ends."""
    async with start(notices_per_hour=6, digest_quiet_s=120) as runtime:
        await room_seen(bus, runtime)
        for n in range(30):
            assert (await post(runtime, *comment_delivery(n))).status_code == 200
        notices = await bus.says(lambda say: say.text.startswith("[GitHub] acme/"), count=5)
        await bus.consumer_settled("github-sync")
        assert not [say for say in bus.commands(SayText) if "另有" in say.text]  # the burst has not ended
        runtime.clock.offset = timedelta(seconds=121)
        [digest] = await bus.says(lambda say: say.text.startswith("[GitHub] 另有"))
        runtime.clock.offset = timedelta(minutes=30)
        await post(runtime, *comment_delivery(30))  # the hour's 6 messages are used: it waits
        runtime.clock.offset = timedelta(minutes=61)  # the budget renews: its digest goes out
        [renewed] = await bus.says(lambda say: say.text.startswith("[GitHub] 另有 1 条"))
    assert ["comment number" in say.text for say in notices] == [True] * 5
    lines = digest.text.split("\n")
    assert lines[0] == "[GitHub] 另有 25 条更新："
    assert lines[1].startswith("· acme/widgets#42 bob-dev 评论了 Issue「")
    assert lines[-1] == "……还有 17 条"
    assert len(digest.text) <= 700
    assert (digest.room_id, digest.priority) == (ROOM.id, "notice")
    assert digest.deadline is not None
    assert "comment number 30" not in renewed.text  # one line per notice: the title, not the comment
    said = [say for say in bus.commands(SayText) if say.text.startswith("[GitHub]")]
    assert len(said) == 5 + 1 + 1


async def test_unsigned_forged_and_replayed_deliveries(bus: Bus, start: Start) -> None:
    body, headers = signed("issues.opened", "delivery-1")
    refused_before = webhook_count("refused")
    async with start() as runtime:
        await room_seen(bus, runtime)
        unsigned = await post(runtime, body, {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"})
        forged = await post(runtime, *signed("issues.opened", "delivery-1", secret="guessed"))
        tampered = await post(runtime, body.replace(b"Safari", b"Chrome"), headers)
        genuine = await post(runtime, body, headers)
        replayed = await post(runtime, body, headers)
        new_ids = [
            await post(runtime, body, {**headers, "X-GitHub-Delivery": f"fresh-{n}"}) for n in range(2)
        ]
        await bus.says(lambda say: say.text.startswith("[GitHub]"))
        ping = await post(runtime, *signed("ping", "delivery-2"))
        await bus.consumer_settled("github-sync")
    assert [r.status_code for r in (unsigned, forged, tampered)] == [401, 401, 401]
    assert webhook_count("refused") - refused_before == 3
    assert (genuine.status_code, replayed.status_code, replayed.text) == (200, 200, "redelivery ignored")
    assert [(r.status_code, r.text) for r in new_ids] == [(200, "replayed body ignored")] * 2
    assert (ping.status_code, ping.text) == (200, "pong")
    assert len([say for say in bus.commands(SayText) if say.text.startswith("[GitHub]")]) == 1


def signed_raw(body: bytes) -> dict[str, str]:
    return {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "raw",
        "X-Hub-Signature-256": sign(SECRET.encode(), body),
    }


async def test_deep_huge_or_oversized_bodies_are_refused_and_the_service_goes_on(
    bus: Bus, start: Start
) -> None:
    """Before: a 100k-deep body escaped decoding (500 from the server); now the plumbing's JSON limits apply."""
    deep = b"[" * 100_000 + b"]" * 100_000
    digits = b'{"action": "opened", "n": ' + b"1" * 5000 + b"}"
    oversized = b'{"pad": "' + b"x" * (1 << 20) + b'"}'
    async with start() as runtime:
        await room_seen(bus, runtime)
        answers = [await post(runtime, body, signed_raw(body)) for body in (deep, digits, oversized)]
        still = await post(runtime, *signed("issues.opened", "after"))
        await bus.says(lambda say: say.text.startswith("[GitHub]"))
    assert [r.status_code for r in answers] == [400, 400, 413]
    assert "RecursionError" in answers[0].text
    assert "ValueError" in answers[1].text
    assert still.status_code == 200


async def test_room_filters_choose_notices(bus: Bus, start: Start) -> None:
    only_releases = message("仓库设置 通知 发布", talker=OWNER)
    async with start() as runtime:
        await say_all(bus, only_releases)
        await bus.says(replies_to(only_releases))
        await post(runtime, *signed("issues.opened", "d-1"))
        await post(runtime, *signed("release.published", "d-2"))
        [notice] = await bus.says(lambda say: say.text.startswith("[GitHub]"))
        await bus.consumer_settled("github-sync")
    assert notice.text.startswith("[GitHub] acme/widgets@v2.3.0")
    assert len([say for say in bus.commands(SayText) if say.text.startswith("[GitHub]")]) == 1


# --- chat → comment -----------------------------------------------------------------------------------------


NOTICE_42 = "[GitHub] acme/widgets#42 新 Issue：Login button does nothing on Safari"


async def announce_issue_42(bus: Bus, runtime: Runtime[Any, Any]) -> None:
    """The bot posts the notice of acme/widgets#42 in ROOM, as members would then quote it."""
    await room_seen(bus, runtime)
    await post(runtime, *signed("issues.opened", "d-42"))
    await bus.says(lambda say: say.text.startswith(NOTICE_42))


def answer(body: str, *, seconds: int, talker: Contact = ALICE, **extra: Any) -> MessageReceived:
    """A reply quoting something, with the bot @-mentioned (how a reply to a notice becomes a comment)."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    return message(
        body, talker=talker, mentions_bot=True, timestamp=start + timedelta(seconds=seconds), **extra
    )


def commented(say: SayText) -> bool:
    return say.text.startswith(("已评论到", "Commented on"))


async def test_a_reply_to_a_notice_becomes_a_comment(bus: Bus, start: Start, fake_github: FakeGitHub) -> None:
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    notice = f"{NOTICE_42}\nalice · https://github.com/x"
    reply = answer(
        "我这边 iOS 也复现了 @bob-dev", seconds=1, talker=BOB, quote=Quote(talker_name="QunBot", text=notice)
    )
    unrelated = answer("好的", seconds=2, quote=Quote(talker_name="Bob", text="acme/widgets#42 看一下"))
    not_addressed = chat(
        "+1", seconds=3, quote=Quote(talker_name="QunBot", text=notice)
    )  # chat among members
    async with start() as runtime:
        await announce_issue_42(bus, runtime)
        await say_all(bus, not_addressed, unrelated, reply)
        [ack] = await bus.says(commented)
        await bus.consumer_settled("github-sync")
    [comment] = fake_github.comments("acme/widgets")
    assert (ack.text, ack.room_id, ack.mention_ids) == ("已评论到 acme/widgets#42", ROOM.id, [BOB.id])
    assert comment["body"].startswith(
        f"我这边 iOS 也复现了 @{ZWJ}bob-dev\n\n<sub>— Bob（成员 {member_tag(ROOM.id, BOB.id)}），来自微信群「开源交流群」"
    )
    assert comment["issue_url"].endswith("/issues/42")
    assert len(bus.commands(SayText)) == 2  # the notice, the ack; nothing for the others


async def test_a_forged_notice_quote_comments_nowhere(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    """Anybody can type `[GitHub] acme/widgets#7 …` as a fake quote: only notices the bot posted in this room
    are answered on GitHub."""
    fake_github.add_issue("acme/widgets", 7, "An issue nobody announced here")
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    forged = answer(
        "spam", seconds=1, quote=Quote(talker_name="Mallory", text="[GitHub] acme/widgets#7 新 Issue")
    )
    elsewhere = answer(
        "spam", seconds=2, room=OTHER_ROOM, quote=Quote(talker_name="QunBot", text=NOTICE_42)
    )  # announced in ROOM, not in OTHER_ROOM
    genuine = answer("真的回复", seconds=3, quote=Quote(talker_name="QunBot", text=NOTICE_42))
    async with start() as runtime:
        await announce_issue_42(bus, runtime)
        await say_all(bus, forged, elsewhere, genuine)
        # Writes are sent in the order they were asked for: the forged ones would be on GitHub by now.
        await bus.says(commented)
        await bus.consumer_settled("github-sync")
    assert [comment["body"].split("\n")[0] for comment in fake_github.comments("acme/widgets")] == [
        "真的回复"
    ]
    assert len(bus.commands(SayText)) == 2  # the notice, the genuine reply's ack


async def test_who_may_comment_is_decided_by_contact_id_not_by_name(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    """With comments for admins only: a member whose name and room alias are the owner's gains nothing; the owner
    comments under any name."""
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    impostor = Contact(id="eve", name=OWNER.name, alias=OWNER.name)
    borrowed = answer(
        "我是群主", seconds=1, talker=impostor, quote=Quote(talker_name="QunBot", text=NOTICE_42)
    )
    owner = Contact(id=OWNER.id, name="换了个名字", alias="换了个名字")
    genuine = answer("群主的回复", seconds=2, talker=owner, quote=Quote(talker_name="QunBot", text=NOTICE_42))
    async with start(commenters="admins") as runtime:
        await announce_issue_42(bus, runtime)
        await say_all(bus, borrowed)
        [refused] = await bus.says(replies_to(borrowed))
        await say_all(bus, genuine)
        [ack] = await bus.says(commented)
    assert refused.text == "本群只有管理员可以把回复转成 GitHub 评论。"
    [comment] = fake_github.comments("acme/widgets")
    assert comment["body"].startswith(
        f"群主的回复\n\n<sub>— 换了个名字（成员 {member_tag(ROOM.id, OWNER.id)}）"
    )
    assert ack.mention_ids == [OWNER.id]


async def test_a_verified_quote_of_somebody_elses_message_is_no_notice(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    """The gateway verified who said the quoted text: only the bot's own messages are notices."""
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    bobs = Quote(talker_name="Bob", text=NOTICE_42, verified=True, talker_id=BOB.id)
    bots = Quote(talker_name="QunBot", text=NOTICE_42, verified=True, talker_id="bot")
    async with start() as runtime:
        await announce_issue_42(bus, runtime)
        await say_all(bus, answer("copied", seconds=1, quote=bobs), answer("real", seconds=2, quote=bots))
        await bus.says(commented)
        await bus.consumer_settled("github-sync")
    assert [c["body"].split("\n")[0] for c in fake_github.comments("acme/widgets")] == ["real"]


async def test_the_comments_own_webhook_is_not_echoed_to_its_room(
    bus: Bus, start: Start, fake_github: FakeGitHub
) -> None:
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    reply = answer("ok", seconds=1, quote=Quote(talker_name="QunBot", text=NOTICE_42))
    async with start() as runtime:
        await announce_issue_42(bus, runtime)
        await say_all(bus, reply)
        await bus.says(commented)
        data = json.loads((PAYLOADS / "issue_comment.created.json").read_text(encoding="utf-8"))
        data["comment"]["body"] = fake_github.comments("acme/widgets")[0]["body"]
        body = json.dumps(data).encode()
        headers = {
            "X-GitHub-Event": "issue_comment",
            "X-GitHub-Delivery": "d-9",
            "X-Hub-Signature-256": sign(SECRET.encode(), body),
        }
        response = await post(runtime, body, headers)
    assert response.text == "announced in 0 room(s)"


async def test_service_registers_its_commands(bus: Bus, start: Start) -> None:
    async with start() as runtime:
        [info] = [i for i in await runtime.discover() if i.name == "github-sync"]
    assert {c.name for c in info.commands} == {"issue", "above", "bind", "unbind", "github", "comment"}
    assert (info.title_zh, info.title_en) == ("GitHub", "GitHub")
    assert all(c.rooms_only for c in info.commands)
    assert {"绑定", "bind", "解绑", "unbind", "以上", "仓库设置"} <= {
        k for c in info.commands for k in c.keywords
    }
    assert all(c.admin_only for c in info.commands if c.name in {"bind", "unbind"})


async def stored_says(bus: Bus) -> list[SayText]:
    """Every SayText stored in QUN_CMD (a core subscription also sees publishes JetStream dropped as duplicates)."""
    last = (await bus.js.stream_info("QUN_CMD")).state.last_seq
    stored = [await bus.js.get_msg("QUN_CMD", sequence) for sequence in range(1, last + 1)]
    return [
        SayText.model_validate_json(message.data or b"")
        for message in stored
        if (message.subject or "").endswith(".say")
    ]


async def test_a_reply_to_a_notice_gets_one_answer_the_comment_not_also_the_taggers(
    bus: Bus, start: Start, run_service: RunService, fake_github: FakeGitHub
) -> None:
    """Quote a notice + @bot with a question: github-sync's recogniser claims it, so the tagger's question fallback
    stays silent. The same question quoting something that is no notice here goes to the tagger."""
    fake_github.add_issue("acme/widgets", 42, "Login button does nothing on Safari")
    question = "这个问题是不是 Safari 的 bug？"
    on_notice = answer(question, seconds=1, talker=BOB, quote=Quote(talker_name="QunBot", text=NOTICE_42))
    elsewhere = answer(question, seconds=2, quote=Quote(talker_name="Bob", text="登录按钮没反应"))
    async with run_service(tagger_service), start() as runtime:
        await announce_issue_42(bus, runtime)
        await say_all(bus, on_notice)
        [ack] = await bus.says(commented)
        await say_all(bus, elsewhere)
        [tagger] = await bus.says(replies_to(elsewhere), timeout=10)
        await bus.consumer_settled("github-sync")
        await bus.consumer_settled("tagger")
    assert [c["body"].split("\n")[0] for c in fake_github.comments("acme/widgets")] == [question]
    assert ack.mention_ids == [BOB.id]
    assert [
        say for say in bus.commands(SayText) if say.reply_to == on_notice.id
    ] == []  # nobody else answered
    assert tagger.text  # the tagger's answer to a question that quotes no notice


async def test_direct_messages_get_the_dispatchers_one_wording(bus: Bus, start: Start) -> None:
    dm = message("以上5条开工单", room=None)
    async with start():
        await bus.publish_event(dm)
        [reply] = await bus.says(replies_to(dm))
    assert reply.text == "这个命令只能在群里用。"
