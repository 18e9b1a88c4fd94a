from hypothesis import given
from hypothesis import strategies as st

from services.history import codec


def test_round_trip_of_a_plain_chinese_message() -> None:
    packed = codec.pack(event_id="3f2a9c0e8b7d4f61a5e2c9d8b7a6f5e4", text="周四晚8点开会")
    entry = codec.assemble(packed, late_ms=0, talker=3)
    parts = codec.unpack(entry)
    assert (parts.id, parts.talker, parts.text, parts.type, parts.quote, parts.mentions) == (
        "3f2a9c0e8b7d4f61a5e2c9d8b7a6f5e4",
        3,
        "周四晚8点开会",
        "text",
        None,
        (),
    )
    # 1 flag byte + 1 late + 16 id + 1 talker + 1 length + 19 bytes of UTF-8
    assert len(entry) == 39


def test_quote_mentions_type_and_raw_ids_survive() -> None:
    quote = codec.QuoteParts(
        talker_name="Bob", text="在哪里？", verified=True, talker_id="bob", message_id="m1"
    )
    packed = codec.pack(event_id="not-hex", text="[图片]", kind="image", quote=quote, has_mentions=True)
    entry = codec.assemble(packed, late_ms=1500, talker=0, mentions=(1, 300))
    parts = codec.unpack(entry)
    assert parts.id == "not-hex"
    assert parts.late_ms == 1500
    assert parts.type == "image"
    assert parts.quote == quote
    assert parts.mentions == (1, 300)
    assert codec.talker_of(entry) == 0


def test_corrupt_entries_are_refused() -> None:
    entry = codec.assemble(codec.pack(event_id="a" * 32, text="hello"), late_ms=0, talker=1)
    for broken in (entry[:-2], entry + b"x", b""):
        try:
            codec.unpack(broken)
        except codec.CorruptEntryError:
            continue
        raise AssertionError(f"{broken!r} decoded")


@given(st.text(max_size=300), st.integers(0, 10**6), st.integers(0, 2**40))
def test_any_text_round_trips(text: str, talker: int, late: int) -> None:
    parts = codec.unpack(codec.assemble(codec.pack(event_id="e1", text=text), late_ms=late, talker=talker))
    assert (parts.text, parts.talker, parts.late_ms) == (text, talker, late)
