"""The report's chart: a PNG drawn with Pillow (bars of messages per hour or per day, a title, the key figures).

Why Pillow and not matplotlib: the chart is a title and a few dozen bars, which Pillow's ImageDraw draws in a few
milliseconds; Pillow is one wheel (7 MB download, about 22 MB installed) against matplotlib's stack (matplotlib,
numpy, fonttools, kiwisolver, contourpy, ... and Pillow itself: 42 MB of wheels) and its import and font-cache
start-up, in an image that runs every service.

The font must have Chinese glyphs and come from a package: HISTORY_CHART_FONT if set, else the first of the
Debian CJK fonts below that is installed (the container image installs fonts-wqy-microhei, 5 MB; the test
machines have fonts-noto-cjk). No font is fetched at run time; without one, reports are sent as text only.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from services.history.reports import ReportFigures, title
from services.shared.commands import Lang

log = logging.getLogger("qunbus.history.chart")

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
_PROBE = "中文"

WIDTH, HEIGHT = 900, 520
_BACKGROUND = (255, 255, 255)
_INK = (40, 44, 52)
_MUTED = (130, 136, 146)
_BAR = (7, 193, 96)  # WeChat green
_PEAK = (250, 157, 59)
_GRID = (232, 234, 238)


class NoCjkFontError(RuntimeError):
    """No installed font has Chinese glyphs."""


@dataclass(frozen=True)
class ChartFont:
    path: Path
    index: int

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        return _load(self.path, self.index, size)


@lru_cache(maxsize=16)
def _load(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size=size, index=index)


def _has_cjk(font: ImageFont.FreeTypeFont) -> bool:
    """A font without the glyphs draws them as its 'missing' box, the same as for an unassigned code point."""
    probe = font.getmask(_PROBE)
    missing = font.getmask("\U0010fffd\U0010fffd")
    return probe.getbbox() is not None and (probe.size != missing.size or bytes(probe) != bytes(missing))


def find_font(configured: Path | None = None, candidates: Sequence[Path] = FONT_CANDIDATES) -> ChartFont:
    """The configured font, else the first installed candidate with Chinese glyphs (a Simplified Chinese face of
    a collection when it has one)."""
    for path in [configured] if configured is not None else candidates:
        if path is None or not path.is_file():
            continue
        chosen: ChartFont | None = None
        for index in range(8):
            try:
                font = ImageFont.truetype(str(path), size=20, index=index)
            except OSError:
                break
            if not _has_cjk(font):
                continue
            simplified = " SC" in (font.getname()[0] or "")
            if chosen is None or simplified:
                chosen = ChartFont(path, index)
            if simplified:
                break
        if chosen is not None:
            return chosen
    where = configured or ", ".join(str(p) for p in candidates)
    raise NoCjkFontError(f"no font with Chinese glyphs found ({where}); install fonts-wqy-microhei")


def render(found: ReportFigures, lang: Lang, font: ChartFont) -> bytes:
    """The chart as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    heading, body, small = font.at(30), font.at(20), font.at(15)
    draw.text((32, 24), title(found, lang), font=heading, fill=_INK)
    zh = lang == "zh"
    summary = (
        f"消息 {found.messages} 条 · 活跃 {found.members} 人"
        if zh
        else f"{found.messages} messages · {found.members} members"
    )
    if found.topics:
        summary += ("  ·  热门：" if zh else "  ·  top: ") + ("、" if zh else ", ").join(found.topics)
    draw.text((32, 72), summary, font=body, fill=_MUTED)
    _bars(draw, found, (48, 130, WIDTH - 32, HEIGHT - 70), small)
    axis = (
        ("每小时消息数" if found.kind == "daily" else "每天消息数")
        if zh
        else ("messages per hour" if found.kind == "daily" else "messages per day")
    )
    draw.text((32, HEIGHT - 36), axis, font=small, fill=_MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _bars(
    draw: ImageDraw.ImageDraw,
    found: ReportFigures,
    box: tuple[int, int, int, int],
    font: ImageFont.FreeTypeFont,
) -> None:
    left, top, right, bottom = box
    peak = max((n for _, n in found.buckets), default=0) or 1
    for step in range(1, 5):
        y = bottom - (bottom - top) * step / 4
        draw.line((left, y, right, y), fill=_GRID, width=1)
        draw.text((left - 8, y), f"{round(peak * step / 4)}", font=font, fill=_MUTED, anchor="rm")
    draw.line((left, bottom, right, bottom), fill=_MUTED, width=1)
    slot = (right - left) / max(len(found.buckets), 1)
    every = 3 if found.kind == "daily" else 1
    for k, (label, count) in enumerate(found.buckets):
        x0 = left + k * slot + slot * 0.15
        x1 = left + (k + 1) * slot - slot * 0.15
        if count:
            height = (bottom - top) * count / peak
            draw.rectangle((x0, bottom - height, x1, bottom), fill=_PEAK if count == peak else _BAR)
        if k % every == 0:
            draw.text(((x0 + x1) / 2, bottom + 6), label, font=font, fill=_MUTED, anchor="mt")
