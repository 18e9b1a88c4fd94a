"""The login QR code for terminals and for `/qr`."""

from __future__ import annotations

from services.gateway import qr

CODE = "https://login.weixin.qq.com/l/abc"


def test_terminal_text_is_a_block_of_half_block_characters() -> None:
    lines = qr.terminal_text(CODE).splitlines()

    assert len(lines) > 10
    assert len({len(line) for line in lines if line}) == 1  # a rectangle
    assert set("".join(lines)) <= set("\xa0 █▀▄")  # qrcode pads with no-break spaces


def test_svg_is_an_svg_document() -> None:
    drawing = qr.svg(CODE)

    assert drawing.startswith(b"<svg")
    assert b"<path" in drawing


def test_page_shows_the_code_and_a_link_to_an_image() -> None:
    page = qr.page(CODE, "waiting")

    assert "<svg" in page
    assert "https://wechaty.js.org/qrcode/https%3A%2F%2Flogin.weixin.qq.com%2Fl%2Fabc" in page
    assert "waiting" in page


def test_page_without_a_code_says_why_and_escapes_the_status() -> None:
    page = qr.page(None, "<logged in>")

    assert "<svg" not in page
    assert "&lt;logged in&gt;" in page
