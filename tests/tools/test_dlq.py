"""`python -m tools.dlq` is `qunctl dlq` (the verbs themselves are tested in test_qunctl.py against real NATS)."""

from __future__ import annotations

import pytest

from tools import dlq, qunctl


def test_dlq_tool_is_qunctl_dlq(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(qunctl, "main", lambda argv: seen.append(list(argv)))
    dlq.main(["list", "--json", "--service", "tagger"])
    assert seen == [["--json", "dlq", "list", "--service", "tagger"]]
