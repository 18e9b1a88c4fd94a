"""The one place that imports python-wechaty 0.10.7 (2022) and works around its age.

Import wechaty through this module only (`from services.gateway._wechaty_compat import wechaty`):

- `PuppetOptions` is a non-frozen dataclass, hence unhashable, and `WechatyOptions` uses an instance of it
  as a field default; Python 3.11 refuses that at class creation unless the class is hashable.
- `wechaty.plugin` creates its cache directory (default `./.wechaty` in whatever directory the process runs
  in) as a side effect of the import: we point `CACHE_DIR` at a directory of our own first.
- It imports the deprecated `telnetlib`, which warns at import time (an error under our test settings).
- Its loggers get their own console handler and do not propagate, bypassing our log format (JSON in
  containers): they are routed through the root logger instead.
- It logs the puppet service token (`there are endpoint<…> and token<…>` at WARNING, on every start): secrets
  registered with `hide_in_logs` are masked in whatever its loggers write. It also sends the token as the gRPC
  `:authority`, which the HTTP/2 libraries log at DEBUG: those stay at INFO.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

WECHATY_DIR_ENV = "GATEWAY_WECHATY_DIR"
"""Where python-wechaty may write (its cache and job store). Same name as `GatewaySettings.wechaty_dir`."""


def wechaty_dir() -> Path:
    configured = os.environ.get(WECHATY_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "qunbus-wechaty"


_WECHATY_LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


class _Redaction(logging.Filter):
    """Masks registered secrets in the records of python-wechaty's loggers."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            masked = text
            for secret in self.secrets:
                masked = masked.replace(secret, "***")
            if masked != text:
                record.msg, record.args = masked, ()
        return True


_REDACTION = _Redaction()


def hide_in_logs(secret: str | None) -> None:
    """Never let python-wechaty log `secret` (the puppet service token)."""
    if secret:
        _REDACTION.secrets.add(secret)


def _adopt(logger: logging.Logger) -> logging.Logger:
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    logger.addFilter(_REDACTION)
    return logger


def _get_logger(name: str | None = None, file: str | None = None) -> logging.Logger:
    """Replaces `wechaty_puppet.get_logger` (`file` is ignored: logs go where the service's logs go)."""
    return _adopt(logging.getLogger(name))


def _adopt_existing_loggers() -> None:
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate:
            formats = {getattr(handler.formatter, "_fmt", None) for handler in logger.handlers}
            if formats == {_WECHATY_LOG_FORMAT}:
                _adopt(logger)


def _prepare() -> None:
    os.environ.setdefault("CACHE_DIR", str(wechaty_dir()))
    import wechaty_puppet.logger  # noqa: PLC0415 - these must run before `import wechaty`
    import wechaty_puppet.schemas.puppet as puppet_schemas  # noqa: PLC0415

    puppet_schemas.PuppetOptions.__hash__ = object.__hash__
    wechaty_puppet.logger.get_logger = _get_logger
    wechaty_puppet.get_logger = _get_logger


_prepare()

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import wechaty
    import wechaty_puppet
    import wechaty_puppet_service

_adopt_existing_loggers()
# FileBox warns about its own deprecated `mimeType` property every time it is serialised, and logs every creation.
logging.getLogger("FileBox").setLevel(logging.ERROR)
# The HTTP/2 stack under gRPC logs every header at DEBUG, the puppet service token among them (python-wechaty sends
# it as the `:authority`): never below INFO, whatever QUN_LOG_LEVEL says.
for _name in ("hpack", "h2"):
    logging.getLogger(_name).setLevel(logging.INFO)

__all__ = ["hide_in_logs", "wechaty", "wechaty_dir", "wechaty_puppet", "wechaty_puppet_service"]
