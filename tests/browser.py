"""Pages in a real headless Chromium (Debian's), driven by Playwright: one launcher for every browser test.

Importing this module skips the importing test module loudly when Chromium is missing (fails it in CI). A page whose
test fails leaves a screenshot (outside pytest's tmp_path: concurrent pytest runs prune each other's basetemp).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright import async_api as playwright_api

from tests.peers import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

if shutil.which(CHROMIUM) is None:
    unavailable(
        f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing — install it with "
        "`apt-get install -y chromium fonts-noto-cjk` (`make test` tries this as root)"
    )


@asynccontextmanager
async def browser_page(
    name: str,
    *,
    width: int = 1280,
    height: int = 800,
    timeout_ms: float = 10_000,
    failed: Callable[[], bool] = lambda: False,
) -> AsyncIterator[Any]:
    """A fresh page; on an exception inside the block, or when `failed()` says so at its end, a screenshot."""
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(timeout_ms)
        try:
            yield page
            if failed():
                await _screenshot(page, name)
        except BaseException:
            await _screenshot(page, name)
            raise
        finally:
            await browser.close()


async def _screenshot(page: Any, name: str) -> None:
    directory = Path(tempfile.gettempdir()) / "qunbus-browser-failures"
    directory.mkdir(exist_ok=True)
    shot = directory / f"{name}-{int(time.time())}.png"
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of the failed page: {shot}")
