"""The tagger over real NATS + Redis: tag, ask, browse, delete, expiry, isolation, redelivery, replicas, restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas import ChatCommand, Contact, MessageReceived, Quote, SayText
from services.shared import Context, QunService, QunSettings, Runtime
from services.tagger.app import service
from services.tagger.decision import Verdict
from services.tagger.faq import import_faq, parse_faq
from tests.conftest import Bus, RunService
from tests.factories import ALICE, BOB, OTHER_ROOM, ROOM, message

MEETING = Quote(
    talker_name="老王",
    text="每周四晚上 8 点在腾讯会议开社区周会，会议号 612-338-905",
    verified=True,
    talker_id="laowang",
)
REPO = Quote(
    talker_name="Lily",
    text="Official repo: https://github.com/nimbus-notes/nimbus — open issues there",
    verified=True,
    talker_id="lily",
)
CAROL = Contact(id="carol", name="Carol")
OWNER = Contact(id=ROOM.owner_id or "owner", name="Owner")
LONG_AGE = {"max_event_age_s": 30 * 86400}  # tests move the clock by days; replies must not count as stale


def replying_to(event: MessageReceived) -> Any:
    return lambda say: say.reply_to == event.id


async def send(bus: Bus, event: MessageReceived) -> SayText:
    await bus.publish_event(event)
    [reply] = await bus.says(replying_to(event))
    assert isinstance(reply, SayText)
    return reply


@contextlib.asynccontextmanager
async def tagger(run_service: RunService, **overrides: Any) -> AsyncIterator[Runtime[Any, Any]]:
    async with run_service(service, **{**LONG_AGE, **overrides}) as runtime:
        yield runtime


async def test_tag_then_ask_answers_with_author_and_text(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        confirmation = await send(bus, message("标记 周会", quote=MEETING))
        assert confirmation.text == "已标记 #1（关键词：周会）"
        assert confirmation.room_id == ROOM.id
        answer = await send(bus, message("问 周会几点开？", talker=BOB))
        assert "老王" in answer.text
        assert MEETING.text in answer.text
        assert answer.mention_ids == [BOB.id]
        english = await send(bus, message("ask when is the weekly meeting?"))  # English question, Chinese tag
        assert english.text.startswith("老王 wrote (#1, ")


async def test_hash_keyword_tag_and_question_mark_and_plain_questions(
    bus: Bus, run_service: RunService
) -> None:
    async with tagger(run_service):
        assert (
            await send(bus, message("#repo #github", quote=REPO))
        ).text == "Tagged #1 (keywords: repo, github)"
        assert "#1" in (await send(bus, message("？代码仓库的网址是什么"))).text  # answer or "did you mean"
        assert REPO.text in (await send(bus, message("where is the source code repo?"))).text
        glued = await send(
            bus, message("问题是代码仓库在哪")
        )  # 问题 is a word: the whole body is the question
        assert "#1" in glued.text


async def test_nothing_close_gets_one_short_line(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        await send(bus, message("标记", quote=MEETING))
        reply = await send(bus, message("问 明天天气怎么样"))
        # Known weakness: with the dense side on, the fitted model rarely says "I don't know" (README).
        assert reply.text == "我不知道：没有相关的标记消息。" or reply.text.startswith("你是不是想找")


async def test_tag_without_a_quote_explains_how(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        assert (await send(bus, message("tag meetup"))).text.startswith("Quote the message")


async def test_validity_expires_tags(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service) as runtime:
        confirmation = await send(bus, message("标记 有效期 3天", quote=MEETING))
        assert "有效至" in confirmation.text
        assert MEETING.text in (await send(bus, message("问 周会几点"))).text
        runtime.clock.offset = timedelta(days=3, minutes=1)
        assert (await send(bus, message("问 周会几点"))).text.startswith("我不知道")
        assert (await send(bus, message("浏览"))).text == "这里还没有标记的消息。"


async def test_delete_is_for_the_tagger_the_author_or_an_admin(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        await send(bus, message("标记", quote=MEETING, talker=ALICE))  # #1, author 老王
        await send(
            bus,
            message(
                "标记",
                quote=Quote(talker_name="Carol", text="Carol 的消息", verified=True, talker_id=CAROL.id),
                talker=ALICE,
            ),
        )  # #2
        await send(bus, message("标记", quote=REPO, talker=ALICE))  # #3
        refused = await send(bus, message("删除 1", talker=BOB))
        assert refused.text.startswith("抱歉，#1")
        assert (await send(bus, message("delete #1", talker=ALICE))).text == "Deleted #1."
        assert (await send(bus, message("删除 2", talker=CAROL))).text == "已删除 #2。"  # the quoted author
        assert (await send(bus, message("删除 3", talker=OWNER))).text == "已删除 #3。"  # the room owner
        assert (await send(bus, message("删除 3"))).text == "没有找到 #3。"
        assert (await send(bus, message("问 周会几点"))).text.startswith("我不知道")


async def test_rooms_are_isolated_unless_shared(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        await send(bus, message("标记", quote=MEETING))
        assert (await send(bus, message("问 周会几点", room=OTHER_ROOM))).text.startswith("我不知道")
    shared = {"shared_rooms": {"oss": [ROOM.id, OTHER_ROOM.id]}}
    async with tagger(run_service, **shared):
        await send(bus, message("标记", quote=REPO))
        assert "#1" in (await send(bus, message("问 代码仓库在哪", room=OTHER_ROOM))).text


async def test_the_same_event_delivered_twice_makes_one_tag_and_one_reply(
    bus: Bus, run_service: RunService
) -> None:
    async with tagger(run_service) as runtime:
        event = message("标记 周会", quote=MEETING)
        await bus.publish_event(event)
        await bus.publish_raw("qun.evt.bot.message", event.model_dump_json().encode(), msg_id="redelivered")
        await bus.says(replying_to(event), count=2)
        await bus.consumer_settled("tagger")
        records = await runtime.context.deps.store.all(runtime.context.deps.bases.for_room(ROOM.id))
        stream = await bus.js.stream_info("QUN_CMD")
    assert [record.id for record in records] == ["1"]
    assert len({say.id for say in bus.commands(SayText)}) == 1  # same command id: the gateway sends it once
    assert stream.state.messages == 1  # JetStream stored it once


async def test_a_redelivered_delete_replies_once_as_the_first_time(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        await send(bus, message("标记", quote=MEETING))
        event = message("删除 1")
        await bus.publish_event(event)
        await bus.publish_raw("qun.evt.bot.message", event.model_dump_json().encode(), msg_id="redelivered")
        answers = await bus.says(replying_to(event), count=2)
        await bus.consumer_settled("tagger")
        stream = await bus.js.stream_info("QUN_CMD")
    assert [say.text for say in answers] == ["已删除 #1。", "已删除 #1。"]
    assert (
        stream.state.messages == 2
    )  # the tag's confirmation and one delete reply: the second was a duplicate


async def test_dates_are_read_and_shown_in_the_rooms_time_zone(bus: Bus, run_service: RunService) -> None:
    new_york = ZoneInfo("America/New_York")
    async with tagger(run_service) as runtime:  # QUN_TIMEZONE stays Asia/Shanghai
        await runtime.rooms.set_timezone(ROOM.id, new_york.key)
        real = datetime.now(UTC)
        three_utc = datetime.combine(real.date() + timedelta(days=1), time(3), tzinfo=UTC)
        runtime.clock.offset = three_utc - real  # evening in New York, the next day already in Shanghai
        today = three_utc.astimezone(new_york).date()
        last_day = today + timedelta(days=30)
        confirmation = await send(bus, message(f"标记 有效期 {last_day}", quote=MEETING))
        assert confirmation.text == f"已标记 #1（有效至 {last_day + timedelta(days=1)} 00:00）"
        deps = runtime.context.deps
        record = await deps.store.get(deps.bases.for_room(ROOM.id), "1")
        assert record.expires_at == datetime.combine(last_day + timedelta(days=1), time(), new_york)
        listing = await send(bus, message(f"浏览 {today}"))  # that New York day, not Shanghai's
        assert f"（老王，{today}）" in listing.text


async def test_two_replicas_answer_from_each_others_tags(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service) as first, tagger(run_service) as second:
        kb = first.context.deps.bases.for_room(ROOM.id)
        for replica in (first, second):  # both build (and cache) an index before the tag exists
            await replica.context.deps.knowledge.snapshot(kb)
        await send(bus, message("标记 周会", quote=MEETING))
        for replica in (first, second):
            ctx = replica.context
            answer = await ctx.deps.knowledge.ask(kb, "周会几点", ctx.now(), ctx.deps.model)
            assert answer.decision.verdict is Verdict.ANSWER
        for n in range(4):
            assert MEETING.text in (await send(bus, message(f"问 周会几点 {n}"))).text
        await send(bus, message("删除 1"))
        for replica in (first, second):
            ctx = replica.context
            answer = await ctx.deps.knowledge.ask(kb, "周会几点", ctx.now(), ctx.deps.model)
            assert answer.decision.verdict is Verdict.UNKNOWN


async def test_a_restart_keeps_every_tag(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        await send(bus, message("标记 周会", quote=MEETING))
        await send(bus, message("tag repo", quote=REPO))
    async with tagger(run_service) as restarted:
        knowledge = restarted.context.deps.knowledge
        deadline = asyncio.get_running_loop().time() + 10
        while (
            not knowledge.cached and asyncio.get_running_loop().time() < deadline
        ):  # warmed in the background
            await asyncio.sleep(0.01)
        assert len(knowledge.cached) == 1
        assert MEETING.text in (await send(bus, message("问 周会几点"))).text
        listing = await send(bus, message("浏览"))
        first, second = listing.text.splitlines()[:2]
        assert first.startswith("#2 [repo] Official repo")
        assert "（Lily，" in first
        assert second.startswith("#1 [周会] 每周四")


def reminder_service() -> QunService[QunSettings, None]:
    other: QunService[QunSettings, None] = QunService("reminder", version="1", settings=QunSettings)

    @other.command(ChatCommand(name="remind", keywords_zh=["提醒"], keywords_en=["remind"]))
    async def remind(event: MessageReceived, ctx: Context[QunSettings, None], args: str) -> None:
        await ctx.reply("ok")

    return other


async def test_plain_questions_leave_other_services_commands_alone(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service), run_service(reminder_service()):
        await send(bus, message("标记", quote=MEETING))
        other = message("提醒 明天 8 点开周会")
        assert (await send(bus, other)).text == "ok"
        quoted = message(
            "这个周会几点？", quote=MEETING
        )  # a quoted question nobody else claims: answered once
        assert MEETING.text in (await send(bus, quoted)).text
        plain = message("周会几点开")
        assert MEETING.text in (await send(bus, plain)).text
        await bus.consumer_settled("tagger")
        await bus.consumer_settled("reminder")
    assert [say.text for say in bus.commands(SayText) if say.reply_to == other.id] == ["ok"]
    assert len([say for say in bus.commands(SayText) if say.reply_to == quoted.id]) == 1


async def test_unprompted_answers_only_where_enabled_and_only_when_sure(
    bus: Bus, run_service: RunService
) -> None:
    async with tagger(run_service):
        await send(bus, message("标记 周会", quote=MEETING))
        before = message("周会是几点开？", mentions_bot=False)
        await bus.publish_event(before)
        assert (await send(bus, message("自动回答 开", talker=BOB))).text.startswith("抱歉")  # admins only
        assert (await send(bus, message("自动回答 开", talker=OWNER))).text.startswith("已开启")
        vague = message("有人知道天气吗？", mentions_bot=False)
        await bus.publish_event(vague)
        sure = message("周会是几点开？", mentions_bot=False)
        assert MEETING.text in (await send(bus, sure)).text
        await bus.consumer_settled("tagger")
    replied_to = {say.reply_to for say in bus.commands(SayText)}
    assert before.id not in replied_to
    assert vague.id not in replied_to


async def test_browse_pages_and_filters(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service, page_size=2):
        for n in range(3):
            await send(bus, message(f"标记 k{n}", quote=Quote(talker_name="Lily", text=f"message {n}")))
        first = await send(bus, message("浏览"))
        assert first.text.splitlines()[0].startswith("#3 [k2] message 2")
        assert "浏览 2" in first.text
        second = await send(bus, message("tags 2"))
        assert second.text.startswith("#1 [k0] message 0")
        assert "Page 2/2" in second.text
        assert (await send(bus, message("浏览 k1"))).text.startswith("#2 [k1]")
        assert (await send(bus, message("浏览 nothing"))).text == "没有符合条件的标记。"


async def test_an_imported_faq_answers_in_the_room(bus: Bus, run_service: RunService) -> None:
    faq = parse_faq(
        'entries:\n  - questions: ["怎么安装？", "How do I install it?"]\n'
        "    answer: pip install nimbus-notes\n    author: Lily\n"
    )
    async with tagger(run_service) as runtime:
        deps = runtime.context.deps
        await import_faq(deps.store, deps.bases.for_room(ROOM.id), faq, runtime.context.now())
        answer = await send(bus, message("ask how can I install nimbus?"))
    assert answer.text.startswith("Lily wrote (#1, ")
    assert answer.text.endswith(":\n“pip install nimbus-notes”")


async def test_small_talk_to_the_bot_gets_no_i_dont_know(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        thanks = message("谢谢")
        await bus.publish_event(thanks)
        assert (await send(bus, message("问"))).text.startswith("想问什么")
        await bus.consumer_settled("tagger")
    assert thanks.id not in {say.reply_to for say in bus.commands(SayText)}


PARKING = Quote(
    talker_name="Lily",
    text="Parking for the meetup: the basement garage of the Jing'an office, entrance on Yuyuan Road, free after 6pm",
    verified=True,
    talker_id="lily",
)


def found_first(reply: str, tag_id: str, text: str) -> bool:
    """The reply quotes the message (an answer) or offers it first ("did you mean")."""
    lines = reply.splitlines()
    return text in reply or (len(lines) > 1 and lines[1].startswith(f"#{tag_id} "))


async def test_tagged_by_quote_and_asked_in_the_other_language(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        assert (await send(bus, message("标记", quote=MEETING))).text.startswith("已标记 #1")
        assert (await send(bus, message("tag", quote=PARKING))).text.startswith("Tagged #2")
        english = await send(bus, message("when is the weekly community meeting?", talker=BOB))
        assert found_first(english.text, "1", MEETING.text)  # a Chinese message, asked in English (fallback)
        chinese = await send(bus, message("聚会停车停哪里？", talker=BOB))
        assert found_first(chinese.text, "2", PARKING.text)  # an English message, asked in Chinese


async def test_keep_phrases_tag_the_quoted_message(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        assert (await send(bus, message("帮我记一下", quote=MEETING))).text.startswith("已标记 #1")
        assert (await send(bus, message("save this", quote=REPO))).text.startswith("Tagged #2")
        assert "#2" in (await send(bus, message("浏览"))).text


async def test_tag_quotas_per_member_and_per_room(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service, max_tags_per_member=1, max_tags_per_room=2):
        assert (await send(bus, message("标记", quote=MEETING))).text.startswith("已标记 #1")
        refused = await send(bus, message("标记", quote=REPO))
        assert refused.text.startswith("你在这个群已标记 1 条")
        assert (await send(bus, message("标记 周会", quote=MEETING))).text.startswith(
            "已更新 #1"
        )  # an update
        assert (await send(bus, message("标记", quote=REPO, talker=BOB))).text.startswith("已标记 #2")
        full = await send(bus, message("tag", quote=PARKING, talker=CAROL))
        assert full.text == "This room has reached its 2 tags. Ask an admin to delete some old ones first."


async def test_an_admin_adds_a_question_and_answer_from_chat(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service):
        refused = await send(bus, message("添加问答 问：周会几点？ 答：周四晚上8点", talker=BOB))
        assert refused.text.startswith("抱歉")
        usage = await send(bus, message("添加问答 周会几点", talker=OWNER))
        assert usage.text == "用法：添加问答 问：<问题> 答：<答案>"
        added = await send(
            bus, message("添加问答 问：新人怎么申请仓库权限？ 答：找 Lily 开通 GitHub 权限", talker=OWNER)
        )
        assert added.text.startswith("已标记 #1")
        english = await send(
            bus,
            message("add faq Q: where are the slides? A: in the shared drive, folder talks", talker=OWNER),
        )
        assert english.text.startswith("Tagged #2")
        answer = await send(bus, message("新人怎么申请仓库权限", talker=BOB))
        assert "找 Lily 开通 GitHub 权限" in answer.text
        assert "Owner" in answer.text  # said by the admin who added it


async def test_an_admin_tags_an_unanswered_question_with_the_answer_history_found(
    bus: Bus, run_service: RunService
) -> None:
    from services.history.app import service as history

    async with tagger(run_service), run_service(history):
        now = datetime.now(UTC)
        question = message("停车在哪里？", talker=ALICE, timestamp=now - timedelta(minutes=5))
        assert (await send(bus, question)).text.startswith(
            "我不知道"
        )  # nothing tagged yet: QuestionUnanswered
        answer = message(
            "地下车库B2，入口在东门", talker=BOB, mentions_bot=False, timestamp=now - timedelta(minutes=4)
        )
        await bus.publish_event(answer)
        await bus.consumer_settled("history")
        listing = await send(bus, message("没答上的问题", talker=OWNER))
        assert "停车在哪里" in listing.text
        assert (await send(bus, message("标记 1", talker=BOB))).text.startswith("请引用")  # admins only
        tagged = await send(bus, message("标记 1", talker=OWNER))
        assert tagged.text.startswith("已标记 #1")
        assert (await send(bus, message("标记 9", talker=OWNER))).text.startswith("没有第 9 个")
        reply = await send(bus, message("停车在哪里", talker=CAROL))
        assert "地下车库B2，入口在东门" in reply.text
        assert "Bob" in reply.text  # attributed to who said it, known by id from the history


async def test_tag_by_number_without_the_history_service_says_so(bus: Bus, run_service: RunService) -> None:
    async with tagger(run_service, history_timeout_s=0.3):
        assert (await send(bus, message("标记 1", talker=OWNER))).text.startswith("现在查不到没答上的问题")
