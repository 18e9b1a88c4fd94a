"""Fixtures of the security suite: the fake GitHub and github-sync wired to it, as github-sync's own tests have them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.github_sync.conftest import TOKEN
from tests.services.github_sync.fake_github import FakeGitHub
from tests.services.github_sync.test_app import config_file, start  # noqa: F401 - fixtures


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_repo("acme/widgets", labels=["bug", "documentation", "enhancement"])
        yield fake
