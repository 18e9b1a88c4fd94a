import pytest

from services.github_sync.repos import RepoName, is_glob, is_repo_pattern, pattern_matches


def test_parse_keeps_spelling_and_compares_by_lower_case_key() -> None:
    repo = RepoName.parse(" Acme/Widgets.py ")
    assert (repo.owner, repo.name, repo.full_name, repo.key) == (
        "Acme",
        "Widgets.py",
        "Acme/Widgets.py",
        "acme/widgets.py",
    )


@pytest.mark.parametrize(
    "text", ["acme", "acme/", "/widgets", "acme/wid gets", "-acme/x", "acme/..", "a/b/c", "acme/*"]
)
def test_parse_rejects_what_github_would_not_name_a_repository(text: str) -> None:
    assert RepoName.try_parse(text) is None
    with pytest.raises(ValueError, match="not a repository name"):
        RepoName.parse(text)


@pytest.mark.parametrize(
    ("pattern", "repo", "expected"),
    [
        ("acme/*", "acme/widgets", True),
        ("ACME/*", "acme/Widgets", True),
        ("acme/web-*", "acme/web-app", True),
        ("acme/web-*", "acme/api", False),
        ("acme/*", "other/widgets", False),
        ("acme/widgets", "Acme/Widgets", True),
    ],
)
def test_globs_bind_repositories_ignoring_case(pattern: str, repo: str, expected: bool) -> None:
    assert pattern_matches(pattern, RepoName.parse(repo)) is expected


def test_patterns_are_names_or_globs() -> None:
    assert is_repo_pattern("acme/*")
    assert is_repo_pattern("acme/widgets")
    assert not is_repo_pattern("acme")
    assert not is_repo_pattern("*/widgets")
    assert is_glob("acme/*")
    assert not is_glob("acme/widgets")
