"""The login QR code, three ways: text for a terminal (or a pod's logs), an SVG page for `/qr`, a URL."""

from __future__ import annotations

import html
import io

import qrcode
import qrcode.image.svg

from services.gateway.translate import qr_image_url


def _code(content: str) -> qrcode.QRCode:
    code = qrcode.QRCode(border=1)
    code.add_data(content)
    code.make(fit=True)
    return code


def terminal_text(content: str) -> str:
    """Half-block characters, two modules per character row: small enough for a laptop terminal."""
    out = io.StringIO()
    _code(content).print_ascii(out=out, invert=True)
    return out.getvalue()


def svg(content: str) -> bytes:
    image = _code(content).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return bytes(image.to_string())


def page(content: str | None, status: str) -> str:
    """What `/qr` shows: the code to scan, or why there is none."""
    if not content:
        body = f"<p>No QR code to scan (status: {html.escape(status)}).</p>"
    else:
        drawing = svg(content).decode()
        link = html.escape(qr_image_url(content))
        body = (
            f'<div style="width:320px">{drawing}</div>'
            f"<p>Status: {html.escape(status)}. Scan with WeChat on the phone of the bot's account.</p>"
            f'<p><a href="{link}">Open as an image</a></p>'
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">'
        f"<title>qunbus login</title></head><body>{body}</body></html>"
    )
