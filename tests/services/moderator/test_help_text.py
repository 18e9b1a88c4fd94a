from dataclasses import dataclass, field

from services.moderator.help_text import details, live_services, overview


@dataclass(frozen=True)
class Command:
    name: str
    keywords_zh: list[str]
    keywords_en: list[str]
    usage_zh: str
    usage_en: str
    admin_only: bool = False
    needs_mention: bool = True


@dataclass(frozen=True)
class Service:
    name: str
    version: str
    commands: list[Command] = field(default_factory=list)
    summary_zh: str = ""
    summary_en: str = ""


TAG = Command("tag", ["标记"], ["tag"], "引用一条消息并 @我 标记", "quote a message, @me tag")
DISABLE = Command("disable", ["关闭"], ["disable"], "关闭 <服务>", "disable <service>", admin_only=True)
ENGLISH_ONLY = Command("ding", [], ["ding"], "", "answers dong", needs_mention=False)
TAGGER = Service("tagger", "0.1.0", [TAG], summary_zh="标记消息", summary_en="tags messages")
MODERATOR = Service("moderator", "0.2.0", [DISABLE])
DINGDONG = Service("dingdong", "1.0", [ENGLISH_ONLY])


def test_replicas_collapse_and_services_sort_by_name() -> None:
    assert [s.name for s in live_services([TAGGER, MODERATOR, TAGGER, DINGDONG])] == [
        "dingdong",
        "moderator",
        "tagger",
    ]


def test_overview_lists_every_live_service_and_command_in_both_languages() -> None:
    text = overview([TAGGER, MODERATOR, DINGDONG])
    assert text.zh.count("【") == 3
    assert "· 标记：引用一条消息并 @我 标记" in text.zh
    assert "· 关闭 <服务>（管理员）" in text.zh  # the usage starts with the keyword: not repeated
    assert "· ding：answers dong" in text.zh  # no Chinese keyword or usage: fall back to English
    assert "· disable <service> (admins)" in text.en
    assert "【tagger】标记消息" in text.zh
    assert "【tagger】 tags messages" in text.en
    assert "【moderator】\n" in text.en


def test_overview_lists_only_what_answered() -> None:
    text = overview([MODERATOR])
    assert "tagger" not in text.zh
    assert "tagger" not in text.en


def test_details_of_a_service() -> None:
    text = details("Tagger", [TAGGER, MODERATOR])
    assert text.zh.startswith("【tagger 0.1.0】")
    assert "关键词：标记 / tag" in text.zh


def test_details_of_a_command_by_keyword_in_either_language() -> None:
    by_zh = details("关闭", [TAGGER, MODERATOR])
    by_en = details("DISABLE", [TAGGER, MODERATOR])
    assert by_zh == by_en
    assert "仅管理员" in by_zh.zh
    assert "admins only; needs an @mention in groups" in by_en.en
    assert "no @mention needed" in details("ding", [DINGDONG]).en


def test_details_of_something_unknown_lists_the_services() -> None:
    text = details("weather", [TAGGER, MODERATOR])
    assert "weather" in text.zh
    assert "moderator、tagger" in text.zh
    assert "moderator, tagger" in text.en
