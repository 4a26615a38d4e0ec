"""The one search façade callers use: `SearchService.search(Query) -> SearchResult`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from knowledge_base import repository
from knowledge_base.contracts import Query, SearchHit, SearchResult, ServiceRecord, ServiceText
from knowledge_base.bm25 import LexicalIndex, service_documents
from knowledge_base.embedding import Embedder
from knowledge_base.hybrid import GateFeatures, RelevanceGate, reciprocal_rank_fusion
from knowledge_base.errors import IndexNotReady, InvalidQuery, NotFound
from knowledge_base.i18n import Catalogue
from knowledge_base.language import catalogue_language_order, check_language, detect_language
from knowledge_base.municipalities import Municipality, MunicipalityDirectory
from knowledge_base.passages import passages_for_service
from knowledge_base.settings import Settings
from knowledge_base.text_analysis import Analyzer
from knowledge_base.vector_index import VectorIndex
from knowledge_base.vector_store import VectorStore

logger = logging.getLogger(__name__)

HELSINKI_CODE = "091"
CANDIDATE_PASSAGES = 300
LEXICAL_CANDIDATES = 100
GATE_LEXICAL_HITS_CAP = 50
# Extracted eligibility only ranks: a service whose stated age range excludes the user
# drops below comparable ones but stays findable.
AGE_MISMATCH_PENALTY = 0.03
ELIGIBILITY_MATCH_BONUS = 0.005


def municipality_name(municipality: Municipality, language: str) -> str:
    return municipality.name_sv if language == "sv" else municipality.name_fi


@dataclass(frozen=True)
class _PassageRef:
    service_index: int
    language: str


class SearchService:
    def __init__(
        self,
        *,
        services: list[ServiceRecord],
        embedder: Embedder,
        store: VectorStore,
        municipalities: MunicipalityDirectory,
        messages: Catalogue,
        settings: Settings,
        lexical: LexicalIndex | None = None,
        gate: RelevanceGate | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self._services = services
        self._lexical = lexical
        self._gate = gate
        self._embedder = embedder
        self._municipalities = municipalities
        self._messages = messages
        self._settings = settings
        passages = [p for service in services for p in passages_for_service(service.id, service.texts)]
        self._position = {service.id: i for i, service in enumerate(services)}
        self._refs = [_PassageRef(self._position[p.service_id], p.language) for p in passages]
        self._index: VectorIndex | None = None
        if passages:
            vectors = store.vectors_for([p.text for p in passages], embedder.encode_passages, progress)
            self._index = VectorIndex(vectors.shape[1])
            self._index.add(np.arange(len(passages)), vectors)

    @classmethod
    def from_session(
        cls,
        *,
        session: Session,
        settings: Settings,
        embedder: Embedder,
        progress: Callable[[int, int], None] | None = None,
    ) -> SearchService:
        store = VectorStore(embedder.backend_id, settings.shipped_vectors, settings.vector_cache_path)
        services = repository.published_services(session=session)
        lexical = LexicalIndex.build(
            service_documents(services),
            Analyzer(),
            cache_dir=settings.state_dir / "lexical",
            shipped_terms=settings.shipped_terms,
        )
        gate = RelevanceGate.load(settings.relevance_gate) if settings.relevance_gate and settings.relevance_gate.exists() else None
        return cls(
            services=services,
            embedder=embedder,
            store=store,
            municipalities=MunicipalityDirectory.load(),
            messages=Catalogue.load(),
            settings=settings,
            lexical=lexical,
            gate=gate,
            progress=progress,
        )

    @property
    def service_count(self) -> int:
        return len(self._services)

    def record(self, service_id: str) -> ServiceRecord:
        position = self._position.get(service_id)
        if position is None:
            raise NotFound(f"no published service {service_id!r}")
        return self._services[position]

    def search(self, query: Query) -> SearchResult:
        text = query.text.strip()
        fallback = check_language(query.language) if query.language else None
        if len(text) > self._settings.max_query_chars:
            raise InvalidQuery(f"query is {len(text)} characters; the limit is {self._settings.max_query_chars}")
        if query.top_k < 1:
            raise InvalidQuery("top must be at least 1")
        municipality = self._resolve_municipality(query.municipality)
        language = detect_language(text, fallback=fallback) if text else (fallback or "fi")
        if not any(ch.isalnum() for ch in text):
            return SearchResult(language, [], [self._messages.text("search.empty_query", language)])
        if self._index is None:
            raise IndexNotReady("the catalogue is empty: run `opastin kb import`")

        dense, lexical = self.candidates(text, language)
        fused = self._fuse(dense, lexical)
        ranked: list[tuple[float, ServiceRecord]] = []
        for service_index, score in fused.items():
            service = self._services[service_index]
            if not self._passes_filters(service, query, municipality):
                continue
            ranked.append((score + self._eligibility_adjustment(service, query), service))
        ranked.sort(key=lambda item: -item[0])
        if not ranked or not self._relevant(dense, lexical, language):
            return SearchResult(language, [], [self._messages.text("search.no_results", language)])

        hits = [self._hit(service, score, language, query, municipality) for score, service in ranked[: query.top_k]]
        messages = []
        if municipality is not None and municipality.code != HELSINKI_CODE:
            messages.append(
                self._messages.text(
                    "search.local_details_helsinki_only", language, municipality=municipality_name(municipality, language)
                )
            )
        return SearchResult(language, hits, messages)

    def candidates(self, text: str, language: str) -> tuple[dict[int, float], list[tuple[int, float]]]:
        """Dense best score per service index, and BM25 (service index, score) best first."""
        assert self._index is not None
        query_vector = self._embedder.encode_queries([text])[0]
        scores, ids = self._index.search(query_vector, CANDIDATE_PASSAGES)
        dense: dict[int, float] = {}
        for score, passage_id in zip(scores.tolist(), ids.tolist(), strict=True):
            if passage_id < 0:
                continue
            service_index = self._refs[passage_id].service_index
            dense[service_index] = max(dense.get(service_index, -1.0), score)
        lexical = self._lexical.search(text, language, LEXICAL_CANDIDATES) if self._lexical else []
        return dense, lexical

    def _fuse(self, dense: dict[int, float], lexical: list[tuple[int, float]]) -> dict[int, float]:
        """Reciprocal rank fusion, scaled so that first place in both rankings scores 1."""
        settings = self._settings
        dense_ranking = sorted(dense, key=lambda i: -dense[i])
        lexical_ranking = [i for i, _score in lexical]
        fused = reciprocal_rank_fusion(
            [dense_ranking, lexical_ranking], [settings.dense_weight, settings.lexical_weight], settings.fusion_k
        )
        best_possible = (settings.dense_weight + settings.lexical_weight) / (settings.fusion_k + 1)
        return {int(i): score / best_possible for i, score in fused.items()}

    def gate_features(self, dense: dict[int, float], lexical: list[tuple[int, float]], language: str) -> GateFeatures:
        ordered = sorted(dense.values(), reverse=True)
        top = ordered[0] if ordered else 0.0
        tenth = ordered[min(9, len(ordered) - 1)] if ordered else 0.0
        dense_top5 = sorted(dense, key=lambda i: -dense[i])[:5]
        lexical_top = {i for i, _score in lexical[:20]}
        return GateFeatures(
            dense_top=top,
            dense_margin=top - tenth,
            lexical_top=lexical[0][1] if lexical else 0.0,
            lexical_hits=min(len(lexical), GATE_LEXICAL_HITS_CAP),
            agreement=sum(1 for i in dense_top5 if i in lexical_top) / max(len(dense_top5), 1),
            catalogue_language=language in ("fi", "sv", "en"),
        )

    def _relevant(self, dense: dict[int, float], lexical: list[tuple[int, float]], language: str) -> bool:
        if self._gate is None:
            return max(dense.values(), default=0.0) >= self._settings.min_relevance
        return self._gate.accepts(self.gate_features(dense, lexical, language))

    def warm_up(self, languages: Iterable[str] = ("fi",)) -> None:
        """Load what the first query in each language would otherwise wait for: the
        Finnish lemmatizer, each language's tokenizer (a spaCy blank pipeline compiles
        its tokenizer rules on first use: 0.1-0.5 s) and the query encoder."""
        if self._lexical is not None:
            for language in languages:
                self._lexical.search("työ", language, 1)
        self._embedder.encode_queries(["työ"])

    def _resolve_municipality(self, value: str | None) -> Municipality | None:
        if value is None or not value.strip():
            return None
        municipality = self._municipalities.resolve(value)
        if municipality is None:
            raise InvalidQuery(f"unknown municipality {value!r}: give a Finnish municipality name or code")
        return municipality

    @staticmethod
    def _passes_filters(service: ServiceRecord, query: Query, municipality: Municipality | None) -> bool:
        if municipality is not None and service.area_type == "local" and service.municipality_code != municipality.code:
            return False
        if query.target_group and not any(g.startswith(query.target_group) for g in service.target_groups):
            return False
        if query.life_event and query.life_event not in service.life_events:
            return False
        return not (query.service_language and query.service_language not in service.texts)

    @staticmethod
    def _age_fits(service: ServiceRecord, age: int) -> bool | None:
        if service.age_min is None and service.age_max is None:
            return None
        low = service.age_min if service.age_min is not None else 0
        high = service.age_max if service.age_max is not None else 200
        return low <= age <= high

    def _eligibility_adjustment(self, service: ServiceRecord, query: Query) -> float:
        adjustment = 0.0
        if query.age is not None:
            fits = self._age_fits(service, query.age)
            if fits is False:
                adjustment -= AGE_MISMATCH_PENALTY
            elif fits:
                adjustment += ELIGIBILITY_MATCH_BONUS
        if query.employment_status and query.employment_status in service.employment_statuses:
            adjustment += ELIGIBILITY_MATCH_BONUS
        return adjustment

    def _text_for(self, service: ServiceRecord, language: str) -> ServiceText:
        for candidate in catalogue_language_order(language):
            text = service.texts.get(candidate)
            if text is not None and text.name:
                return text
        return next(iter(service.texts.values()))

    @staticmethod
    def _url(service: ServiceRecord, text_language: str) -> str | None:
        for language in (text_language, *service.links):
            for link in service.links.get(language, []):
                if link.get("url"):
                    return str(link["url"])
        for channel in service.channels:
            for url in channel.get("urls") or []:
                return str(url)
        return None

    def _hit(
        self, service: ServiceRecord, score: float, language: str, query: Query, municipality: Municipality | None
    ) -> SearchHit:
        text = self._text_for(service, language)
        why = [self._messages.text("why.matches_query", language)]
        if service.age_min is not None and service.age_max is not None:
            why.append(self._messages.text("why.age_range", language, age_min=service.age_min, age_max=service.age_max))
        elif service.age_min is not None:
            why.append(self._messages.text("why.age_min", language, age_min=service.age_min))
        elif service.age_max is not None:
            why.append(self._messages.text("why.age_max", language, age_max=service.age_max))
        if service.immigrants:
            why.append(self._messages.text("why.immigrants", language))
        if service.area_type == "local" and service.municipality_code:
            local = self._municipalities.by_code(service.municipality_code)
            name = municipality_name(local, language) if local else service.municipality_code
            why.append(self._messages.text("why.municipality_local", language, municipality=name))
        else:
            why.append(self._messages.text("why.national", language))
        if text.language != language:
            why.append(
                self._messages.text(
                    "search.text_in_other_language",
                    language,
                    text_language_name=self._messages.text(f"language.name.{text.language}", language),
                )
            )
        fits = [self._age_fits(service, query.age)] if query.age is not None else []
        if municipality is not None and service.area_type == "local":
            fits.append(service.municipality_code == municipality.code)
        eligibility = "fits" if fits and all(f is True for f in fits) else "unknown"
        return SearchHit(
            id=service.id,
            score=round(float(score), 4),
            name=text.name,
            summary=text.summary,
            text_language=text.language,
            url=self._url(service, text.language),
            why=why,
            eligibility=eligibility,
        )
