"""Loads deploy/k8s/secrets/init_secrets.py, a standalone script (deploy/ is not a Python package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SECRETS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "secrets"


def load_init_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("init_secrets", SECRETS / "init_secrets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
