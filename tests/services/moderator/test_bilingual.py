from services.moderator.bilingual import Bilingual, language_of


def test_language_of() -> None:
    assert language_of("[弱] @Dave") == "zh"
    assert language_of("vote kick @张三") == "zh"  # any Chinese character makes it Chinese
    assert language_of("vote kick @Dave") == "en"


def test_pick() -> None:
    text = Bilingual("你好", "hello")
    assert (text.in_("zh"), text.in_("en")) == ("你好", "hello")
