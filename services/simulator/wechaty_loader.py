"""Import python-wechaty 0.10.7 safely, for code that runs Wechaty on the simulator outside the gateway.

The gateway owns the real fix-ups (`services.gateway._wechaty_compat`); when that module exists it is used, so the
process patches python-wechaty once and the same way. Otherwise the two facts that make the import work are applied
here: `PuppetOptions` must be hashable before `import wechaty` (Python 3.11 refuses an unhashable dataclass default),
and the import itself warns about the deprecated `telnetlib`.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import warnings
from types import ModuleType


def load_wechaty() -> ModuleType:
    """Return the `wechaty` module, patched for Python 3.11."""
    try:
        importlib.import_module("services.gateway._wechaty_compat")
    except ModuleNotFoundError:
        _patch_locally()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("wechaty")


def _patch_locally() -> None:
    schemas = importlib.import_module("wechaty_puppet.schemas.puppet")
    schemas.PuppetOptions.__hash__ = object.__hash__
    # python-wechaty creates its cache directory (./.wechaty by default) at import time: keep it out of the cwd.
    os.environ.setdefault("CACHE_DIR", tempfile.mkdtemp(prefix="wechaty-cache-"))
