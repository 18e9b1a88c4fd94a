"""tools/faststream_compare.py runs every variant to the end on a small stream (the numbers are for docs/, not
asserted here): each drains and acks every message through its own durable consumer."""

from __future__ import annotations

from tools import faststream_compare


async def test_every_variant_drains_the_stream() -> None:
    results = await faststream_compare.measure(messages=300, rounds=1)
    assert set(results) == {variant.name for variant in faststream_compare.VARIANTS}
    assert all(len(rates) == 1 and rates[0] > 0 for rates in results.values())
