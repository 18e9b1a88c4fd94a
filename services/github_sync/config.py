"""The YAML file named by GITHUB_SYNC_CONFIG: static room ↔ repository bindings and label aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.github_sync.categories import ALL_CATEGORIES, Category
from services.github_sync.repos import RepoName, is_repo_pattern, pattern_matches


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _valid_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    bad = [pattern for pattern in patterns if not is_repo_pattern(pattern)]
    if bad:
        raise ValueError(f"not repository names or globs: {bad}")
    return tuple(pattern.strip() for pattern in patterns)


RepoPatterns = Annotated[tuple[str, ...], AfterValidator(_valid_patterns)]


class StaticBinding(_Frozen):
    """Rooms that follow the repositories matching `repos` (exact names or globs such as `org/*`)."""

    repos: RepoPatterns = Field(min_length=1, description="`owner/name` or globs such as `org/*`.")
    rooms: tuple[str, ...] = Field(min_length=1, description="WeChat room ids.")
    events: frozenset[Category] = Field(
        default=ALL_CATEGORIES, description="Which notices these rooms get (default: all)."
    )


class RoomOptions(_Frozen):
    history: bool = Field(
        default=True,
        description="No longer used: the history service keeps the rooms' messages (its admins switch it per "
        "room). Accepted so that older files still load; a warning is logged at start.",
    )


class GithubSyncConfig(_Frozen):
    bindings: tuple[StaticBinding, ...] = ()
    allow: RepoPatterns = Field(
        default=(),
        description="Repositories (names or globs) admins may bind in chat; empty: no chat binding at all. "
        "Whatever is bound is written to with the operator's GitHub credentials, so the operator decides.",
    )
    rooms: dict[str, RoomOptions] = Field(default_factory=dict)
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra label aliases: word typed in chat → label name in the repo."
    )

    @classmethod
    def load(cls, path: Path | None) -> GithubSyncConfig:
        """Read the file; no path means no static bindings (chat bindings still work)."""
        if path is None:
            return cls()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.model_validate(data)

    def chat_binding_allowed(self, repo: RepoName) -> bool:
        return any(pattern_matches(pattern, repo) for pattern in self.allow)

    def patterns_for_room(self, room_id: str) -> list[str]:
        return [pattern for binding in self.bindings if room_id in binding.rooms for pattern in binding.repos]

    def rooms_for_repo(self, repo: RepoName) -> dict[str, frozenset[Category]]:
        """Room id → categories it wants from `repo`; a room listed by several bindings gets their union."""
        rooms: dict[str, frozenset[Category]] = {}
        for binding in self.bindings:
            if any(pattern_matches(pattern, repo) for pattern in binding.repos):
                for room_id in binding.rooms:
                    rooms[room_id] = rooms.get(room_id, frozenset()) | binding.events
        return rooms

    def rooms_without_history(self) -> list[str]:
        """Rooms an older file asked not to keep history for: the history service's switch decides now."""
        return sorted(room_id for room_id, options in self.rooms.items() if not options.history)
