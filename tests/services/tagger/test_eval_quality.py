"""Regression guard on the labelled set (tools/tagger_eval.py prints the full report)."""

from services.tagger.settings import TaggerSettings
from tools.tagger_eval import (
    HOLDOUT2_FILE,
    HOLDOUT3_FILE,
    HOLDOUT_FILE,
    load,
    load_holdout,
    metrics,
    run,
)


def test_eval_set_meets_the_issue_minimums() -> None:
    docs, cases = load()
    assert len(docs) >= 40
    answerable = [case for case in cases if case.expected]
    assert len(answerable) >= 120
    assert sum(case.cross_lingual for case in answerable) >= len(answerable) / 5
    assert sum(case.expected is None for case in cases) >= 20


def test_retrieval_quality_does_not_regress() -> None:
    docs, cases = load()
    result = metrics(run(docs, cases), TaggerSettings().thresholds)
    assert result["recall@1"] >= 0.88
    assert result["recall@3"] >= 0.95
    assert result["wrong-answers"] <= 8


def test_held_out_questions_stay_answerable() -> None:
    docs, _ = load()
    result = metrics(run(docs, load_holdout(docs)), TaggerSettings().thresholds)
    assert result["recall@1"] >= 0.75
    assert result["recall@3"] >= 0.85


def test_held_out_sets_get_no_more_wrong_answers_than_the_first_version() -> None:
    docs, _ = load()
    first_version = {HOLDOUT_FILE: 1, HOLDOUT2_FILE: 3, HOLDOUT3_FILE: 1}  # wrong answers, README table
    for path, wrong in first_version.items():
        result = metrics(run(docs, load_holdout(docs, path)), TaggerSettings().thresholds)
        assert result["wrong-answers"] <= wrong, path.name
        assert result["recall@1"] >= 0.8, path.name
