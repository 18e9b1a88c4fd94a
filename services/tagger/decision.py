"""Answer, suggest, or admit not knowing: two small logistic models over the retrieval signals.

`answer` estimates the probability that the best candidate is the right message; `found` that the right message
is among the first three. The bot answers outright when `answer` clears its threshold, offers "did you mean"
when `found` clears its own, and otherwise says it does not know. Both are fitted (numpy, L2-regularised
logistic regression) by `python -m tools.tagger_eval --fit` on the evaluation sets, and their thresholds chosen
there so that a wrong answer is rarer than a "did you mean"; the fitted numbers live in data/decision.json.

Two variants of each: `lexical` reads only the lexical signals and lets the bot answer before embedding the
question when it is already sure (the fast path); `full` reads the dense signals too.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.tagger.retrieval import DENSE_WEIGHT, Candidate, Signals

MAX_SUGGESTIONS = 3


class Verdict(enum.StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Logistic:
    """p = sigmoid(bias + weights · standardised features)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, signals: Signals) -> float:
        x = (signals.vector(self.features) - np.asarray(self.mean)) / np.asarray(self.scale)
        z = self.bias + float(np.dot(np.asarray(self.weights), x))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def fit(
        cls,
        features: Sequence[str],
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        *,
        l2: float = 1.0,
        steps: int = 2_000,
    ) -> Logistic:
        """Plain gradient descent on the mean log-loss + l2/n · |w|²; deterministic."""
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        n, d = z.shape
        w = np.zeros(d)
        b = 0.0
        rate = 0.5
        for _step in range(steps):
            p = 1 / (1 + np.exp(-(z @ w + b)))
            grad_w = z.T @ (p - y) / n + 2 * l2 * w / n
            grad_b = float(np.mean(p - y))
            w -= rate * grad_w
            b -= rate * grad_b
        return cls(
            features=tuple(features),
            weights=tuple(float(v) for v in w),
            bias=b,
            mean=tuple(float(v) for v in mean),
            scale=tuple(float(v) for v in scale),
        )


@dataclass(frozen=True)
class Stage:
    """One variant (lexical-only or full): its two models and thresholds."""

    answer: Logistic
    found: Logistic
    answer_at: float
    suggest_at: float


@dataclass(frozen=True)
class DecisionModel:
    lexical: Stage
    full: Stage
    unprompted_at: float  # answer probability needed to answer a question nobody addressed to the bot
    dense_weight: float = DENSE_WEIGHT  # fusion weight of the dense ranking, chosen with the model

    def to_json(self) -> str:
        def logistic(model: Logistic) -> dict[str, object]:
            return {
                "features": list(model.features),
                "weights": list(model.weights),
                "bias": model.bias,
                "mean": list(model.mean),
                "scale": list(model.scale),
            }

        def stage(value: Stage) -> dict[str, object]:
            return {
                "answer": logistic(value.answer),
                "found": logistic(value.found),
                "answer_at": value.answer_at,
                "suggest_at": value.suggest_at,
            }

        return json.dumps(
            {
                "lexical": stage(self.lexical),
                "full": stage(self.full),
                "unprompted_at": self.unprompted_at,
                "dense_weight": self.dense_weight,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> DecisionModel:
        data = json.loads(text)

        def logistic(value: dict[str, list[float] | list[str] | float]) -> Logistic:
            return Logistic(
                features=tuple(str(name) for name in value["features"]),  # type: ignore[union-attr]
                weights=tuple(float(v) for v in value["weights"]),  # type: ignore[union-attr]
                bias=float(value["bias"]),  # type: ignore[arg-type]
                mean=tuple(float(v) for v in value["mean"]),  # type: ignore[union-attr]
                scale=tuple(float(v) for v in value["scale"]),  # type: ignore[union-attr]
            )

        def stage(value: dict[str, dict[str, list[float] | list[str] | float] | float]) -> Stage:
            return Stage(
                answer=logistic(value["answer"]),  # type: ignore[arg-type]
                found=logistic(value["found"]),  # type: ignore[arg-type]
                answer_at=float(value["answer_at"]),  # type: ignore[arg-type]
                suggest_at=float(value["suggest_at"]),  # type: ignore[arg-type]
            )

        return cls(
            lexical=stage(data["lexical"]),
            full=stage(data["full"]),
            unprompted_at=float(data["unprompted_at"]),
            dense_weight=float(data.get("dense_weight", DENSE_WEIGHT)),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> DecisionModel:
        if path is None:
            text = (
                resources.files("services.tagger").joinpath("data/decision.json").read_text(encoding="utf-8")
            )
        else:
            text = path.read_text(encoding="utf-8")
        return cls.from_json(text)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    candidates: tuple[Candidate, ...]  # one for ANSWER, 1-3 for SUGGEST, none for UNKNOWN
    probability: float = 0.0  # that the best candidate is right


def decide(
    candidates: Sequence[Candidate], signals: Signals, stage: Stage, *, unprompted_at: float | None = None
) -> Decision:
    """`unprompted_at`: a question nobody addressed to the bot gets an answer above it, or silence."""
    if not candidates:
        return Decision(Verdict.UNKNOWN, ())
    p_answer = stage.answer.probability(signals)
    if p_answer >= (unprompted_at if unprompted_at is not None else stage.answer_at):
        return Decision(Verdict.ANSWER, (candidates[0],), p_answer)
    if unprompted_at is not None:
        return Decision(Verdict.UNKNOWN, (), p_answer)
    if stage.found.probability(signals) >= stage.suggest_at:
        return Decision(Verdict.SUGGEST, tuple(candidates[:MAX_SUGGESTIONS]), p_answer)
    return Decision(Verdict.UNKNOWN, (), p_answer)


def sure_without_dense(signals: Signals, model: DecisionModel) -> bool:
    """The lexical side alone is sure enough to answer: no need to embed the question."""
    return model.lexical.answer.probability(signals) >= model.lexical.answer_at
