"""Lets a fixture see whether the test that used it failed (the browser test screenshots the page then)."""

from __future__ import annotations

from collections.abc import Callable, Generator

import pytest

FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def test_has_failed(request: pytest.FixtureRequest) -> Callable[[], bool]:
    """Call it in a fixture's teardown: True if the test body failed."""
    return lambda: request.node.stash.get(FAILED, False)
