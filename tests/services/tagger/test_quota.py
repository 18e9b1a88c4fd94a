from datetime import UTC, datetime, timedelta

from services.tagger.models import TagRecord, content_hash
from services.tagger.quota import OverQuota, TagCounts, check

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def record(n: int, tagger: str = "alice", *, expires_at: datetime | None = None) -> TagRecord:
    text = f"message {n}"
    return TagRecord(
        id=str(n),
        kb="room:r1",
        text=text,
        author_name="Lily",
        tagger_id=tagger,
        created_at=NOW,
        updated_at=NOW,
        expires_at=expires_at,
        hash=content_hash(text),
    )


def test_a_member_at_the_limit_is_refused_and_others_are_not() -> None:
    records = [record(n) for n in range(3)]
    assert check(
        TagCounts.of(records, NOW), text="new", tagger_id="alice", per_room=10, per_member=3
    ) == OverQuota(3, per_member=True)
    assert check(TagCounts.of(records, NOW), text="new", tagger_id="bob", per_room=10, per_member=3) is None


def test_a_full_room_refuses_everyone() -> None:
    records = [record(n, tagger=f"m{n}") for n in range(5)]
    assert check(
        TagCounts.of(records, NOW), text="new", tagger_id="bob", per_room=5, per_member=3
    ) == OverQuota(5, per_member=False)


def test_tagging_the_same_text_again_is_an_update_and_always_allowed() -> None:
    records = [record(n) for n in range(3)]
    assert (
        check(TagCounts.of(records, NOW), text="MESSAGE 1", tagger_id="alice", per_room=3, per_member=3)
        is None
    )


def test_expired_tags_do_not_count() -> None:
    gone = NOW - timedelta(minutes=1)
    records = [record(n, expires_at=gone) for n in range(3)]
    assert check(TagCounts.of(records, NOW), text="new", tagger_id="alice", per_room=3, per_member=3) is None
