from services.moderator.welcome import (
    DEFAULT_TEMPLATE,
    MAX_NAMES_SHOWN,
    Joiner,
    flush_is_too_late,
    join_names,
    newcomers,
    render_welcome,
    unknown_placeholders,
)

ALICE = Joiner(id="wxid_alice", name="Alice")
BOB = Joiner(id="wxid_bob", name="小明")


def test_bot_is_never_greeted_and_nobody_twice() -> None:
    bot = Joiner(id="wxid_bot", name="qunbus")
    assert newcomers([ALICE, bot, BOB, ALICE], bot_id="wxid_bot") == (ALICE, BOB)


def test_default_template_is_chinese_and_names_everyone() -> None:
    message = render_welcome(None, [ALICE, BOB], topic="读书会")
    assert message.text == DEFAULT_TEMPLATE.replace("{names}", "Alice、小明").replace("{topic}", "读书会")
    assert message.mention_ids == ()


def test_english_template_joins_with_commas() -> None:
    message = render_welcome("Welcome {names} to {topic}!", [ALICE, BOB], topic="Book club")
    assert message.text == "Welcome Alice, 小明 to Book club!"


def test_template_without_names_mentions_the_newcomers_instead() -> None:
    message = render_welcome("欢迎来到{topic}", [ALICE, BOB], topic="读书会")
    assert message.text == "欢迎来到读书会"
    assert message.mention_ids == ("wxid_alice", "wxid_bob")


def test_template_cannot_reach_attributes_like_str_format_would() -> None:
    message = render_welcome("{names.__class__} {0} {topic}", [ALICE], topic="t")
    assert message.text == "{names.__class__} {0} t"


def test_missing_topic_reads_naturally() -> None:
    assert render_welcome("欢迎 {names} 加入{topic}", [ALICE], topic="").text == "欢迎 Alice 加入本群"
    assert render_welcome("Hi {names}, welcome to {topic}", [ALICE], topic="").text.endswith("this group")


def test_long_name_lists_are_cut() -> None:
    names = [f"n{i}" for i in range(MAX_NAMES_SHOWN + 5)]
    assert join_names(names, chinese=True).endswith(f"n{MAX_NAMES_SHOWN - 1} 等 {len(names)} 人")
    assert join_names(names, chinese=False).endswith("and 5 more")


def test_unknown_placeholders_are_reported() -> None:
    assert unknown_placeholders("欢迎 {name} 来到 {topic} {names}") == ["{name}"]


def test_flush_due_long_ago_is_dropped() -> None:
    assert not flush_is_too_late(due_ms=1_000, now_ms=1_000 + 600_000, max_age_ms=600_000)
    assert flush_is_too_late(due_ms=1_000, now_ms=1_001 + 600_000, max_age_ms=600_000)
