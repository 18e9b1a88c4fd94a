"""Fixtures for end-to-end tests against the official Wechaty peer (see puppet_mock.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from .puppet_mock import PuppetMockWorld, ensure_node_modules, node_toolchain_missing


@pytest.fixture(scope="session")
def _node_modules_installed() -> None:
    reason = node_toolchain_missing()
    if reason is not None:
        # CI sets QUNBUS_REQUIRE_NODE=1 so a machine without Node fails instead of silently skipping.
        if os.environ.get("QUNBUS_REQUIRE_NODE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    ensure_node_modules()


@pytest.fixture
async def puppet_mock(_node_modules_installed: None) -> AsyncIterator[PuppetMockWorld]:
    """A fresh official peer (PuppetServer over PuppetMock) on free ports with its own token."""
    async with PuppetMockWorld.started() as world:
        yield world
