import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from services.history.chart import HEIGHT, WIDTH, NoCjkFontError, find_font, render
from services.history.reports import figures
from tests.peers import unavailable
from tests.services.history.conversations import CHINESE, build

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def test_a_packaged_cjk_font_is_found_and_the_chart_is_a_png() -> None:
    font = find_font()
    found = figures(
        "daily",
        build(CHINESE),
        [],
        room_name="开源交流群",
        until=datetime(2026, 11, 22, 13, 0, tzinfo=UTC),
        zone=ZoneInfo("Asia/Shanghai"),
        lang="zh",
        leaderboard=False,
    )
    png = render(found, "zh", font)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    assert len(png) < 200_000
    # the title's Chinese characters are drawn as glyphs: its line is not blank and not one repeated box
    title = image.crop((32, 24, 400, 64)).convert("L")
    darkest, _ = title.getextrema()
    assert isinstance(darkest, int)
    assert darkest < 100


def test_a_font_without_chinese_glyphs_is_refused() -> None:
    if not DEJAVU.is_file():
        unavailable(
            "DejaVu Sans is missing: `apt-get install fonts-dejavu-core` (`make test` tries this as root)"
        )
    with pytest.raises(NoCjkFontError):
        find_font(DEJAVU)
    with pytest.raises(NoCjkFontError):
        find_font(None, candidates=[DEJAVU, Path("/nonexistent.ttf")])
