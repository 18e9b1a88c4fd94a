"""The words around a time: the request verb in imperative position, its target, questions, the text's edges."""

from __future__ import annotations

import pytest

from services.scheduler.phrasing import Target, clean_task, find_request, is_question


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("提醒我交材料", Target.ME),
        ("提醒一下大家交材料", Target.ROOM),
        ("叫我起床", Target.ME),
        ("通知所有人开会", Target.ROOM),
        ("remind me to call", Target.ME),
        ("remind the team to ship", Target.ROOM),
        ("ping us about it", Target.ROOM),
        ("记得带伞", Target.NONE),
        ("don't forget to water the plants", Target.NONE),
        ("设个闹钟", Target.ME),  # an alarm is for the sender
        ("请帮我设个提醒", Target.NONE),
    ],
)
def test_a_verb_at_the_start_of_its_clause_is_a_request(text: str, target: Target) -> None:
    request = find_request(text, [])
    assert (request.verb, request.target) == (True, target)


@pytest.mark.parametrize(
    "text",
    [
        "谢谢提醒",  # thanks, not a request
        "他提醒我交材料",  # someone else
        "我提醒过他",  # the past
        "通知大家了吗",
        "老板叫我们早点到",
        "叫个车",  # 叫 without a person is not "call me"
        "通知：明天停电",
        "i'll remind them",
        "who reminded everyone",
        "提醒的时间改一下",  # the word as a noun
        "you can set a reminder",
    ],
)
def test_a_verb_reported_or_used_otherwise_is_not_a_request(text: str) -> None:
    assert find_request(text, []).verb is False


def test_times_and_polite_words_may_stand_before_the_verb() -> None:
    text = "麻烦明天上午9点提醒一下大家交表"
    request = find_request(text, [(2, 8)])  # "明天上午9点"
    assert (request.verb, request.polite, request.target, request.start) == (True, True, Target.ROOM, 0)
    assert text[request.end :] == "交表"


def test_a_mention_names_whom_to_remind() -> None:
    after = find_request("提醒@张三 @李四 交材料", [])
    before = find_request("@王五 记得交材料", [])
    assert (after.target, after.mentioned) == (Target.MENTIONED, ("张三", "李四"))
    assert (before.target, before.mentioned) == (Target.MENTIONED, ("王五",))


def test_without_a_verb_a_target_at_the_start_is_the_argument_form() -> None:
    """`提醒我 …` reaches the parser as `我 …` when only the command's arguments are parsed."""
    request = find_request("我 明天9点 开会", [(2, 7)])
    assert (request.verb, request.target, request.end) == (False, Target.ME, 2)


@pytest.mark.parametrize(
    ("text", "task", "question"),
    [
        ("明天几点开会？", "几点开会？", True),
        ("明天下午3点的会还开吗", "的会还开吗", True),
        ("周会是什么时候", "周会是什么时候", True),
        ("when is the meetup", "when is the meetup", True),
        ("remind me what we decided", "what we decided", True),  # the verb, but it asks
        ("能不能提醒我开会？", "开会", False),  # a polite request, not a question
        ("提醒我开会好吗", "开会", False),
        ("can you remind me at 5pm?", "", False),
        ("提醒我明天9点问他什么时候到", "问他什么时候到", False),  # a question word inside the text
    ],
)
def test_questions(text: str, task: str, question: bool) -> None:
    assert is_question(text, find_request(text, []), task) is question


@pytest.mark.parametrize(
    ("task", "clean"),
    [
        ("to call mom", "call mom"),
        ("about the standup, thanks", "the standup"),
        ("for to call mom", "call mom"),
        ("，去拿体检报告", "去拿体检报告"),
        ("开会哦～", "开会"),
        ("开会？", "开会"),
        ("交周报一下吧", "交周报"),
    ],
)
def test_the_text_loses_joiners_at_its_edges(task: str, clean: str) -> None:
    assert clean_task(task) == clean
