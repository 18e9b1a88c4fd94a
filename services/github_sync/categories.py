"""The kinds of GitHub activity a room can choose to hear about."""

from __future__ import annotations

from enum import StrEnum

from services.shared.text import normalize


class Category(StrEnum):
    """A per-room notice filter. Names are what admins type and what the YAML file uses."""

    ISSUES = "issues"  # issues opened / closed / reopened
    COMMENTS = "comments"  # issue and pull-request comments
    PULLS = "pulls"  # pull requests opened / merged / closed
    REVIEWS = "reviews"  # pull-request reviews submitted
    RELEASES = "releases"  # releases published


ALL_CATEGORIES: frozenset[Category] = frozenset(Category)

# What people type in chat, in either language, for each category.
_CATEGORY_WORDS: dict[str, Category] = {
    "issues": Category.ISSUES,
    "issue": Category.ISSUES,
    "工单": Category.ISSUES,
    "comments": Category.COMMENTS,
    "comment": Category.COMMENTS,
    "评论": Category.COMMENTS,
    "pulls": Category.PULLS,
    "pull": Category.PULLS,
    "pr": Category.PULLS,
    "prs": Category.PULLS,
    "合并请求": Category.PULLS,
    "reviews": Category.REVIEWS,
    "review": Category.REVIEWS,
    "评审": Category.REVIEWS,
    "releases": Category.RELEASES,
    "release": Category.RELEASES,
    "发布": Category.RELEASES,
}


def parse_categories(words: list[str]) -> tuple[frozenset[Category], list[str]]:
    """Categories named in `words`, and the words that named none (to tell the admin)."""
    found: set[Category] = set()
    unknown: list[str] = []
    for word in words:
        category = _CATEGORY_WORDS.get(normalize(word))
        if category is None:
            unknown.append(word)
        else:
            found.add(category)
    return frozenset(found), unknown
