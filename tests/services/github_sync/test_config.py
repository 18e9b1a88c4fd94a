from pathlib import Path

import pytest
from pydantic import ValidationError

from services.github_sync.categories import ALL_CATEGORIES, Category
from services.github_sync.config import GithubSyncConfig
from services.github_sync.repos import RepoName

EXAMPLE = """
bindings:
  - repos: ["acme/*"]
    rooms: ["ops@chatroom"]
    events: [releases, pulls]
  - repos: ["acme/widgets", "tools/cli"]
    rooms: ["dev@chatroom", "ops@chatroom"]
rooms:
  ops@chatroom:
    history: false
labels:
  崩溃: crash
"""


def load(tmp_path: Path, text: str) -> GithubSyncConfig:
    path = tmp_path / "github-sync.yaml"
    path.write_text(text, encoding="utf-8")
    return GithubSyncConfig.load(path)


def test_one_repo_notifies_several_rooms_and_a_room_follows_several_repos(tmp_path: Path) -> None:
    config = load(tmp_path, EXAMPLE)
    widgets = config.rooms_for_repo(RepoName.parse("acme/widgets"))
    assert widgets == {"ops@chatroom": ALL_CATEGORIES, "dev@chatroom": ALL_CATEGORIES}
    assert config.rooms_for_repo(RepoName.parse("acme/other")) == {
        "ops@chatroom": frozenset({Category.RELEASES, Category.PULLS})
    }
    assert config.patterns_for_room("ops@chatroom") == ["acme/*", "acme/widgets", "tools/cli"]
    assert config.rooms_for_repo(RepoName.parse("nobody/else")) == {}


def test_room_options_and_label_aliases(tmp_path: Path) -> None:
    config = load(tmp_path, EXAMPLE)
    assert config.rooms_without_history() == ["ops@chatroom"]  # still read, only to warn: no longer used
    assert config.labels == {"崩溃": "crash"}


def test_no_file_means_no_static_bindings() -> None:
    config = GithubSyncConfig.load(None)
    assert config.bindings == ()
    assert config.rooms_without_history() == []
    assert not config.chat_binding_allowed(RepoName("acme", "widgets"))  # no `allow:`, no chat binding


def test_the_allow_list_says_which_repositories_may_be_bound_in_chat(tmp_path: Path) -> None:
    config = load(tmp_path, "allow: ['acme/*', 'tools/cli']")
    assert config.chat_binding_allowed(RepoName("ACME", "Widgets"))
    assert config.chat_binding_allowed(RepoName("tools", "cli"))
    assert not config.chat_binding_allowed(RepoName("tools", "cli-private"))
    assert not config.chat_binding_allowed(RepoName("corp", "secrets"))


@pytest.mark.parametrize(
    "text",
    [
        "bindings: [{repos: ['not a repo'], rooms: ['r@chatroom']}]",
        "bindings: [{repos: ['acme/x'], rooms: []}]",
        "bindings: [{repos: ['acme/x'], rooms: ['r'], events: [tweets]}]",
        "bindngs: []",
        "allow: ['everything']",
    ],
)
def test_mistakes_in_the_file_are_reported_at_start(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValidationError):
        load(tmp_path, text)
