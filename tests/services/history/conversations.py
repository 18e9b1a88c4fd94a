"""Fixed conversations for the pure tests: (minute, talker, text[, quote of line n]) turned into kept messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import ContactRef, HistoryMessage, Quote

START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai

Line = tuple[int, str, str] | tuple[int, str, str, int]


def build(lines: list[Line], start: datetime = START) -> list[HistoryMessage]:
    messages: list[HistoryMessage] = []
    for n, line in enumerate(lines):
        minute, who, text = line[0], line[1], line[2]
        quote = None
        if len(line) == 4:
            quoted = messages[line[3]]
            quote = Quote(
                talker_name=quoted.talker.name,
                text=quoted.text,
                verified=True,
                talker_id=quoted.talker.id,
                message_id=quoted.id,
            )
        messages.append(
            HistoryMessage(
                id=f"{n:032x}",
                timestamp=start + timedelta(minutes=minute),
                talker=ContactRef(id=who.lower(), name=who),
                text=text,
                quote=quote,
            )
        )
    return messages


CHINESE: list[Line] = [
    (0, "老王", "大家早，今天下午的版本发布还按计划吗？"),
    (1, "小李", "按计划，发布前还要跑一遍回归测试"),
    (2, "老王", "回归测试现在谁在跑？"),
    (3, "小李", "我在跑回归测试，预计中午跑完"),
    (4, "阿强", "回归测试有两个用例挂了，是登录超时"),
    (5, "小李", "登录超时是测试环境的网关配置问题，我改一下网关超时"),
    (6, "老王", "好的"),
    (8, "阿强", "网关超时改成30秒以后登录用例过了"),
    (9, "老王", "那就按原计划下午三点发布版本，决定了"),
    (20, "小美", "中午团建聚餐去哪家餐厅？"),
    (21, "阿强", "楼下新开的火锅餐厅不错"),
    (22, "小美", "火锅可以，餐厅要提前订位吗"),
    (23, "阿强", "我来订位，订12点的火锅"),
    (24, "老王", "+1"),
    (25, "小美", "订好了发我一下餐厅地址"),
    (26, "阿强", "餐厅地址 https://map.example.com/hotpot 人民路88号"),
    (40, "小李", "有人知道打印机驱动在哪下载吗？"),
    (45, "老王", "发布文档我放在 https://docs.example.com/release 了"),
]

ENGLISH: list[Line] = [
    (0, "Alice", "Morning! Is the database migration still planned for tonight?"),
    (1, "Bob", "Yes, the migration runs at 10pm, I am preparing the rollback script"),
    (2, "Carol", "Did anyone test the rollback script on staging?"),
    (3, "Bob", "Tested the rollback on staging yesterday, it took 4 minutes"),
    (4, "Alice", "Great, then we go ahead with the migration tonight"),
    (5, "Carol", "Agreed, migration tonight at 10pm, Bob owns the rollback"),
    (30, "Dave", "The new office coffee machine is broken again"),
    (31, "Alice", "I reported the coffee machine to facilities this morning"),
    (32, "Dave", "Thanks, any idea when facilities fixes the coffee machine?"),
    (33, "Alice", "Facilities said the coffee machine is fixed by Friday"),
    (50, "Carol", "Where do I find the vpn config for the new laptops?"),
    (55, "Bob", "lol"),
]

MIXED: list[Line] = [
    (0, "Alice", "k8s 集群升级到 1.30 的方案大家看了吗？"),
    (1, "老王", "看了，k8s 升级前要先升级 ingress controller"),
    (2, "Bob", "ingress controller upgrade is done on staging"),
    (3, "老王", "那 k8s 升级周四晚上做，决定了"),
    (4, "Alice", "ok, k8s upgrade Thursday night", 3),
    (20, "小美", "周五的分享会谁来讲？"),
    (21, "Bob", "I can talk about the observability stack on Friday"),
    (22, "小美", "好，周五分享会 Bob 讲 observability"),
]
