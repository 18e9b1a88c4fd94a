"""Small talk addressed to the bot: a hello, a thank-you, an "ok", or a bare mention.

A message is small talk only when nothing is left once its greeting words, words that address the bot, particles,
punctuation and emoji are taken away: `你好呀机器人！` is a hello, `你好，请问周会几点？` is a question (the tagger's).
The words are a vocabulary, not sentences: a message is read as a sequence of them (like splitting words), so any
combination counts.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import cache


class SmallTalk(StrEnum):
    """What kind of small talk a message is."""

    HELLO = "hello"
    """A greeting, or just the bot's name: answered with who I am and how to get help."""
    THANKS = "thanks"
    ACK = "ack"
    """"ok", "收到": the member acknowledges an answer."""


_HELLO = (
    "你好 您好 你们好 大家好 嗨 哈喽 哈啰 哈罗 嘿 喂 在 在吗 在么 在嘛 在不在 在否 有人 有人吗 有人在吗 "
    "早 早啊 早上好 早安 上午好 中午好 午安 下午好 晚上好 晚安 "
    "hi hii hello hallo helo hey heya hiya howdy yo sup greetings morning evening "
    "good_morning good_afternoon good_evening good_night gm anyone_there anybody_there are_you_there you_there "
    "whats_up what's_up "
    # Sorry to bother: the member wants my attention.
    "不好意思 打扰 打扰了 打扰啦 打扰一下 抱歉 sorry sorry_to_bother sorry_for_bothering excuse_me pardon"
)
_THANKS = (
    "谢谢 谢 多谢 感谢 谢啦 谢了 谢谢啦 辛苦 辛苦了 感恩 3q 麻烦了 "
    "thanks thank thank_you thank_u thanks_you thx tks ty tysm cheers many_thanks much_appreciated appreciate_it"
)
_ACK = (
    "好的 好 好滴 收到 了解 明白 知道了 ok okay okey k got_it roger noted "
    # Laughing along.
    "哈哈 哈哈哈 呵呵 嘿嘿 嘻嘻 hh hhh haha hahaha lol lmao"
)
_FILLER = (
    # Who is addressed.
    "你 您 机器人 小助手 助手 群助手 bot robot qunbot 亲 同学 大家 各位 朋友们 "
    "there everyone everybody all guys folks you "
    # Particles and intensifiers.
    "呀 啊 哈 呢 啦 哦 喔 噢 嗯 吖 嘛 吗 么 哇 哒 滴 嗨呀 "
    "a_lot so_much very_much again lot much"
)

_WECHAT_EMOJI = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,6}\]")
"""WeChat's built-in emoji arrive as text: `[微笑]`, `[抱拳]`, `[Smile]`."""


def _words(spec: str) -> frozenset[str]:
    return frozenset(word.replace("_", "").replace("'", "") for word in spec.split())


@cache
def _vocabulary() -> dict[str, SmallTalk | None]:
    """Each word, spaces removed (messages are compared without spaces), with its kind (None: filler)."""
    words: dict[str, SmallTalk | None] = dict.fromkeys(_words(_FILLER))
    for kind, spec in ((SmallTalk.ACK, _ACK), (SmallTalk.HELLO, _HELLO), (SmallTalk.THANKS, _THANKS)):
        words.update(dict.fromkeys(_words(spec), kind))
    return words


def _squeezed(body: str) -> str:
    """Lower case, without spaces, punctuation, symbols (emoji, with their variation selectors) or WeChat emoji
    codes."""
    text = _WECHAT_EMOJI.sub("", unicodedata.normalize("NFKC", body)).casefold()
    return "".join(char for char in text if unicodedata.category(char)[0] not in "PSZCM")


_LONGEST = 16


def _split(text: str) -> list[str] | None:
    """The message as a sequence of vocabulary words, or None if some of it is no such word (word-break)."""
    vocabulary = _vocabulary()
    best: list[list[str] | None] = [None] * (len(text) + 1)
    best[0] = []
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - _LONGEST), end):
            before = best[start]
            if before is not None and text[start:end] in vocabulary:
                best[end] = [*before, text[start:end]]
                break
    return best[len(text)]


def small_talk(body: str) -> SmallTalk | None:
    """What kind of small talk the message is, or None if it says anything more."""
    squeezed = _squeezed(body)
    if not squeezed and body.strip():
        return SmallTalk.ACK  # only emoji or punctuation: 👍, 🙏, "?"
    words = _split(squeezed)
    if words is None:
        return None
    kinds = {_vocabulary()[word] for word in words}
    for kind in (SmallTalk.THANKS, SmallTalk.HELLO, SmallTalk.ACK):
        if kind in kinds:
            return kind
    return SmallTalk.HELLO  # nothing but the bot's name (or a bare mention): they want my attention
