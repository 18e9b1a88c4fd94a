"""Words of chat messages, for topics and matching: jieba for Chinese, words for the rest. Pure.

Stop words are the few hundred that say nothing about a topic (particles, pronouns, chat fillers); Chinese words
of one character are dropped too (mostly particles), ASCII words shorter than 2 letters as well.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PIECES = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9][a-z0-9_+#.-]*[a-z0-9+#]|[a-z0-9]")
URL = re.compile(r"https?://[^\s<>\"'，。！？、）)\]】]+", re.IGNORECASE)
MENTION = re.compile(r"@[^\s\u2005]{1,20}[\u2005 ]?")


def _paragraph(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP_ZH = _paragraph(
    "我们 你们 他们 她们 它们 大家 自己 什么 怎么 怎么样 为什么 哪里 哪个 这个 那个 这些 那些 这样 那样 这么 那么 就是 还是 但是 而且 因为 所以 如果 或者 然后 已经 可以 "
    "可能 应该 需要 知道 觉得 一下 一个 一些 有点 没有 不是 是不是 有没有 现在 今天 明天 昨天 刚才 时候 东西 事情 问题 谢谢 感谢 好的 好吧 哈哈 哈哈哈 嗯嗯 对对 收到 好滴 "
    "可以的 没事 真的 确实 其实 感觉 比较 还有 只是 不过 一起 一直 这里 那里 怎么办 一样 不会 不能 不要 不用 的话 起来 出来 下来 过来 之前 之后 以后 以前 还是 肯定 当然 "
    "估计 大概 应该是 看看 试试 说说 一下子 那就 这边 那边 直接 之类 这种 那种 各位 老师 同学 朋友 小伙伴 群里 群友 消息 "
)
_STOP_EN = _paragraph(
    "a an the and or but if then so of to in on at by for with from as is are was were be been being am "
    "do does did done have has had i you he she it we they me him her us them my your his its our their "
    "this that these those what which who whom whose when where why how not no yes ok okay thanks thank "
    "please just also too very can could will would shall should may might must there here all any some "
    "more most other such only own same than into about over after before again further once up down out "
    "off lol haha yeah yep sure hi hello hey let lets let's get got go going gonna want wanna need one "
    "two now today tomorrow yesterday think know like really well still even much many way thing things "
    "something anything everyone anyone guys "
)


def warm_up() -> None:
    """Load jieba's dictionary now (about a second), not on the first summary."""
    jieba.initialize()
    jieba.lcut("预热一下分词")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def clean(text: str) -> str:
    """Without links and @-mentions, NFKC, lower case: what words are taken from."""
    text = URL.sub(" ", text)
    text = MENTION.sub(" ", text)
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=65_536)
def _chinese_words(run: str) -> tuple[str, ...]:
    return tuple(jieba.lcut(run))


def words(text: str) -> list[str]:
    """Topic words of a message: stop words, one-character Chinese words and lone letters dropped."""
    found: list[str] = []
    for piece in _PIECES.findall(clean(text)):
        if _CJK.match(piece):
            found.extend(w for w in _chinese_words(piece) if len(w) > 1 and w not in _STOP_ZH)
        elif len(piece) > 1 and piece not in _STOP_EN and not piece.isdigit():
            found.append(_stem(piece))
    return found


def _stem(word: str) -> str:
    """Light English stemming: plural and -ing/-ed forms meet (deploys, deploying, deployed -> deploy)."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def bag(text: str) -> Counter[str]:
    return Counter(words(text))


_QUESTION = re.compile(
    r"[?？]|吗\s*$|呢\s*$|^(请问|有没有|有谁|谁知道|谁能|怎么|如何|哪里|哪儿|什么时候|几点|是否|能不能|可不可以)|"
    r"(怎么办|怎么弄|为什么|为啥|是不是|有没有人|在哪)",
)
_QUESTION_EN = re.compile(
    r"\?|^(how|what|where|when|who|which|why|is there|are there|does|do|can|could|should|anyone|any idea)\b",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    stripped = text.strip()
    return bool(_QUESTION.search(stripped) or _QUESTION_EN.search(stripped))


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters (a wide character counts 2), cut with an ellipsis."""
    flat = " ".join(MENTION.sub(" ", text).split())
    width, out = 0, list[str]()
    for char in flat:
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if width > limit:
            return "".join(out).rstrip(" ，,。.") + "…"
        out.append(char)
    return "".join(out)
