"""Fixtures for end-to-end tests against the official Wechaty peer (see puppet_mock.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.peers import require_node

from .puppet_mock import PuppetMockWorld, ensure_node_modules


@pytest.fixture(scope="session")
def _node_modules_installed() -> None:
    require_node("the official Wechaty peer")
    ensure_node_modules()


@pytest.fixture
async def puppet_mock(_node_modules_installed: None) -> AsyncIterator[PuppetMockWorld]:
    """A fresh official peer (PuppetServer over PuppetMock) on free ports with its own token."""
    async with PuppetMockWorld.started() as world:
        yield world
