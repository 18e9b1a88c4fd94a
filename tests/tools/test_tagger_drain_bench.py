from tools.tagger_drain_bench import drain_rate


async def test_drain_bench_reports_a_rate_for_a_small_backlog() -> None:
    per_second, per_cpu_second = await drain_rate(200, questions=True)
    assert per_second > 0
    assert per_cpu_second > 0
