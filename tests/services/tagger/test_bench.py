from services.tagger.bench import run_search_bench


def test_search_bench_reports_index_and_baseline_latency() -> None:
    result = run_search_bench(200)
    assert result["n_tags"] == 200
    index = result["index"]
    baseline = result["naive_cosine_scan"]
    assert isinstance(index, dict)
    assert isinstance(baseline, dict)
    assert 0 < index["p50_ms"] <= index["p99_ms"] <= index["max_ms"]
    assert baseline["queries"] > 0


def test_memory_per_tag_counts_what_a_snapshot_keeps() -> None:
    from services.tagger.bench import memory_per_tag

    result = memory_per_tag(300)
    assert result["n_tags"] == 300
    assert 500 < int(result["total_b"]) < 50_000  # type: ignore[call-overload]
    assert result["dense_b"] == 396
