"""Every sentence the tagger says, in Chinese and English."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from services.shared import Bilingual
from services.tagger.browse import Empty, Page
from services.tagger.deletion import Deleted, NotFound, Outcome, Refused
from services.tagger.models import TagRecord

SNIPPET = 24
SUGGESTION_SNIPPET = 36


def snippet(record: TagRecord, length: int = SNIPPET, near: Sequence[str] = ()) -> str:
    """What was said, on one line: its start, or, given the question's words (`near`), the stretch around the
    longest of them the message has when that lies past the start (a detail in the middle of a long notice)."""
    text = " ".join(record.text.split())
    if len(text) <= length:
        return text
    lowered = text.casefold()
    found = [
        (-len(word), at) for word in near if len(word) > 1 and (at := lowered.find(word.casefold())) >= 0
    ]
    at = min(found)[1] if found else 0
    if at <= length // 2:  # near enough the start to show it
        return text[:length] + "…"
    start = min(at - length // 3, len(text) - length)
    return "…" + text[start : start + length] + ("…" if start + length < len(text) else "")


def _label(record: TagRecord, *, sep: str, length: int = SNIPPET, near: Sequence[str] = ()) -> str:
    """Keywords (if the tagger gave any) and a snippet of the text."""
    text = snippet(record, length, near)
    return f"[{sep.join(record.keywords)}] {text}" if record.keywords else text


def who_zh(record: TagRecord) -> str:
    """Who said it: the author of a verified quote, else whoever tagged it (a typed quote proves nothing)."""
    if record.verified:
        return record.author_name
    return f"{record.tagger_name or '某人'} 标记（引用未核实）"


def who_en(record: TagRecord) -> str:
    if record.verified:
        return record.author_name
    return f"tagged by {record.tagger_name or 'someone'} (quote not verified)"


def tagged(record: TagRecord, *, created: bool, zone: ZoneInfo) -> Bilingual:
    extra_zh: list[str] = []
    extra_en: list[str] = []
    if record.keywords:
        extra_zh.append("关键词：" + "、".join(record.keywords))
        extra_en.append("keywords: " + ", ".join(record.keywords))
    if record.expires_at is not None:
        until = record.expires_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        extra_zh.append(f"有效至 {until}")
        extra_en.append(f"until {until}")
    zh_tail = f"（{'；'.join(extra_zh)}）" if extra_zh else ""
    en_tail = f" ({'; '.join(extra_en)})" if extra_en else ""
    if created:
        return Bilingual(zh=f"已标记 #{record.id}{zh_tail}", en=f"Tagged #{record.id}{en_tail}")
    return Bilingual(zh=f"已更新 #{record.id}{zh_tail}", en=f"Updated #{record.id}{en_tail}")


def answer(record: TagRecord, zone: ZoneInfo) -> Bilingual:
    day = record.created_at.astimezone(zone).strftime("%Y-%m-%d")
    if record.verified:
        return Bilingual(
            zh=f"{record.author_name} 说过（#{record.id}，{day}）：\n「{record.text}」",
            en=f"{record.author_name} wrote (#{record.id}, {day}):\n“{record.text}”",
        )
    return Bilingual(
        zh=f"#{record.id}（{who_zh(record)}，{day}）：\n「{record.text}」",
        en=f"#{record.id} ({who_en(record)}, {day}):\n“{record.text}”",
    )


def suggestions(records: Sequence[TagRecord], near: Sequence[str] = ()) -> Bilingual:
    """Did you mean: each message's id, keywords and the stretch of it nearest the question's words (`near`)."""
    zh_lines = [f"#{r.id} {_label(r, sep='、', length=SUGGESTION_SNIPPET, near=near)}" for r in records]
    en_lines = [f"#{r.id} {_label(r, sep=', ', length=SUGGESTION_SNIPPET, near=near)}" for r in records]
    return Bilingual(
        zh="你是不是想找：\n" + "\n".join(zh_lines) + "\n换个更具体的问法再问我，或「浏览 关键词」。",
        en="Did you mean:\n" + "\n".join(en_lines) + "\nAsk me more precisely, or use 'tags <keyword>'.",
    )


UNKNOWN = Bilingual(zh="我不知道：没有相关的标记消息。", en="I don't know: nothing tagged here matches that.")
NEED_QUOTE = Bilingual(
    zh="请引用要保存的消息，再 @我 标记 [关键词]。", en="Quote the message to keep, then @me tag [keywords]."
)
EMPTY_QUESTION = Bilingual(
    zh="想问什么？例如「问 周会几点」。", en="What is the question? e.g. 'ask when is the meeting'."
)
NOTHING_TAGGED = Bilingual(zh="这里还没有标记的消息。", en="Nothing has been tagged here yet.")
NO_MATCHING_TAGS = Bilingual(zh="没有符合条件的标记。", en="No tags match.")


def not_found(tag_id: str) -> Bilingual:
    return Bilingual(zh=f"没有找到 #{tag_id}。", en=f"There is no #{tag_id}.")


def deleted(record: TagRecord) -> Bilingual:
    return Bilingual(zh=f"已删除 #{record.id}。", en=f"Deleted #{record.id}.")


def delete_refused(record: TagRecord) -> Bilingual:
    return Bilingual(
        zh=f"抱歉，#{record.id} 只能由标记的人、原消息作者或管理员删除。",
        en=f"Sorry, #{record.id} can be deleted only by whoever tagged it, its author, or an admin.",
    )


def page(records: Sequence[TagRecord], number: int, pages: int, zone: ZoneInfo) -> Bilingual:
    zh_lines = []
    en_lines = []
    for record in records:
        day = record.created_at.astimezone(zone).strftime("%Y-%m-%d")
        zh_lines.append(f"#{record.id} {_label(record, sep='、')}（{who_zh(record)}，{day}）")
        en_lines.append(f"#{record.id} {_label(record, sep=', ')} ({who_en(record)}, {day})")
    zh_more = f"\n第 {number}/{pages} 页" + (f"，「浏览 {number + 1}」看下一页" if number < pages else "")
    en_more = f"\nPage {number}/{pages}" + (f"; 'tags {number + 1}' for the next" if number < pages else "")
    return Bilingual(zh="\n".join(zh_lines) + zh_more, en="\n".join(en_lines) + en_more)


def browsed(result: Page | Empty, zone: ZoneInfo) -> Bilingual:
    if result is Empty.NOTHING_TAGGED:
        return NOTHING_TAGGED
    if result is Empty.NO_MATCH:
        return NO_MATCHING_TAGS
    return page(result.records, result.number, result.pages, zone)


def delete_outcome(outcome: Outcome) -> Bilingual:
    match outcome:
        case Deleted(record):
            return deleted(record)
        case Refused(record):
            return delete_refused(record)
        case NotFound(tag_id):
            return not_found(tag_id)


def unprompted_switched(*, enabled: bool) -> Bilingual:
    if enabled:
        return Bilingual(
            zh="已开启自动回答：没有 @我 的问题，我有把握时也会回答。",
            en="Auto-answer on: I will also answer questions not addressed to me when I am confident.",
        )
    return Bilingual(zh="已关闭自动回答。", en="Auto-answer off.")


def quota_room(limit: int) -> Bilingual:
    return Bilingual(
        zh=f"这个群的标记已满（{limit} 条）。请管理员先「删除」一些旧的。",
        en=f"This room has reached its {limit} tags. Ask an admin to delete some old ones first.",
    )


def quota_member(limit: int) -> Bilingual:
    return Bilingual(
        zh=f"你在这个群已标记 {limit} 条，达到上限。可以先「删除」自己不再需要的标记。",
        en=f"You have tagged {limit} messages here, the limit. Delete some of yours you no longer need.",
    )


FAQ_USAGE = Bilingual(
    zh="用法：添加问答 问：<问题> 答：<答案>", en="Usage: add faq Q: <question> A: <answer>"
)
HISTORY_DOWN = Bilingual(
    zh="现在查不到没答上的问题（历史服务没有运行）。也可以引用答案消息再「标记」。",
    en="I can't reach the unanswered questions now (the history service is not running). Quote the answer and tag it.",
)


def no_unanswered(number: int) -> Bilingual:
    return Bilingual(
        zh=f"没有第 {number} 个没答上的问题，或它还没有找到答案消息。先看「没答上的问题」。",
        en=f"There is no unanswered question {number}, or it has no answer message yet. See 'unanswered' first.",
    )


UNPROMPTED_USAGE = Bilingual(zh="用法：自动回答 开 / 自动回答 关", en="Usage: autoanswer on / autoanswer off")
