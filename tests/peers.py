"""Outside programs some tests need (Node for the official puppet service and the TypeScript example, Debian's
Chromium, buildah, a non-CJK font): when one is missing, the test says which and how to get it. On a developer's
machine that is a loud skip; in CI (`QUNBUS_REQUIRE_ALL=1`, set by `.ci/run`) it is a failure, so nothing passes
there by not running."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REQUIRE_ALL = "QUNBUS_REQUIRE_ALL"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)  # also where a module imports a helper that needs the peer


def require_node(what: str) -> None:
    """Node and npm on PATH, or `unavailable` naming `what` cannot run without them."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        unavailable(f"NODE TOOLCHAIN MISSING ({', '.join(missing)} not on PATH): {what} cannot run")
