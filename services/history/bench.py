"""A synthetic busy day for `make bench`: 2,000 messages of 40 members over a dozen interleaved topics, in
Chinese, English and both, with quotes, mentions, links, short chatter and stickers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from schemas import Contact, HistoryMessage, MessageReceived, Quote, Room, new_id

_TOPICS_ZH = [
    (
        "版本发布",
        [
            "今天下午的版本发布还按计划吗",
            "发布前要跑完回归测试",
            "回归测试有两个用例挂了",
            "发布窗口改到晚上八点",
        ],
    ),
    (
        "数据库迁移",
        ["数据库迁移脚本写好了吗", "迁移前先做全量备份", "迁移预计需要四十分钟", "回滚方案也要准备好"],
    ),
    ("团建聚餐", ["周五团建去哪家餐厅", "楼下新开的火锅店不错", "我来订位，订七点的", "记得带上新同事"]),
    (
        "面试安排",
        ["明天有三个候选人面试", "前端候选人的笔试题谁来出", "面试官排班表更新了", "二面安排在周四上午"],
    ),
    (
        "服务器告警",
        ["监控告警说磁盘快满了", "日志清理脚本昨晚没跑", "我先扩容一下磁盘", "告警阈值要不要调高"],
    ),
    (
        "文档翻译",
        ["用户手册的英文翻译进度怎么样", "第三章术语表需要统一", "翻译稿放在共享文件夹了", "周末前完成校对"],
    ),
]
_TOPICS_EN = [
    ("k8s upgrade", ["is the k8s upgrade still on for thursday", "ingress controller must be upgraded first",
                     "staging cluster upgrade went fine", "we roll the production nodes one by one"]),
    ("coffee machine", ["the office coffee machine is broken again", "facilities promised a fix by friday",
                        "there is a kettle in the kitchen meanwhile", "maybe we should buy a new coffee machine"]),
    ("customer bug", ["customer reports login timeouts since monday", "the timeout comes from the gateway config",
                      "patched the gateway timeout on staging", "please verify the login fix with the customer"]),
    ("conference talk", ["who submits a talk to the rust conference", "deadline for the talk proposal is sunday",
                         "I can write about our async runtime", "let's review the abstract tomorrow"]),
]  # fmt: skip
_CHATTER = ["好的", "收到", "+1", "哈哈哈", "ok", "thanks!", "👍", "明白", "sure", "了解"]
_LINKS = [
    "https://docs.example.com/release",
    "https://github.com/example/repo/issues/42",
    "https://map.example.com/x",
]

ROOM = Room(id="bench@chatroom", topic="bench", owner_id="owner", member_count=40)


def members(n: int = 40) -> list[Contact]:
    names = ["老王", "小李", "阿强", "小美", "Alice", "Bob", "Carol", "Dave", "晓明", "Lily"]
    return [
        Contact(id=f"wxid_member{k:02d}", name=f"{names[k % len(names)]}{k // len(names) or ''}")
        for k in range(n)
    ]


def busy_day(n: int = 2000, seed: int = 7, start: datetime | None = None) -> list[MessageReceived]:
    """`n` room messages over 14 hours, as the gateway would publish them."""
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    people = members()
    topics = _TOPICS_ZH + _TOPICS_EN
    begin = start or datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    step = timedelta(hours=14) / n
    events: list[MessageReceived] = []
    active = rng.sample(range(len(topics)), 3)
    for k in range(n):
        if rng.random() < 0.02:
            active[rng.randrange(3)] = rng.randrange(len(topics))
        talker = people[rng.randrange(len(people))]
        roll = rng.random()
        kind = "text"
        quote = None
        if roll < 0.15:
            text = rng.choice(_CHATTER)
        elif roll < 0.18:
            kind, text = "emoticon", "[表情]"
        else:
            _, lines = topics[rng.choice(active)]
            text = rng.choice(lines)
            if rng.random() < 0.3:
                text += rng.choice(["？", "，大家怎么看", "，我觉得可以", "。", " btw", "，周四之前"])
            if rng.random() < 0.03:
                text += " " + rng.choice(_LINKS)
        if events and rng.random() < 0.08:
            quoted = events[-rng.randrange(1, min(len(events), 10) + 1)]
            quote = Quote(
                talker_name=quoted.talker.name,
                text=quoted.text,
                verified=True,
                talker_id=quoted.talker.id,
                message_id=quoted.id,
            )
        mentions = [people[rng.randrange(len(people))].id] if rng.random() < 0.05 else []
        events.append(
            MessageReceived(
                id=new_id(),
                bot_id="bot",
                timestamp=begin + step * k,
                type=kind,
                text=text,
                body=text,
                talker=talker,
                room=ROOM,
                mention_ids=mentions,
                quote=quote,
            )
        )
    return events


def as_history(events: list[MessageReceived]) -> list[HistoryMessage]:
    return [
        HistoryMessage(
            id=e.id,
            timestamp=e.timestamp,
            talker=e.talker,
            text=e.text,
            quote=e.quote,
            mention_ids=e.mention_ids,
            type=e.type,
        )
        for e in events
    ]
