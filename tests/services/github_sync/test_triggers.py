import pytest

from services.github_sync.repos import RepoName
from services.github_sync.triggers import (
    DEFAULT_COUNT,
    MAX_COUNT,
    IssueTrigger,
    label_aliases,
    parse_trigger,
    resolve_labels,
)

ALIASES = label_aliases({"崩溃": "crash"})


def parse(body: str, *, mentioned: bool = False) -> IssueTrigger | None:
    return parse_trigger(body, mentions_bot=mentioned, aliases=ALIASES)


@pytest.mark.parametrize(
    ("body", "count", "title"),
    [
        ("以上5条开工单 登录失败", 5, "登录失败"),
        ("以上5条创建 Issue", 5, ""),
        ("以上5条创建issue 支付超时", 5, "支付超时"),
        ("以上开工单", DEFAULT_COUNT, ""),
        ("以上五条开工单", 5, ""),
        ("以上二十条开工单", 20, ""),
        ("以上十二条开工单", 12, ""),
        ("以上 8 条开工单：页面白屏", 8, "页面白屏"),
        ("以上５条开工单", 5, ""),  # full-width digit
        ("issue last 5 Login fails on Safari", 5, "Login fails on Safari"),
        ("ISSUE LAST", DEFAULT_COUNT, ""),
        ("issue last 3", 3, ""),
        ("以上0条开工单", DEFAULT_COUNT, ""),
    ],
)
def test_trigger_forms(body: str, count: int, title: str) -> None:
    trigger = parse(body)
    assert trigger is not None
    assert (trigger.count, trigger.title, trigger.count_capped) == (count, title, False)


def test_count_is_capped_at_fifty() -> None:
    trigger = parse("以上200条开工单")
    assert trigger is not None
    assert (trigger.count, trigger.count_capped) == (MAX_COUNT, True)


@pytest.mark.parametrize(
    "body", ["以上说得对", "以上", "issue 很严重", "the issue last week", "我们开工单吧", "issues last 5"]
)
def test_ordinary_chat_is_not_a_trigger(body: str) -> None:
    assert parse(body) is None


def test_plain_issue_form_needs_the_bot_mentioned() -> None:
    assert parse("issue 5 Crash on start") is None
    trigger = parse("issue 5 Crash on start", mentioned=True)
    assert trigger is not None
    assert (trigger.count, trigger.title) == (5, "Crash on start")


@pytest.mark.parametrize(
    ("body", "labels", "title"),
    [
        ("以上5条开工单 [bug] 登录失败", ("bug",), "登录失败"),
        ("以上5条开工单 登录失败 [docs]", ("docs",), "登录失败"),
        ("以上5条开工单 缺陷 登录失败", ("缺陷",), "登录失败"),
        ("以上5条开工单 需求：导出 CSV", ("需求",), "导出 CSV"),
        ("以上开工单 【文档】 安装说明过时", ("文档",), "安装说明过时"),
        ("issue last 5 [bug] [docs] Typo in README", ("bug", "docs"), "Typo in README"),
        ("以上开工单 [登录失败]", (), "登录失败"),  # brackets around the whole title are not a label
        ("以上开工单 崩溃 启动即退出", ("崩溃",), "启动即退出"),  # alias from the YAML file
    ],
)
def test_labels_and_title(body: str, labels: tuple[str, ...], title: str) -> None:
    trigger = parse(body)
    assert trigger is not None
    assert (trigger.label_words, trigger.title) == (labels, title)


def test_a_repository_can_be_named_before_the_title() -> None:
    trigger = parse("以上3条开工单 acme/widgets [bug] 登录失败")
    assert trigger is not None
    assert (trigger.repo, trigger.label_words, trigger.title) == (
        RepoName("acme", "widgets"),
        ("bug",),
        "登录失败",
    )


def test_labels_resolve_to_the_repositorys_spelling() -> None:
    resolved = resolve_labels(
        ("缺陷", "Docs", "crash", "wontfix"), ["Bug", "documentation", "crash"], ALIASES
    )
    assert resolved.labels == ("Bug", "documentation", "crash")
    assert resolved.unknown == ("wontfix",)


def test_the_same_label_is_sent_once() -> None:
    assert resolve_labels(("bug", "缺陷"), ["bug"], ALIASES).labels == ("bug",)


@pytest.mark.parametrize(
    ("body", "count", "repo", "labels", "title"),
    [
        # Recognised on the normalised form (any width, any case), read as typed: the title keeps its case.
        (
            "以上５条开工单 Acme/Widgets 【BUG】 Login Fails",
            5,
            RepoName("Acme", "Widgets"),
            ("BUG",),
            "Login Fails",
        ),
        ("ＩＳＳＵＥ  LAST  3  Export to CSV", 3, None, (), "Export to CSV"),
        ("以上3条开工单 ＤＯＣＳ：Install guide", 3, None, ("ＤＯＣＳ",), "Install guide"),
        ("以上3条开工单 ［bug］ 崩了", 3, None, ("bug",), "崩了"),
    ],
)
def test_one_normalisation_for_matching_the_words_as_typed_for_the_issue(
    body: str, count: int, repo: RepoName | None, labels: tuple[str, ...], title: str
) -> None:
    trigger = parse(body)
    assert trigger is not None
    assert (trigger.count, trigger.repo, trigger.label_words, trigger.title) == (count, repo, labels, title)
    assert resolve_labels(trigger.label_words, ["bug", "documentation"], ALIASES).unknown == ()
