"""Reranking of the fused candidates: a linear model over generic per-candidate features.

Fusion (hybrid.reciprocal_rank_fusion) sees only two ranks per service. The reranker also
sees how strong and how far apart the scores are, whether the service's text uses the
catalogue words of the concepts the question names (lexicon), what kind of service it is
and whether its text is in the question's language. Weights are fitted on the development set by
bench/bench_search_quality.py --write-reranker (leave-situations-out cross-validation
reports the honest number) and shipped as data/reranker.json. Nothing here knows a service
id or a question: the features are the same for every service.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.hybrid import StandardisedLinear

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
class Reranker(StandardisedLinear):
    """Linear scores over standardised CandidateFeatures vectors."""

    def score(self, features: CandidateFeatures) -> float:
        return self.score_of(features.vector())

    def probability(self, features: CandidateFeatures) -> float:
        """The score as the fitted probability that a counsellor would accept the service."""
        z = max(min(self.score(features), 50.0), -50.0)
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def load(cls, path: Path) -> Reranker:
        data = json.loads(path.read_text(encoding="utf-8"))
        if len(data["weights"]) != FEATURE_COUNT:
            raise ValueError(
                f"{path} has {len(data['weights'])} weights for {FEATURE_COUNT} features: refit it "
                "(bench/bench_search_quality.py --write-reranker)"
            )
        return cls(tuple(data["weights"]), float(data["bias"]), tuple(data["means"]), tuple(data["scales"]))

    def to_json(self, extra: Mapping[str, object] | None = None) -> str:
        return json.dumps({**self.payload(), **(extra or {})}, indent=1)
