"""Text analysis for retrieval: normalisation, jieba word tokens, CJK bigrams, light English stemming.

jieba needs ~0.3 s (from the start cache) to ~1 s (cold) to load its dictionary, so the tokenizer is created
lazily, once per process, behind a lock; `warm_up()` lets the service pay that cost at start instead of on the
first question.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba

from services.shared.text import normalize

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_WORD = re.compile(r"\W")
_CHUNKS = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)
_LATIN_WORDS = re.compile(r"(?<![0-9a-z])v(?=\d)|\d+(?:\.(?:\d+|x\b))+|[0-9a-z]+")  # v2.4 → v, 2.4; 1.x


def _words(text: str) -> list[str]:
    return text.split()


# Function words and question scaffolding: they say *that* something is asked, not *what*.
STOPWORDS_ZH = frozenset(
    _words(
        """
    的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 在 有 和 与 及 或 也 都 就 还 又 很 把 被 给 让 对 向 从 到 于 为 以 之 其 这 那
    这个 那个 这些 那些 这里 那里 哪 哪个 哪些 什么 啥 怎么 怎样 怎么样 如何 为什么 为何 几 多少 谁
    是否 是不是 有没有 能不能 可不可以 可以 能 会 要 想 需要 应该 得 我 我们 你 你们 他 她 它 他们 大家 咱们 自己
    请问 请 问 一下 一个 个 吗 呢 知道 告诉 谢谢 麻烦 么 下 上 中 里 个 些 等 吗 啦 呗 嗯 哈 哈哈 请教 想问 问下
    咋 咋样 一般 现在 目前 那么 这么 所以 但是 因为 如果 然后 就是 还是 或者 已经 应该 不 没 没有 呀 来 去 用 做 说
    时候 的话 么样 多 少 最 更 再 才 只 过 着 地 各位 朋友 群友 同学 老师 大佬 求 求问 有人 谁知道 有谁 吗？
    怎么办 咋办 怎么弄 怎么搞 办法 才能 以后 之后 该 当 进行 注意 看 看到 找 找到 拿到 得到 一起 还有 除了 别的
    其他 其它 哪个 哪些人 哪位 人 平时 具体 东西 情况 方式 地方 最近 弄 搞 好 行 行不行 成 能否 可否 吗 有无 一样 之类 什么样
    """
    )
)
STOPWORDS_EN = frozenset(
    _words(
        """
    a an the is are was were be been being am do does did doing have has had having i me my we our you your he she
    it its they them their this that these those what which who whom whose why how there here can could
    should would will shall may might must of in on at by for with about to from into onto over under up down out
    and or but if then so than too very just also any some anyone anybody someone somebody please tell know let
    get got need want wanna gonna thanks thank hi hello hey guys everyone folks ok okay does anybody s t don doesn
    isn aren not no yes one ever still again now currently usually is there's what's where's how's it's i'm
    as many much per like find held whether somewhere anywhere exactly his her him hers mine yours us ours
    should shall which
    """
    )
)


# Everyday English words that carry little of a question's subject: they count, but for less (see importance()).
COMMON_EN = frozenset(
    _words(
        """
    find found include includ like start use using used make made work thing things way ways info information new
    old good best right wrong fine well lot lots much many more most other another else same different time times
    able possible need happen happens happened go going come coming look looking see show try tried give take put
    set keep mean question questions problem problems issue help think sure really actually maybe something anything
    everything nothing place part kind sort stuff people person guy member members group here there via per each
    every first last long short big small high low able allowed allow available exist exists become became
    project software tool app application program product system thing
    """
    )
)
IMPORTANCE_FLOOR = 0.2
LEXICON_WORD_FREQ = 100  # jieba frequency of a lexicon word jieba does not know (its total is ~60 million)

# Words a community uses for the very thing it is about ("this software", "the project"): in its room they name
# no subject, so they weigh as little as a Chinese word can.
GENERIC_SUBJECT_ZH = frozenset(_words("软件 项目 程序 工具 产品 系统 应用 东西 玩意 这个软件 这个项目"))

# Question words that say what *kind* of answer is wanted (a place, a time, a date). The dictionary maps them to
# the entity concepts a message carries when it states one (see index._ENTITIES): "where is the meetup" prefers
# the message with an address over one that merely mentions the meetup. They weigh little: they pick between
# candidates, they do not make a question answerable.
QUESTION_WORDS = frozenset(
    _words(
        """
    where 哪里 哪儿 在哪 在哪里 在哪儿 when 几点 什么时候 啥时候 何时 几点钟 几号 哪天 哪一天 多少号
    """
    )
)
QUESTION_WORD_IMPORTANCE = 0.35


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


_SUFFIXES = (  # (suffix, replacement, shortest stem left), longest first
    ("ational", "ate", 3),
    ("ization", "ize", 3),
    ("ements", "", 4),
    ("ement", "", 4),
    ("ments", "", 4),
    ("ment", "", 4),
    ("ations", "ate", 3),
    ("ation", "ate", 3),
    ("ness", "", 4),
    ("ings", "", 4),
    ("ing", "", 4),
    ("edly", "", 4),
    ("ies", "y", 3),
    ("ied", "y", 3),
    ("ly", "", 4),
    ("ed", "", 4),
    ("es", "", 3),
    ("s", "", 3),
)


def stem_en(word: str) -> str:
    """A small stemmer: inflections and common derivations, enough that 'reimbursed', 'reimbursement' and
    'reimburse' meet, and 'meetups' is 'meetup'. Applied alike to messages, questions and lexicon glosses."""
    if not word.isascii() or not word.isalpha() or len(word) <= 3:
        return word
    for suffix, keep, shortest in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest:
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "zes", "oes", "sses")):
                continue
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            word = word[: len(word) - len(suffix)] + keep
            break
    if len(word) > 5 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]  # reimburse = reimburs(ed)
    return word


class _GlobalIdf:
    """jieba's corpus-wide IDF table, loaded once on first use (~0.1 s): how telling a Chinese word is in general."""

    def __init__(self) -> None:
        self._table: dict[str, float] | None = None
        self._median = 0.0
        self._lock = threading.Lock()

    def table(self) -> tuple[dict[str, float], float]:
        if self._table is None:
            with self._lock:
                if self._table is None:
                    # Read the file directly: importing jieba.analyse opens it and never closes it.
                    source = Path(jieba.__file__).parent / "analyse" / "idf.txt"
                    table: dict[str, float] = {}
                    for line in source.read_text(encoding="utf-8").splitlines():
                        word, _, value = line.partition(" ")
                        if value:
                            table[word] = float(value)
                    self.set(table)
        assert self._table is not None
        return self._table, self._median

    def set(self, table: dict[str, float]) -> None:
        """Use `table` (table() of the same jieba, from the start cache) instead of reading the file."""
        self._median = statistics.median(table.values())
        self._table = table


_GLOBAL_IDF = _GlobalIdf()


def global_idf() -> dict[str, float]:
    return _GLOBAL_IDF.table()[0]


def set_global_idf(table: dict[str, float]) -> None:
    _GLOBAL_IDF.set(table)


def importance(word: str) -> float:
    """0.2..1: how much a question word says about its subject, independent of any room.

    A room of 40 tags cannot tell that 发现 ("find") is generic while 漏洞 ("vulnerability") is not; jieba's
    corpus IDF can. English uses a short list of everyday words instead.
    """
    if word in QUESTION_WORDS:
        return QUESTION_WORD_IMPORTANCE
    if not has_cjk(word):
        return 0.35 if word in COMMON_EN else 1.0
    if word in GENERIC_SUBJECT_ZH:
        return IMPORTANCE_FLOOR
    table, median = _GLOBAL_IDF.table()
    idf = table.get(word)
    if idf is None:
        # A word jieba glued together (群里, 能发) is as telling as its characters, not as a rare word.
        chars = [table[ch] for ch in word if ch in table]
        idf = sum(chars) / len(chars) if len(word) <= 2 and chars else median
    return min(1.0, max(IMPORTANCE_FLOOR, (idf - 3.5) / 6.5))


class Analyzer:
    """Turns text into the word tokens used by the index. One per process; see `analyzer()`."""

    def __init__(
        self,
        extra_words: Iterable[str] = (),
        lexicon_words: Iterable[str] = (),
        table: tuple[dict[str, int], int] | None = None,
    ) -> None:
        """`extra_words`: the override dictionary's terms (kept whole); `lexicon_words`: a general lexicon's
        headwords (CC-CEDICT), taught to jieba only where it does not know them (网飞 stays one word). `table`:
        jieba's word table with those words taught (`table()` of an earlier analyzer, see startcache.py)."""
        self._extra_words = tuple(extra_words)
        self._lexicon_words = tuple(lexicon_words)
        self._table = table
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def _jieba(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" chatter is not our log
                    tokenizer = jieba.Tokenizer()
                    if self._table is not None:
                        tokenizer.FREQ, tokenizer.total = self._table
                        tokenizer.initialized = True
                        self._tokenizer, self._table = tokenizer, None
                        return tokenizer
                    tokenizer.initialize()
                    for word in self._extra_words:
                        if has_cjk(word):
                            tokenizer.add_word(word, freq=20000)
                    for word in self._lexicon_words:
                        if word not in tokenizer.FREQ or not tokenizer.FREQ[word]:
                            # Rare: it wins over single characters (网 + 飞), never over words jieba knows.
                            tokenizer.add_word(word, freq=LEXICON_WORD_FREQ)
                    self._tokenizer = tokenizer
        return self._tokenizer

    def warm_up(self) -> None:
        self._jieba()

    def table(self) -> tuple[dict[str, int], int]:
        """jieba's word table (word → frequency, and their total) with the extra and lexicon words taught."""
        tokenizer = self._jieba()
        return tokenizer.FREQ, tokenizer.total

    def words(self, text: str, *, search_mode: bool = True) -> list[str]:
        """Content words in order, stop words dropped, English lightly stemmed.

        CJK stretches go through jieba. Search mode also yields the shorter words inside long ones (线下活动 →
        线下, 活动, 线下活动) and every other dictionary word the characters spell (公会战 is cut 公/会战, and 公会
        is there too): right for the index. Precise mode without HMM gives one token per known word and
        leaves unknown compounds (开发依赖) split into known ones: right for judging how much of a question is
        covered. Everything else is cut by a regex that keeps version numbers (2.4, 3.10) whole.
        """
        tokenizer = self._jieba()
        out: list[str] = []
        for chunk in _CHUNKS.finditer(normalize(text)):
            piece = chunk.group()
            if _CJK.match(piece):
                if search_mode:
                    parts = list(tokenizer.cut_for_search(piece))
                    seen = set(parts)
                    parts += [w for w in tokenizer.cut(piece, cut_all=True) if len(w) > 1 and w not in seen]
                else:
                    parts = list(tokenizer.cut(piece, HMM=False))
            else:
                parts = _LATIN_WORDS.findall(piece)
            # A letter standing alone between Chinese characters or as a whole keyword is a name (R, C 盘, B 站);
            # inside English text a single letter is an article or a contraction's tail.
            named = len(parts) == 1 and len(_NOT_WORD.sub("", piece)) == 1
            for token in parts:
                if len(token) == 1 and token.isascii() and not (named and token.isalpha()):
                    continue
                if token in STOPWORDS_ZH or token in STOPWORDS_EN:
                    continue
                out.append(stem_en(token))
        return out

    def cjk_runs(self, text: str) -> list[str]:
        """Maximal CJK stretches with stop words and question words cut out: the material for character bigrams."""
        runs: list[str] = []
        current: list[str] = []
        for raw in self._jieba().cut(normalize(text)):
            scaffolding = raw in STOPWORDS_ZH or raw in QUESTION_WORDS
            if has_cjk(raw) and not scaffolding and all(_CJK.match(ch) for ch in raw):
                current.append(raw)
                continue
            if current:
                runs.append("".join(current))
                current = []
        if current:
            runs.append("".join(current))
        return runs


def bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]
