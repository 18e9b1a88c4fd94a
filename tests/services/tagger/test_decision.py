import numpy as np

from services.tagger.decision import DecisionModel, Logistic, Stage, Verdict, decide, sure_without_dense
from services.tagger.index import Hit
from services.tagger.retrieval import Candidate, Signals


def candidate(doc: str, coverage: float = 0.9) -> Candidate:
    hit = Hit(doc_id=doc, score=coverage, coverage=coverage, bm25=1.0)
    return Candidate(hit=hit, lexical_rank=1, dense_rank=1, dense=0.9, fused=coverage)


def coverage_model(bias: float = -5.0, weight: float = 10.0) -> Logistic:
    """p rises with coverage alone: 0.5 at coverage 0.5."""
    return Logistic(features=("coverage",), weights=(weight,), bias=bias, mean=(0.0,), scale=(1.0,))


STAGE = Stage(answer=coverage_model(), found=coverage_model(bias=-2.0), answer_at=0.9, suggest_at=0.5)


def test_logistic_probability_follows_its_weights() -> None:
    model = coverage_model()
    assert model.probability(Signals(coverage=0.5)) == 0.5
    assert model.probability(Signals(coverage=0.9)) > 0.95
    assert model.probability(Signals(coverage=0.1)) < 0.05


def test_fit_learns_which_signal_separates_right_from_wrong() -> None:
    rng = np.random.default_rng(1)
    coverage = rng.uniform(0, 1, 400)
    noise = rng.uniform(0, 1, 400)
    right = (coverage > 0.6).astype(float)
    model = Logistic.fit(("coverage", "dense_z"), np.column_stack([coverage, noise]), right)
    assert abs(model.weights[0]) > 5 * abs(model.weights[1])
    assert model.probability(Signals(coverage=0.9, dense_z=0.5)) > 0.9
    assert model.probability(Signals(coverage=0.2, dense_z=0.5)) < 0.1


def test_confident_best_candidate_is_the_answer() -> None:
    decision = decide([candidate("a", 0.95), candidate("b", 0.3)], Signals(coverage=0.95), STAGE)
    assert decision.verdict is Verdict.ANSWER
    assert [c.doc_id for c in decision.candidates] == ["a"]


def test_middling_confidence_suggests_at_most_three() -> None:
    many = [candidate(name, 0.6) for name in "abcde"]
    decision = decide(many, Signals(coverage=0.6), STAGE)
    assert decision.verdict is Verdict.SUGGEST
    assert [c.doc_id for c in decision.candidates] == ["a", "b", "c"]


def test_low_confidence_is_dont_know() -> None:
    assert decide([candidate("a", 0.1)], Signals(coverage=0.1), STAGE).verdict is Verdict.UNKNOWN
    assert decide([], Signals(), STAGE).verdict is Verdict.UNKNOWN


def test_unprompted_questions_get_an_answer_or_silence_never_suggestions() -> None:
    middling = decide([candidate("a", 0.6)], Signals(coverage=0.6), STAGE, unprompted_at=0.99)
    assert middling.verdict is Verdict.UNKNOWN
    sure = decide([candidate("a", 1.0)], Signals(coverage=1.0), STAGE, unprompted_at=0.99)
    assert sure.verdict is Verdict.ANSWER


def test_the_shipped_model_round_trips_and_prefers_covered_agreeing_candidates() -> None:
    model = DecisionModel.load()
    assert DecisionModel.from_json(model.to_json()) == model
    strong = Signals(coverage=1.0, coverage_margin=0.6, lexical_top=1, lexical_margin=0.6)
    weak = Signals(coverage=0.2, coverage_margin=0.0, misses_subject=1, lexical_top=1)
    assert model.lexical.answer.probability(strong) > model.lexical.answer.probability(weak)
    full_strong = Signals(
        **{**strong.__dict__, "dense_z": 2.5, "dense_margin": 0.05, "dense_top": 1, "agree": 1}
    )
    full_weak = Signals(
        **{**strong.__dict__, "dense_z": -0.5, "dense_margin": -0.02, "dense_top": 0, "agree": 0}
    )
    assert model.full.answer.probability(full_strong) > model.full.answer.probability(full_weak)
    assert sure_without_dense(
        Signals(coverage=1.0, coverage_margin=1.0, lexical_top=1, lexical_margin=1.0), model
    )
    assert not sure_without_dense(weak, model)
