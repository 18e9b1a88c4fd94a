"""The webhook fixtures are GitHub's real, complete shapes: githubkit's models (generated from GitHub's
OpenAPI description of webhooks) accept them with every required field present."""

import json
from pathlib import Path

import pytest
from githubkit.webhooks import parse_obj

PAYLOADS = Path(__file__).parent / "payloads"


def model_name(event: str, action: str | None) -> str:
    words = [*event.split("_"), *(action.split("_") if action else [])]
    return "Webhook" + "".join(word.capitalize() for word in words)


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda path: path.stem)
def test_fixture_matches_githubs_schema(path: Path) -> None:
    event = path.stem.split(".")[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    parsed = parse_obj(event, data)
    assert type(parsed).__name__ == model_name(event, data.get("action"))
