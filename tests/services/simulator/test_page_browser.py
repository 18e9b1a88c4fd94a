"""The chat page in a real headless Chromium (Debian's), driven by Playwright.

Most tests play the bot's side through the world (as the gateway would send through the puppet), so the page is
proven on its own; the last test runs the whole stack in process (the page, the simulator, the gateway on
python-wechaty, the moderator and the tagger over real NATS and Redis): help, tag and ask, welcome.
Needs `apt-get install chromium fonts-noto-cjk`; skipped loudly without them. A failure saves a screenshot and
prints its path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from schemas import LoggedIn
from services.gateway.app import make_service as make_gateway
from services.gateway.settings import GatewaySettings
from services.moderator.app import service as moderator
from services.scheduler.app import service as scheduler
from services.simulator.http import serving
from services.simulator.puppet import SimulatorPuppet
from services.simulator.world import AT_SEPARATOR, OSS_ROOM_ID, QUOTE_SEPARATOR, TEST_ROOM_ID, SimulatorWorld
from services.tagger.app import service as tagger
from tests.browser import browser_page
from tests.conftest import Bus, RunService
from tests.services.gateway.test_files import tiny_png

#: The gateway without its anti-ban pacing, so that the test is quick.
FAST_GATEWAY = {
    "room_per_second": 1000.0,
    "room_burst": 100,
    "account_per_minute": 60000.0,
    "account_burst": 100,
    "jitter_s": 0.0,
}

pytestmark = pytest.mark.browser


@dataclass
class PageUnderTest:
    page: Any
    world: SimulatorWorld
    url: str


@pytest.fixture
async def chat(
    request: pytest.FixtureRequest, test_has_failed: Callable[[], bool]
) -> AsyncIterator[PageUnderTest]:
    world = SimulatorWorld()
    async with (
        serving(world, port=0) as url,
        browser_page(request.node.name, timeout_ms=5000, failed=test_has_failed) as page,
    ):
        await page.goto(f"{url}/?room={OSS_ROOM_ID}")
        await page.wait_for_selector("#connection.online")
        yield PageUnderTest(page, world, url)


async def send(page: Any, text: str) -> None:
    await page.fill("#input", text)
    await page.press("#input", "Enter")


async def test_bot_help_round_trip_with_highlighted_mentions(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.select_option("#speaker", "wxid_bob")
    await send(page, "@QunBot help")
    sent = page.locator(".msg.mine .bubble", has_text="help")
    await sent.wait_for()
    assert await sent.locator(".mention-bot").inner_text() == "@QunBot"
    said = world.messages(room_id=OSS_ROOM_ID)[-1]
    assert (said.talker_id, said.text, said.mention_ids) == (
        "wxid_bob",
        f"@QunBot{AT_SEPARATOR}help",
        ("qunbot",),
    )
    # The bot answers (as the gateway would, through the puppet): it appears live, marked as the bot's.
    world.bot_send_text(OSS_ROOM_ID, f"@Bob{AT_SEPARATOR}可用命令 commands: 标记 tag, 问 ask", ["wxid_bob"])
    reply = page.locator(".msg.bot .bubble", has_text="可用命令")
    await reply.wait_for()
    assert await reply.locator(".mention").inner_text() == "@Bob"


async def test_quote_a_message_in_wechat_format(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    original = world.say(OSS_ROOM_ID, "wxid_zhangwei", "周四晚8点开会")
    row = page.locator(f'.msg[data-id="{original.id}"]')
    await row.hover()
    await row.locator(".act-quote").click()
    assert "周四晚8点开会" in await page.inner_text("#quote-preview")
    await page.select_option("#speaker", "wxid_lina")
    await send(page, "@QunBot 标记 会议")
    await page.locator(".msg.mine .quote", has_text="周四晚8点开会").wait_for()
    said = world.messages(room_id=OSS_ROOM_ID)[-1]
    assert said.text == f"「张伟：周四晚8点开会」\n{QUOTE_SEPARATOR}\n@QunBot{AT_SEPARATOR}标记 会议"
    assert await page.locator("#quote-preview").is_hidden()


async def test_at_button_picks_a_member(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.click("#mention-button")
    await page.click('#mention-menu li[data-member-id="qunbot"]')
    assert await page.locator("#mention-chips .chip").all_inner_texts() == ["@QunBot\n✕"]
    await send(page, "ding")
    await page.locator(".msg.mine .bubble", has_text="ding").wait_for()
    assert world.messages(room_id=OSS_ROOM_ID)[-1].mention_ids == ("qunbot",)


async def test_typing_at_opens_the_member_list(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.type("#input", "hi @")
    await page.click('#mention-menu li[data-member-id="wxid_bob"]')
    assert await page.input_value("#input") == "hi "  # the typed "@" became the chip
    await page.press("#input", "Enter")
    await page.locator(".msg.mine .bubble .mention", has_text="@Bob").wait_for()
    said = world.messages(room_id=OSS_ROOM_ID)[-1]
    assert (said.text, said.mention_ids) == (f"@Bob{AT_SEPARATOR}hi", ("wxid_bob",))


async def test_direct_message_to_the_bot_and_its_answer(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.select_option("#speaker", "wxid_wangfang")
    await page.fill("#dm-input", "ding")
    await page.click("#dm-form button")
    await page.locator("#dm-log .dm", has_text="ding").wait_for()
    assert world.messages(contact_id="wxid_wangfang")[-1].text == "ding"
    world.bot_send_text("wxid_wangfang", "dong")
    await page.locator("#dm-log .dm.bot", has_text="dong").wait_for()
    assert await page.locator(".bubble", has_text="dong").count() == 0  # not in the room view


async def test_add_and_remove_a_member(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.fill("#new-member", "新人小刘")
    await page.click("#add-member button")
    newcomer = page.locator(".member", has_text="新人小刘")
    await newcomer.wait_for()
    await page.locator(".system", has_text="新人小刘").first.wait_for()
    assert "新人小刘" in [member.name for member in world.room(OSS_ROOM_ID).members]
    await newcomer.hover()
    await newcomer.locator(".act-remove").click()
    await newcomer.wait_for(state="detached")
    assert "新人小刘" not in [member.name for member in world.room(OSS_ROOM_ID).members]
    assert await page.inner_text("#member-count") == "(5)"


async def test_second_room_is_separate_and_counts_unread(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    world.say(TEST_ROOM_ID, "wxid_carol", "over here")
    other = page.locator(f'.room-item[data-room-id="{TEST_ROOM_ID}"]')
    await other.locator(".badge", has_text="1").wait_for()
    assert await page.locator(".bubble", has_text="over here").count() == 0
    await other.click()
    assert await page.inner_text("#room-title") == "Test Room"
    await page.locator(".bubble", has_text="over here").wait_for()
    await send(page, "hello test room")
    await page.locator(".msg.mine .bubble", has_text="hello test room").wait_for()
    assert world.messages(room_id=TEST_ROOM_ID)[-1].talker_id == "wxid_carol"


async def test_admin_panel_shows_not_connected_then_live_data(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.click("#toggle-admin")
    await page.locator("#admin-status.off", has_text="not connected").wait_for()

    async def snapshot() -> Mapping[str, object]:
        return {
            "services": [{"name": "tagger", "version": "0.1.0", "instances": 2}],
            "events": [{"at": "10:00:01", "subject": "qun.evt.qunbot.message", "summary": "Bob: help"}],
            "commands": [{"at": "10:00:02", "subject": "qun.cmd.qunbot.say", "summary": "可用命令"}],
            "dead_letters": [
                {"service": "tagger", "subject": "qun.evt.qunbot.message", "deliveries": 5, "error": "x"}
            ],
            "outbound": {"queued": 1, "rate_limit_waits": 0},
        }

    world.admin_source = snapshot
    await page.click("#toggle-admin")  # closing and reopening the panel refreshes it at once
    await page.click("#toggle-admin")
    await page.locator("#admin-status.ok").wait_for()
    assert "tagger 0.1.0 ×2" in await page.inner_text("#admin-services")
    assert "qun.cmd.qunbot.say" in await page.inner_text("#admin-commands")
    assert "×5" in await page.inner_text("#admin-dead")
    assert "rate_limit_waits" in await page.inner_text("#admin-outbound")


async def test_a_picture_the_bot_sends_is_shown_and_a_file_is_a_download(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    world.bot_send_file(OSS_ROOM_ID, "日报.png", "image/png", tiny_png(24, 12))
    world.bot_send_file(OSS_ROOM_ID, "notes.html", "text/html", b"<script>alert(1)</script>")

    image = page.locator(".msg.bot img.sent-image")
    await image.wait_for()
    await page.wait_for_function("document.querySelector('img.sent-image').complete")
    assert await image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [24, 12]
    assert await image.get_attribute("alt") == "日报.png"
    link = page.locator(".msg.bot a.sent-file", has_text="notes.html")
    await link.wait_for()
    served = await page.request.get(chat.url + str(await link.get_attribute("href")))
    assert served.headers["content-type"] == "application/octet-stream"  # never run as this page's HTML
    assert served.headers["content-disposition"].startswith("attachment")


async def boxes_overlap(page: Any, first: str, second: str) -> bool:
    a, b = await page.locator(first).bounding_box(), await page.locator(second).bounding_box()
    assert a is not None
    assert b is not None
    return bool(
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


async def test_on_a_phone_the_members_panel_does_not_cover_the_chat(chat: PageUnderTest) -> None:
    page, world = chat.page, chat.world
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.reload()
    await page.wait_for_selector("#connection.online")

    assert await page.locator("#members-panel").is_hidden()
    for part in ("#messages", "#input", "#send"):
        box = await page.locator(part).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390 + 1, part  # nothing pushed off the screen
    await send(page, "手机上也能聊")
    await page.locator(".msg.mine .bubble", has_text="手机上也能聊").wait_for()
    assert world.messages(room_id=OSS_ROOM_ID)[-1].text == "手机上也能聊"

    # Opened on purpose, it lies below the header: the toggle stays usable.
    await page.click("#toggle-members")
    await page.locator("#members-panel .member").first.wait_for()
    assert not await boxes_overlap(page, "#members-panel", ".chat-head")
    await page.click("#members-panel .panel-close")
    assert await page.locator("#members-panel").is_hidden()
    await page.click("#toggle-members")
    await page.click("#toggle-members")
    assert await page.locator("#members-panel").is_hidden()


# --------------------------------------------------------------------------------------------------------------------
# The whole stack: the page, the simulator, the gateway on python-wechaty, the moderator and the tagger over NATS


@pytest.mark.slow
# The tagger's jieba.analyse leaves its idf.txt open when loaded (reported to the tagger's owner).
@pytest.mark.filterwarnings("ignore:Exception ignored in.*jieba:pytest.PytestUnraisableExceptionWarning")
async def test_full_stack_help_tag_ask_remind_and_welcome(
    run_service: RunService, bus: Bus, request: pytest.FixtureRequest
) -> None:
    world = SimulatorWorld()

    @asynccontextmanager
    async def simulated(_: GatewaySettings) -> AsyncIterator[SimulatorPuppet]:
        yield SimulatorPuppet(world)

    async with (
        serving(world, port=0) as url,
        run_service(make_gateway(simulated), **FAST_GATEWAY),
        run_service(moderator, welcome_window_s=0.2, welcome_tick_s=0.05),
        run_service(tagger),
        run_service(scheduler),
        browser_page(request.node.name) as page,
    ):
        await bus.wait_for(f"qun.evt.{world.bot_id}.login", LoggedIn)
        await page.goto(f"{url}/?room={OSS_ROOM_ID}")
        await page.wait_for_selector("#connection.online")

        await page.select_option("#speaker", "wxid_bob")
        await send(page, "@QunBot help")
        await page.locator(".msg.bot .bubble", has_text="tag").wait_for()

        await page.select_option("#speaker", "wxid_zhangwei")
        await send(page, "周四晚8点线上开会")
        original = page.locator(".msg", has_text="周四晚8点线上开会")
        await original.wait_for()
        await page.select_option("#speaker", "wxid_lina")
        await original.hover()
        await original.locator(".act-quote").click()
        await send(page, "@QunBot 标记 开会")
        await page.locator(".msg.bot .bubble", has_text="已标记").wait_for()

        await send(page, "@QunBot 问 开会")
        await page.locator(".msg.bot .bubble", has_text="说过").wait_for()

        await send(page, "@QunBot 20分钟后叫我去开会")  # in plain words, no keyword first
        await page.locator(".msg.bot .bubble", has_text="已设置提醒").wait_for()

        await page.fill("#new-member", "新人小刘")
        await page.click("#add-member button")
        await page.locator(".msg.bot .bubble", has_text="新人小刘").wait_for()
