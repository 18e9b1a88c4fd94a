import pytest

from services.moderator.greeting import SmallTalk, small_talk


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("", SmallTalk.HELLO),  # a bare mention
        ("你好呀机器人！", SmallTalk.HELLO),
        ("Hello there 👋", SmallTalk.HELLO),
        ("在吗？", SmallTalk.HELLO),
        ("早上好[微笑]", SmallTalk.HELLO),  # WeChat's emoji arrive as text
        ("好的，谢谢", SmallTalk.THANKS),  # thanks wins over the acknowledgement
        ("Thank you so much!", SmallTalk.THANKS),
        ("收到", SmallTalk.ACK),
        ("👍", SmallTalk.ACK),
        ("早安☀️", SmallTalk.HELLO),  # an emoji with its variation selector
        ("不好意思打扰了", SmallTalk.HELLO),
        ("sorry to bother you", SmallTalk.HELLO),
        ("hhh", SmallTalk.ACK),
        ("哈哈哈哈", SmallTalk.ACK),
    ],
)
def test_small_talk_is_any_sequence_of_its_words(body: str, kind: SmallTalk) -> None:
    assert small_talk(body) is kind


@pytest.mark.parametrize(
    "body",
    [
        "你好，请问周会几点？",
        "hi, when is the meetup?",
        "谢谢提醒！明天9点见",
        "早点休息",
        "有人一起吃饭吗",
        "his",
        "不好意思，请问周会几点",
        "抱歉 我迟到了",
    ],
)
def test_anything_more_is_not_small_talk(body: str) -> None:
    assert small_talk(body) is None
