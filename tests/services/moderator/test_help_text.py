"""Help over the real declarations of every service in this repository: phone-sized, no repeats, nothing internal."""

import re

import pytest

from examples.dingdong.app import service as dingdong
from schemas import ChatCommand, ServiceInfo
from services.moderator.help_text import MAX_LINES, Asker, details, overview
from services.shared import catalog

SERVICES = [service.info("help-test") for service in (*catalog.declared(), dingdong)]
INTERNAL = [info.name for info in SERVICES if info.internal]
ASKERS = [
    Asker(lang=lang, admin=admin, in_room=in_room)
    for lang in ("zh", "en")
    for admin in (False, True)
    for in_room in (True, False)
]


def _topics() -> list[str]:
    """Every service and every keyword, in both languages, and the admin listing."""
    topics = ["管理", "admin", "不存在的东西"]
    for info in SERVICES:
        topics += [info.name, info.title_zh, info.title_en]
        topics += [keyword for command in info.commands for keyword in command.keywords]
    return topics


def _check(text: str, topic: str = "") -> int:
    lines = text.splitlines()
    assert len(lines) <= MAX_LINES, text
    assert len(lines) == len(set(lines)), text  # never a line twice
    shown = text.replace(f"「{topic}」", "").replace(f"'{topic}'", "")  # what was asked is said back
    assert not any(re.search(rf"\b{re.escape(name)}\b", shown) for name in INTERNAL), text
    return len(lines)


@pytest.mark.parametrize("asker", ASKERS, ids=str)
def test_every_help_fits_a_phone_screen(asker: Asker) -> None:
    _check(overview(SERVICES, asker))
    for topic in _topics():
        _check(details(topic, SERVICES, asker), topic)


def test_members_see_what_they_can_use_by_display_name() -> None:
    member = overview(SERVICES, Asker(lang="zh", admin=False, in_room=True))
    assert member.startswith("我能做这些（群里请 @我）：")
    assert "· 提醒：提醒、提醒列表、取消提醒" in member
    assert "· 群记忆：" in member
    assert "tagger" not in member
    assert "关闭" not in member
    assert "设置时区" not in member
    assert "帮助 管理" not in member
    admin = overview(SERVICES, Asker(lang="zh", admin=True, in_room=True))
    assert admin.splitlines()[-1] == "管理员命令：帮助 管理"


def test_direct_messages_list_only_what_works_there() -> None:
    text = overview(SERVICES, Asker(lang="en", admin=False, in_room=False))
    assert text.startswith("What I can do:")
    assert "tags" not in text.split("\n", 1)[1]  # the tagger's commands work in rooms only


def test_admin_commands_on_request() -> None:
    text = details("管理", SERVICES, Asker(lang="zh", admin=False, in_room=True))
    assert "· 群管理：设为管理员、取消管理员、关闭、开启" in text
    assert "只有本群管理员可以使用。" in text


def test_details_of_a_service_and_of_a_command() -> None:
    asker = Asker(lang="zh", admin=False, in_room=True)
    service = details("提醒", SERVICES, asker)  # the display name names the service, not the command
    assert service.startswith("【提醒】")
    assert "例：" in service
    command = details("取消提醒", SERVICES, asker)
    assert command.startswith("「取消提醒」（提醒）")
    assert "关键词：取消提醒 / cancel" in command
    english = details("remind", SERVICES, Asker(lang="en", admin=False, in_room=True))
    assert english.startswith("`remind` (reminders)")
    assert "e.g. " in english


def test_unknown_topics_get_the_closest_name_and_the_list() -> None:
    text = details("提型", SERVICES, Asker(lang="zh", admin=False, in_room=True))
    assert text.splitlines()[0] == "没有叫「提型」的服务或命令。你是不是想找「提醒」？"
    assert text.splitlines()[1].startswith("可以查：")
    assert details("me", SERVICES, Asker(lang="en", admin=False, in_room=True)).startswith("What I can do")


def test_commands_without_keywords_are_never_listed() -> None:
    hidden = ServiceInfo(
        name="x",
        version="1",
        instance="x-1",
        title_zh="某服务",
        commands=[ChatCommand(name="plain-words-only")],
    )
    assert "某服务" not in overview([hidden], Asker(lang="zh", admin=True, in_room=True))


def test_line_counts_of_the_real_registry() -> None:
    counts = {(asker.lang, asker.admin, asker.in_room): _check(overview(SERVICES, asker)) for asker in ASKERS}
    assert max(counts.values()) <= MAX_LINES
    print("help overview lines:", counts)
