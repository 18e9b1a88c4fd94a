from datetime import UTC, datetime, timedelta

from services.tagger.browse import Empty, Page, browse, matches
from services.tagger.commands import BrowseRequest
from services.tagger.models import TagRecord, content_hash

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def record(
    tag_id: int,
    text: str = "message",
    *,
    keywords: tuple[str, ...] = (),
    age: timedelta = timedelta(0),
    expires_at: datetime | None = None,
) -> TagRecord:
    return TagRecord(
        id=str(tag_id),
        kb="room:r",
        text=text,
        author_name="Lily",
        keywords=keywords,
        created_at=NOW - age,
        updated_at=NOW - age,
        expires_at=expires_at,
        hash=content_hash(text),
    )


def ids(result: Page | Empty) -> list[str]:
    assert isinstance(result, Page)
    return [r.id for r in result.records]


def test_newest_first_a_page_at_a_time() -> None:
    records = [record(n, f"message {n}") for n in (1, 2, 3, 10)]  # by number, not as text: 10 is newest
    first = browse(records, BrowseRequest(), NOW, page_size=2)
    assert ids(first) == ["10", "3"]
    assert isinstance(first, Page)
    assert (first.number, first.pages) == (1, 2)
    assert ids(browse(records, BrowseRequest(page=2), NOW, page_size=2)) == ["2", "1"]


def test_a_page_past_the_end_shows_the_last() -> None:
    result = browse([record(1), record(2, "b"), record(3, "c")], BrowseRequest(page=9), NOW, page_size=2)
    assert isinstance(result, Page)
    assert (result.number, ids(result)) == (2, ["1"])


def test_nothing_live_is_nothing_tagged_not_no_match() -> None:
    assert browse([], BrowseRequest(keyword="x"), NOW, 5) is Empty.NOTHING_TAGGED
    expired = record(1, expires_at=NOW)
    assert browse([expired], BrowseRequest(), NOW, 5) is Empty.NOTHING_TAGGED
    assert browse([record(1)], BrowseRequest(keyword="absent"), NOW, 5) is Empty.NO_MATCH


def test_keyword_matches_the_text_or_a_keyword_whatever_the_width_or_case() -> None:
    request = BrowseRequest(keyword="release")
    assert matches(record(1, "Ｒｅｌｅａｓｅ notes"), request)
    assert matches(record(2, "发版", keywords=("release",)), request)
    assert not matches(record(3, "meetup"), request)


def test_dates_are_a_half_open_range_on_creation_time() -> None:
    request = BrowseRequest(since=NOW - timedelta(days=7), until=NOW)
    assert matches(record(1, age=timedelta(days=7)), request)  # since is inclusive
    assert not matches(record(2, age=timedelta(days=8)), request)
    assert not matches(record(3), request)  # until is exclusive
    assert matches(record(4), BrowseRequest(since=NOW - timedelta(days=1)))  # open-ended
