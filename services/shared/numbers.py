"""Numbers as people type them: 12, 十二, 两, 二十三, 〇, 1.5, one, an, fifteen (times, durations, counts)."""

from __future__ import annotations

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_EN_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty-five": 45,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
}

CN_NUMBER = "[0-9零〇一二两三四五六七八九十百]+"
"""A regex for an integer written with Arabic or Chinese digits."""

EN_NUMBER = r"(?:\d+(?:\.\d+)?|" + "|".join(sorted(_EN_WORDS, key=len, reverse=True)) + r")"
"""A regex for a number in an English duration: digits (maybe decimal) or a small number word."""


def parse_cn_int(text: str) -> int:
    """'12' -> 12, '十二' -> 12, '二十三' -> 23, '两' -> 2, '二〇二六' -> 2026, '一百二十' -> 120."""
    if text.isdigit():
        return int(text)
    if "十" not in text and "百" not in text:
        value = 0
        for char in text:
            value = value * 10 + _digit(char)
        return value
    total, current = 0, 0
    for char in text:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _digit(char)
    return total + current


def parse_en_number(text: str) -> float:
    """'45' -> 45, '1.5' -> 1.5, 'an' -> 1, 'fifteen' -> 15."""
    word = text.lower()
    if word in _EN_WORDS:
        return float(_EN_WORDS[word])
    return float(word)


def _digit(char: str) -> int:
    if char.isdigit():
        return int(char)
    return _CN_DIGITS[char]
