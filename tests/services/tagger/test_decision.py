from services.tagger.decision import Thresholds, Verdict, decide
from services.tagger.index import Hit

T = Thresholds(answer=0.6, suggest=0.3, margin=0.05, unprompted=0.85)


def hit(doc: str, coverage: float, score: float | None = None) -> Hit:
    return Hit(doc_id=doc, coverage=coverage, score=coverage if score is None else score, bm25=1.0)


def test_confident_and_clear_leader_is_answered() -> None:
    decision = decide([hit("a", 0.9), hit("b", 0.4)], T)
    assert decision.verdict is Verdict.ANSWER
    assert [h.doc_id for h in decision.hits] == ["a"]


def test_a_tie_becomes_suggestions() -> None:
    decision = decide([hit("a", 0.9), hit("b", 0.88), hit("c", 0.2)], T)
    assert decision.verdict is Verdict.SUGGEST
    assert [h.doc_id for h in decision.hits] == ["a", "b"]  # c is below the suggest threshold


def test_middling_confidence_suggests_up_to_three() -> None:
    decision = decide([hit(d, 0.5 - i * 0.01) for i, d in enumerate("abcd")], T)
    assert decision.verdict is Verdict.SUGGEST
    assert len(decision.hits) == 3


def test_low_confidence_or_nothing_is_unknown() -> None:
    assert decide([hit("a", 0.2)], T).verdict is Verdict.UNKNOWN
    assert decide([], T).verdict is Verdict.UNKNOWN


def test_unprompted_needs_high_confidence_and_never_suggests() -> None:
    assert decide([hit("a", 0.7)], T, unprompted=True).verdict is Verdict.UNKNOWN
    assert decide([hit("a", 0.9)], T, unprompted=True).verdict is Verdict.ANSWER
