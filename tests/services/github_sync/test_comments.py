from services.github_sync.comments import member_tag, render_comment, reply_to_notice
from services.github_sync.neutralise import ZWJ
from services.github_sync.notices import NoticeRef
from services.github_sync.origin import origin_digest, room_digest
from services.github_sync.repos import RepoName

NOTICE = "[GitHub] acme/widgets#42 issue opened: Login broken\nby alice · https://github.com/acme/widgets/issues/42"


def test_a_reply_to_a_notice_names_its_issue() -> None:
    request = reply_to_notice(NOTICE, "  我这边也复现了  ")
    assert request is not None
    assert (request.ref, request.text) == (NoticeRef(RepoName("acme", "widgets"), 42), "我这边也复现了")


def test_no_comment_without_a_notice_quoted_or_without_words() -> None:
    assert reply_to_notice(None, "hello") is None
    assert reply_to_notice("just chat", "hello") is None
    assert reply_to_notice(NOTICE, "   ") is None


def test_comment_is_attributed_and_neutralised() -> None:
    body = render_comment(
        "fixed by @bob in #57 <b>really</b>",
        author="王小明",
        author_id="wxid_wang",
        room_topic="Widgets 群",
        room_id="dev@chatroom",
        lang="zh",
    )
    assert body.startswith(f"fixed by @{ZWJ}bob in #{ZWJ}57 &lt;b&gt;really&lt;/b&gt;\n\n")
    tag = member_tag("dev@chatroom", "wxid_wang")
    assert f"— 王小明（成员 {tag}），来自微信群「Widgets 群」" in body
    assert origin_digest(body) == room_digest("dev@chatroom")
    english = render_comment(
        "ok", author="Wang", author_id="wxid_wang", room_topic="", room_id="r", lang="en"
    )
    assert f"— Wang (member {member_tag('r', 'wxid_wang')}), in a WeChat group (relayed by qunbus" in english
    assert "wxid_wang" not in body + english  # contact ids are not public


def test_the_signature_follows_the_contact_id_not_the_name() -> None:
    """Two members showing the same name sign differently; the same member signs alike under any name."""
    alice = render_comment("x", author="Alice", author_id="wxid_alice", room_topic="", room_id="r", lang="en")
    borrowed = render_comment(
        "x", author="Alice", author_id="wxid_eve", room_topic="", room_id="r", lang="en"
    )
    renamed = render_comment("x", author="A.", author_id="wxid_alice", room_topic="", room_id="r", lang="en")
    assert alice != borrowed
    assert member_tag("r", "wxid_alice") in renamed
    assert member_tag("r", "wxid_alice") != member_tag(
        "other room", "wxid_alice"
    )  # not traceable across rooms
