"""Numbers as written in time expressions."""

from __future__ import annotations

import pytest

from services.shared.numbers import parse_cn_int, parse_en_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十三", 23),
        ("两", 2),
        ("〇", 0),
        ("二〇二六", 2026),
        ("一百二十", 120),
    ],
)
def test_chinese_and_arabic_integers(text: str, value: int) -> None:
    assert parse_cn_int(text) == value


@pytest.mark.parametrize(("text", "value"), [("45", 45.0), ("1.5", 1.5), ("an", 1.0), ("Fifteen", 15.0)])
def test_english_numbers(text: str, value: float) -> None:
    assert parse_en_number(text) == value
