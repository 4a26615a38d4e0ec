"""Fusion of ranked lists and the off-topic gate: pure functions over scores."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: float = 60.0
) -> dict[str, float]:
    """RRF score per id: the sum over rankings of weight / (k + rank)."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


SHORT_WORDS = 4


@dataclass(frozen=True)
class GateFeatures:
    """What the gate sees of one query's candidates."""

    dense_top: float  # best cosine similarity
    dense_margin: float  # best minus the 10th best: a flat list means nothing stands out
    lexical_top: float  # best BM25 score, 0 when no term matched
    lexical_hits: int  # services with any lexical match (capped)
    agreement: float  # share of the dense top 5 also in the lexical top 20
    catalogue_language: bool  # the query is in fi/sv/en, where scores run higher
    # Short questions carry less evidence (a lower top score, fewer BM25 terms) without being
    # off-topic; the gate needs to know the length to judge them fairly.
    words: int = 0
    concepts: int = 0  # service concepts of the domain lexicon the question names

    def vector(self) -> list[float]:
        return [
            self.dense_top,
            self.dense_margin,
            math.log1p(self.lexical_top),
            math.log1p(self.lexical_hits),
            self.agreement,
            1.0 if self.catalogue_language else 0.0,
            math.log1p(self.words),
            float(min(self.concepts, 3)),
        ]


@dataclass(frozen=True)
class RelevanceGate:
    """Logistic regression over GateFeatures (standardised as they were when it was fitted),
    fitted on the dev set by bench/bench_search_quality.py --write-gate."""

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float
    # Questions of at most SHORT_WORDS words get their own threshold, set like the main one
    # (at the false rejection bench_search_quality.py aims at) but on short dev questions
    # alone: one threshold for all rejected a short question four times as often as a long one.
    short_threshold: float | None = None

    def probability(self, features: GateFeatures) -> float:
        return self.probability_of(features.vector())

    def probability_of(self, vector: Sequence[float]) -> float:
        z = self.bias
        for value, weight, mean, scale in zip(vector, self.weights, self.means, self.scales, strict=True):
            z += weight * (value - mean) / scale
        return 1.0 / (1.0 + math.exp(-z))

    def accepts(self, features: GateFeatures) -> bool:
        return self.probability(features) >= self.threshold_for(features.words)

    def threshold_for(self, words: int) -> float:
        if self.short_threshold is not None and 0 < words <= SHORT_WORDS:
            return self.short_threshold
        return self.threshold

    @classmethod
    def load(cls, path: Path) -> RelevanceGate:
        data = json.loads(path.read_text(encoding="utf-8"))
        expected = len(GateFeatures(0.0, 0.0, 0.0, 0, 0.0, False).vector())
        if len(data["weights"]) != expected:
            raise ValueError(
                f"{path} has {len(data['weights'])} weights for {expected} features: refit it "
                "(bench/bench_search_quality.py --write-gate)"
            )
        return cls(
            weights=tuple(data["weights"]),
            bias=float(data["bias"]),
            means=tuple(data["means"]),
            scales=tuple(data["scales"]),
            threshold=float(data["threshold"]),
            short_threshold=float(data["short_threshold"]) if data.get("short_threshold") is not None else None,
        )

    def to_json(self, extra: Mapping[str, object] | None = None) -> str:
        payload = {
            "weights": list(self.weights),
            "bias": self.bias,
            "means": list(self.means),
            "scales": list(self.scales),
            "threshold": self.threshold,
            "short_threshold": self.short_threshold,
            **(extra or {}),
        }
        return json.dumps(payload, indent=1)
