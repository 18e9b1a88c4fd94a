from services.github_sync.categories import Category, parse_categories


def test_words_in_either_language_name_categories() -> None:
    found, unknown = parse_categories(["PR", "发布", "issues", "评论", "review", "tweets"])
    assert found == {Category.PULLS, Category.RELEASES, Category.ISSUES, Category.COMMENTS, Category.REVIEWS}
    assert unknown == ["tweets"]
