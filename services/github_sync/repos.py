"""Repository names and the globs that bind them to rooms."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

# GitHub's own limits: owners are alphanumerics and single hyphens, repository names add `.` and `_`.
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_FULL_NAME = re.compile(rf"^(?P<owner>{_OWNER})/(?P<name>{_NAME})$")
_GLOB = re.compile(rf"^{_OWNER}/[A-Za-z0-9._*?-]{{1,100}}$")


@dataclass(frozen=True, order=True)
class RepoName:
    """`owner/name` of a GitHub repository, compared case-insensitively like GitHub does."""

    owner: str
    name: str

    @classmethod
    def parse(cls, text: str) -> RepoName:
        match = _FULL_NAME.match(text.strip())
        if match is None or match["name"] in {".", ".."}:
            raise ValueError(f"not a repository name: {text!r}")
        return cls(owner=match["owner"], name=match["name"])

    @classmethod
    def try_parse(cls, text: str) -> RepoName | None:
        try:
            return cls.parse(text)
        except ValueError:
            return None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def key(self) -> str:
        """Canonical lower-case form used for storage and comparison."""
        return self.full_name.lower()

    def __str__(self) -> str:
        return self.full_name


def is_repo_pattern(text: str) -> bool:
    """True for `owner/name` and for globs such as `org/*` or `org/web-*`."""
    return _GLOB.match(text.strip()) is not None


def pattern_matches(pattern: str, repo: RepoName) -> bool:
    """Whether a binding pattern (exact name or glob) covers `repo`, ignoring case."""
    return fnmatch.fnmatchcase(repo.key, pattern.strip().lower())


def is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?")
