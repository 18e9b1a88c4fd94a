from services.moderator.text_match import normalize, strip_prefix


def test_normalize_width_case_and_wechat_spaces() -> None:
    assert normalize("  ［弱］\u2005@Ｄave  ") == "[弱] @dave"


def test_strip_prefix() -> None:
    assert strip_prefix("vote kick @x", "vote kick") == "@x"
    assert strip_prefix("unvote", "vote kick") is None
