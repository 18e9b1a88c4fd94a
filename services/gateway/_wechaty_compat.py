"""The one place that imports python-wechaty 0.10.7 (2022) and works around its age.

Import wechaty through this module only (`from services.gateway._wechaty_compat import wechaty`):

- `PuppetOptions` is a non-frozen dataclass, hence unhashable, and `WechatyOptions` uses an instance of it
  as a field default; Python 3.11 refuses that at class creation unless the class is hashable.
- `wechaty.plugin` creates its cache directory (default `./.wechaty` in whatever directory the process runs
  in) as a side effect of the import: we point `CACHE_DIR` at a directory of our own first.
- It imports the deprecated `telnetlib`, which warns at import time (an error under our test settings).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

WECHATY_DIR_ENV = "GATEWAY_WECHATY_DIR"
"""Where python-wechaty may write (its cache and job store). Same name as `GatewaySettings.wechaty_dir`."""


def wechaty_dir() -> Path:
    configured = os.environ.get(WECHATY_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "qunbus-wechaty"


def _prepare() -> None:
    os.environ.setdefault("CACHE_DIR", str(wechaty_dir()))
    import wechaty_puppet.schemas.puppet as puppet_schemas  # noqa: PLC0415 - must run before `import wechaty`

    puppet_schemas.PuppetOptions.__hash__ = object.__hash__


_prepare()

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import wechaty
    import wechaty_puppet
    import wechaty_puppet_service

__all__ = ["wechaty", "wechaty_dir", "wechaty_puppet", "wechaty_puppet_service"]
