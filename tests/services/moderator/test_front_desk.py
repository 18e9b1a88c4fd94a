from schemas import ChatCommand, ServiceInfo
from services.moderator.front_desk import (
    did_you_mean,
    hello,
    keywords_for,
    member_facing,
    not_understood,
    read,
)


def info(name: str, *commands: ChatCommand, internal: bool = False, title: str = "") -> ServiceInfo:
    return ServiceInfo(
        name=name,
        version="1",
        instance=f"{name}-1",
        internal=internal,
        title_zh=title,
        title_en=name,
        commands=list(commands),
    )


REMIND = ChatCommand(
    name="remind", keywords_zh=["提醒"], keywords_en=["remind"], usage_zh="提醒 <时间> <内容>"
)
DISABLE = ChatCommand(name="disable", keywords_zh=["关闭"], admin_only=True, usage_zh="关闭 <服务>")
TAG = ChatCommand(name="tag", keywords_zh=["标记"], rooms_only=True, usage_zh="引用消息 @我 标记")
HELLO = ChatCommand(name="hello")  # recognised only: no keyword
SERVICES = [
    info("scheduler", REMIND, title="提醒"),
    info("moderator", DISABLE, HELLO, title="群管理"),
    info("tagger", TAG, title="群记忆"),
    info("dingdong", ChatCommand(name="ding", keywords_en=["ding"]), internal=True),
    info("gateway"),
]


def test_members_are_offered_what_they_can_use_here() -> None:
    def offered(*, admin: bool, in_room: bool) -> set[str]:
        return {k.keyword for k in keywords_for(SERVICES, admin=admin, in_room=in_room)}

    assert offered(admin=False, in_room=True) == {"提醒", "remind", "标记"}
    assert offered(admin=True, in_room=True) == {"提醒", "remind", "标记", "关闭"}
    assert offered(admin=False, in_room=False) == {"提醒", "remind"}  # 标记 works in rooms only
    assert "提醒" not in {
        k.keyword for k in keywords_for(SERVICES, admin=True, in_room=True, disabled=frozenset({"scheduler"}))
    }


def test_internal_services_and_services_without_keywords_are_not_member_facing() -> None:
    assert [i.name for i in member_facing([*SERVICES, *SERVICES])] == ["moderator", "scheduler", "tagger"]


def test_hello_is_three_lines_at_most_and_names_the_live_services() -> None:
    text = hello(SERVICES, in_room=True)
    assert len(text.zh.splitlines()) == 3
    assert len(text.en.splitlines()) == 3
    assert "群管理、提醒、群记忆" in text.zh
    assert "dingdong" not in text.en
    assert "gateway" not in text.en
    assert "@我" in text.zh
    assert "@我" not in hello(SERVICES, in_room=False).zh
    assert hello(SERVICES, in_room=False).zh.startswith("你好 👋 我是群聊助手。")  # no "this group" in a DM


def test_did_you_mean_names_the_keyword_and_its_usage() -> None:
    reading = read("提型 30分钟后 喝水", keywords_for(SERVICES, admin=False, in_room=True))
    text = did_you_mean(reading.suggestions)
    assert text.zh == "你是不是想用「提醒」？\n用法：提醒 <时间> <内容>"


def test_not_understood_mentions_a_weak_guess() -> None:
    keywords = keywords_for(SERVICES, admin=False, in_room=True)
    assert "「提醒」" in not_understood(read("提型是什么意思？", keywords), in_room=True).zh
    plain = not_understood(read("asdf", keywords), in_room=False)
    assert plain.zh == "没太明白你的意思 🤔\n发「帮助」看看怎么用。"
    assert not_understood(read("", keywords), in_room=False, text=False).en.startswith("I can only read text")
