"""Every service of this repository, found from the packages themselves: a package under `services/` whose `app`
module declares `service = QunService(...)`. Nothing keeps a list: provisioning, NATS permissions, the commands
page and the Kubernetes manifests all start here, so a new package is registered by existing."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache
from typing import Any

import services
from services.shared.service import QunService

GATEWAY = "gateway"
"""The edge: one process per WeChat account, with per-account rights and consumer (not a per-service one)."""


def service_packages() -> list[str]:
    """Names of the packages under services/ that have an `app` module (shared plumbing excluded)."""
    found = []
    for package in pkgutil.iter_modules(services.__path__):
        if not package.ispkg or package.name == "shared":
            continue
        spec = importlib.util.find_spec(f"services.{package.name}.app")
        if spec is not None:
            found.append(package.name)
    return sorted(found)


@cache
def declared() -> tuple[QunService[Any, Any], ...]:
    """The declarations of every service package, by service name. A package whose app module fails to import
    makes this fail: a broken service must not silently lose its consumer or its rights."""
    found: dict[str, QunService[Any, Any]] = {}
    for package in service_packages():
        service = getattr(importlib.import_module(f"services.{package}.app"), "service", None)
        if not isinstance(service, QunService):
            raise TypeError(f"services/{package}/app.py must declare `service = QunService(...)`")
        if service.name in found:
            raise ValueError(f"two packages declare the service {service.name!r}")
        found[service.name] = service
    return tuple(found[name] for name in sorted(found))


def event_services() -> tuple[QunService[Any, Any], ...]:
    """The services that consume events (each has a durable consumer and a NATS user of its own)."""
    return tuple(service for service in declared() if service.name != GATEWAY)
