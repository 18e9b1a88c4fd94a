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


def test_an_unknown_subject_is_never_answered_and_needs_more_to_suggest() -> None:
    strict = Thresholds(answer=0.6, suggest=0.3, margin=0.05, unknown_subject_suggest=0.5)

    def unknown(doc: str, coverage: float) -> Hit:
        return Hit(doc_id=doc, coverage=coverage, score=coverage, bm25=1.0, unknown_subject=True)

    assert decide([unknown("a", 0.9), unknown("b", 0.2)], strict).verdict is Verdict.SUGGEST
    assert decide([unknown("a", 0.9)], strict, unprompted=True).verdict is Verdict.UNKNOWN
    assert decide([unknown("a", 0.45), unknown("b", 0.4)], strict).verdict is Verdict.UNKNOWN
    known = decide([hit("a", 0.45), hit("b", 0.4)], strict)  # the same coverage, the subject known
    assert known.verdict is Verdict.SUGGEST


def test_a_message_without_the_questions_main_word_is_never_the_answer() -> None:
    partial = Hit(doc_id="a", coverage=0.9, score=0.9, bm25=1.0, misses_subject=True)
    decision = decide([partial, hit("b", 0.3)], T)
    assert decision.verdict is Verdict.SUGGEST
    assert [h.doc_id for h in decision.hits] == ["a", "b"]
