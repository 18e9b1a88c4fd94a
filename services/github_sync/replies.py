"""Everything github-sync says in chat, in Chinese and English."""

from __future__ import annotations

from collections.abc import Sequence

from services.github_sync.categories import Category
from services.github_sync.repos import RepoName
from services.github_sync.triggers import MAX_COUNT
from services.github_sync.writes import Done
from services.shared import Bilingual


def filing(repo: RepoName, count: int, *, capped: bool) -> Bilingual:
    """The handler's answer: the request is stored; the result follows from the background loop."""
    note_zh = f"（最多 {MAX_COUNT} 条）" if capped else ""
    note_en = f" (at most {MAX_COUNT})" if capped else ""
    return Bilingual(
        zh=f"正在把 {count} 条消息{note_zh}提交到 {repo}，稍后回复 Issue 链接。",
        en=f"Filing {count} message(s){note_en} in {repo}; the issue link follows.",
    )


def issue_created(done: Done) -> Bilingual:
    labels_zh = f"\n未找到标签：{'、'.join(done.unknown_labels)}" if done.unknown_labels else ""
    labels_en = f"\nNo such labels: {', '.join(done.unknown_labels)}" if done.unknown_labels else ""
    return Bilingual(
        zh=f"已创建 Issue #{done.number}：{done.html_url}{labels_zh}",
        en=f"Opened issue #{done.number}: {done.html_url}{labels_en}",
    )


def comment_posted(repo: RepoName, number: int) -> Bilingual:
    return Bilingual(zh=f"已评论到 {repo}#{number}", en=f"Commented on {repo}#{number}")


def rejected(done: Done) -> Bilingual:
    reason = done.error or "?"
    return Bilingual(zh=f"GitHub 拒绝了这个请求：{reason}", en=f"GitHub refused the request: {reason}")


DELAYED = Bilingual(
    zh="GitHub 暂时无法访问，请求已保存，恢复后会自动提交并通知你。",
    en="GitHub is unreachable right now; the request is saved and will be sent when it is back. I'll let you know.",
)


def delayed_done(done: Done, *, is_comment: bool) -> Bilingual:
    if is_comment:
        return Bilingual(
            zh=f"（延迟）评论已发布：{done.html_url}", en=f"(Delayed) comment posted: {done.html_url}"
        )
    return Bilingual(
        zh=f"（延迟）已创建 Issue #{done.number}：{done.html_url}",
        en=f"(Delayed) opened issue #{done.number}: {done.html_url}",
    )


NO_HISTORY = Bilingual(
    zh="本群没有保存聊天记录，无法开工单。管理员可以 @我 聊天记录 开。",
    en="This room's messages are not kept, so I cannot open an issue. An admin can @me history on.",
)
HISTORY_UNAVAILABLE = Bilingual(
    zh="聊天记录服务暂时没有响应，无法读取最近的消息，请稍后再试。",
    en="The history service is not answering, so I cannot read the recent messages. Please try again later.",
)
HISTORY_MOVED = Bilingual(
    zh="聊天记录由群聊记录服务统一保存：管理员可以 @我 聊天记录 开/关。",
    en="Messages are kept by the history service: an admin can @me history on/off.",
)
NOTHING_RECORDED = Bilingual(
    zh="还没有可以开工单的消息。", en="There are no messages to open an issue from yet."
)
NOT_BOUND = Bilingual(
    zh="本群还没有绑定 GitHub 仓库。管理员可以 @我 绑定 owner/repo。",
    en="This room follows no GitHub repository yet. An admin can @me bind owner/repo.",
)


def which_repo(repos: Sequence[RepoName], globs: Sequence[str]) -> Bilingual:
    listed = ", ".join([str(repo) for repo in repos] + list(globs))
    return Bilingual(
        zh=f"本群绑定了多个仓库（{listed}），请指明：以上5条开工单 owner/repo [标题]",
        en=f"This room follows several repositories ({listed}); name one: issue last 5 owner/repo [title]",
    )


def repo_not_bound(repo: RepoName) -> Bilingual:
    return Bilingual(zh=f"本群没有绑定 {repo}。", en=f"This room does not follow {repo}.")


def bound(repo: RepoName, *, new: bool) -> Bilingual:
    if new:
        return Bilingual(
            zh=f"已绑定 {repo}：本群会收到它的动态，也可以在这里开工单。", en=f"Now following {repo}."
        )
    return Bilingual(zh=f"本群已经绑定了 {repo}。", en=f"This room already follows {repo}.")


def unbound(repo: RepoName, *, existed: bool) -> Bilingual:
    if existed:
        return Bilingual(zh=f"已解绑 {repo}。", en=f"No longer following {repo}.")
    return Bilingual(
        zh=f"本群没有在聊天中绑定 {repo}（配置文件里的绑定只能由运维修改）。",
        en=f"{repo} was not bound in chat (bindings from the config file are changed by the operator).",
    )


def bind_not_allowed(repo: RepoName, *, any_allowed: bool) -> Bilingual:
    if not any_allowed:
        return Bilingual(
            zh="在聊天中绑定仓库已关闭：请运维在 GITHUB_SYNC_CONFIG 文件的 allow 列表里写上允许的仓库"
            "（如 acme/*），或直接在 bindings 里绑定本群。",
            en="Binding in chat is off: the operator lists the repositories it allows under `allow:` in the "
            "GITHUB_SYNC_CONFIG file (e.g. acme/*), or binds this room under `bindings:` there.",
        )
    return Bilingual(
        zh=f"{repo} 不在允许绑定的仓库之列（GITHUB_SYNC_CONFIG 的 allow 列表，由运维修改）。",
        en=f"{repo} is not among the repositories that may be bound in chat (`allow:` in GITHUB_SYNC_CONFIG, "
        "changed by the operator).",
    )


BIND_USAGE = Bilingual(zh="用法：@我 绑定 owner/repo", en="Usage: @me bind owner/repo")
UNBIND_USAGE = Bilingual(zh="用法：@我 解绑 owner/repo", en="Usage: @me unbind owner/repo")


_KEPT_ZH = {True: "开", False: "关（管理员：聊天记录 开）", None: "聊天记录服务未响应"}
_KEPT_EN = {True: "on", False: "off (admins: history on)", None: "history service not answering"}


def status(
    repos: Sequence[RepoName], globs: Sequence[str], categories: frozenset[Category], recording: bool | None
) -> Bilingual:
    listed = ", ".join([str(repo) for repo in repos] + list(globs)) or "-"
    kinds = ", ".join(sorted(categories))
    kept_zh = _KEPT_ZH[recording]
    kept_en = _KEPT_EN[recording]
    return Bilingual(
        zh=f"绑定的仓库：{listed}\n通知：{kinds}\n聊天记录：{kept_zh}\n"
        "设置：github 通知 issues pulls comments reviews releases | github 通知 全部",
        en=f"Repositories: {listed}\nNotices: {kinds}\nHistory: {kept_en}\n"
        "Change: github notify issues pulls comments reviews releases | github notify all",
    )


def notices_chosen(categories: frozenset[Category], unknown: Sequence[str]) -> Bilingual:
    kinds = ", ".join(sorted(categories))
    extra_zh = f"（不认识：{'、'.join(unknown)}）" if unknown else ""
    extra_en = f" (unknown: {', '.join(unknown)})" if unknown else ""
    return Bilingual(zh=f"本群将收到：{kinds}{extra_zh}", en=f"This room will get: {kinds}{extra_en}")


COMMENT_ADMINS_ONLY = Bilingual(
    zh="本群只有管理员可以把回复转成 GitHub 评论。",
    en="In this room only admins can turn a reply into a GitHub comment.",
)
ADMIN_ONLY = Bilingual(zh="只有管理员可以修改设置。", en="Only admins can change these settings.")
