"""Reranking of the fused candidates: gradient-boosted trees over generic per-candidate features.

Fusion (hybrid.reciprocal_rank_fusion) sees only two ranks per service. The reranker also
sees how strong and how far apart the scores are, whether the service's text uses the
catalogue words of the concepts the question names (lexicon), what kind of service it is
and whether its text is in the question's language. The trees are fitted on the development
set by bench/bench_search_quality.py --write-reranker (leave-situations-out cross-validation
reports the honest number) and shipped as data/reranker.json. Nothing here knows a service
id or a question: the features are the same for every service.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Services reranked per query: the fused top. The rest keep their fused order below them.
RERANK_DEPTH = 30
# Ranks beyond a list's end: a service the ranking did not return at all.
DENSE_MISSING_RANK = 301
LEXICAL_MISSING_RANK = 101


@dataclass(frozen=True)
class CandidateFeatures:
    """What the reranker sees of one (question, service) pair."""

    dense: float  # best cosine similarity over the service's passages
    dense_gap: float  # the query's best dense score minus this one
    dense_rank: int  # 1-based; DENSE_MISSING_RANK when not retrieved
    lexical_share: float  # BM25 score / the query's best BM25 score; 0 when not matched
    lexical_rank: int  # 1-based; LEXICAL_MISSING_RANK when not matched
    fused: float  # reciprocal rank fusion score scaled to 1 for first in both rankings
    concept_share: float  # share of the question's lexicon concepts whose catalogue words the text uses
    question_concepts: int  # lexicon concepts the question names
    national: bool  # a national general description rather than a local service
    own_language: bool  # the service has text in the question's language
    title_gap: float  # best dense score minus the best over title passages (name + summary)
    catalogue_language: bool  # the question is in fi/sv/en
    title_concept_share: float = 0.0  # share of the question's concepts the service's name or summary names

    def vector(self) -> list[float]:
        concepts = 1.0 if self.question_concepts else 0.0
        foreign = 0.0 if self.catalogue_language else 1.0
        return [
            self.dense,
            self.dense_gap,
            math.log(self.dense_rank),
            self.lexical_share,
            math.log(self.lexical_rank),
            self.fused,
            self.concept_share,
            concepts * (1.0 - self.concept_share),  # named concepts the service lacks
            1.0 if self.national else 0.0,
            1.0 if self.own_language else 0.0,
            self.title_gap,
            foreign * self.dense,  # dense similarity is weaker evidence across languages
            foreign * self.lexical_share,
            self.title_concept_share,
        ]


FEATURE_COUNT = len(CandidateFeatures(0.0, 0.0, 1, 0.0, 1, 0.0, 0.0, 0, False, False, 0.0, False).vector())


@dataclass(frozen=True)
class Tree:
    """One regression tree as its file stores it. Node 0 is the root; a split node sends a
    vector to `left` when its `feature` is <= `threshold`, else to `right`; a leaf has
    feature -1 and adds `value` to the score."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def depth(self, node: int = 0) -> int:
        if self.feature[node] < 0:
            return 0
        return 1 + max(self.depth(self.left[node]), self.depth(self.right[node]))


@dataclass(frozen=True, eq=False)
class Reranker:
    """Boosted trees whose summed leaf values, plus a baseline, are the log-odds that a
    counsellor would accept a candidate. (A logistic regression over the same features
    reranked to dev macro recall@3 0.861, the trees to 0.886-0.889, both cross-validated.)"""

    baseline: float
    trees: tuple[Tree, ...]

    _walk: dict[str, np.ndarray] = field(init=False, repr=False)
    _depth: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # All trees as arrays of one node count, leaves pointing at themselves, so that every
        # tree walks every candidate at once, one level per step.
        shape = (len(self.trees), max(len(tree.feature) for tree in self.trees))
        walk = {name: np.zeros(shape, np.int64) for name in ("feature", "left", "right")}
        walk |= {name: np.zeros(shape) for name in ("threshold", "value")}
        for n, tree in enumerate(self.trees):
            size = len(tree.feature)
            leaf = np.array(tree.feature) < 0
            itself = np.arange(size)
            walk["feature"][n, :size] = np.where(leaf, 0, tree.feature)
            walk["left"][n, :size] = np.where(leaf, itself, tree.left)
            walk["right"][n, :size] = np.where(leaf, itself, tree.right)
            walk["threshold"][n, :size] = tree.threshold
            walk["value"][n, :size] = tree.value
        object.__setattr__(self, "_walk", walk)
        object.__setattr__(self, "_depth", max(tree.depth() for tree in self.trees))

    def scores(self, vectors: Sequence[Sequence[float]]) -> np.ndarray:
        """Log-odds for each feature vector (CandidateFeatures.vector())."""
        walk = self._walk
        x = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), FEATURE_COUNT)
        rows = np.arange(len(x))[:, None]
        trees = np.arange(len(self.trees))[None, :]
        node = np.zeros((len(x), len(self.trees)), dtype=np.int64)
        for _level in range(self._depth):
            go_left = x[rows, walk["feature"][trees, node]] <= walk["threshold"][trees, node]
            node = np.where(go_left, walk["left"][trees, node], walk["right"][trees, node])
        return self.baseline + walk["value"][trees, node].sum(axis=1)

    def probabilities(self, features: Sequence[CandidateFeatures]) -> list[float]:
        """Each candidate's score as the fitted probability that a counsellor would accept it."""
        if not features:
            return []
        z = np.clip(self.scores([f.vector() for f in features]), -50.0, 50.0)
        return (1.0 / (1.0 + np.exp(-z))).tolist()

    @classmethod
    def load(cls, path: Path) -> Reranker:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("feature_count") != FEATURE_COUNT or "trees" not in data:
            raise ValueError(
                f"{path} was fitted on {data.get('feature_count', 'other')} features, not the {FEATURE_COUNT} of "
                "CandidateFeatures: refit it (bench/bench_search_quality.py --write-reranker)"
            )
        trees = tuple(
            Tree(tuple(t["feature"]), tuple(t["threshold"]), tuple(t["left"]), tuple(t["right"]), tuple(t["value"]))
            for t in data["trees"]
        )
        return cls(float(data["baseline"]), trees)

    def to_json(self, extra: Mapping[str, object] | None = None) -> str:
        payload = {
            "feature_count": FEATURE_COUNT,
            "baseline": self.baseline,
            "trees": [
                {"feature": t.feature, "threshold": t.threshold, "left": t.left, "right": t.right, "value": t.value}
                for t in self.trees
            ],
        }
        return json.dumps({**(extra or {}), **payload}, separators=(",", ":"))
