"""The one search façade callers use: `SearchService.search(Query) -> SearchResult`.

The indexes live in one immutable snapshot that `apply` replaces whole, so a search
running while the catalogue changes sees either the old or the new catalogue, never
a mix. Rebuilding from the in-memory records and cached vectors takes well under a
second for the bundled catalogue; only new passage text is encoded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from knowledge_base import repository
from knowledge_base.colloquial import ColloquialFinnish
from knowledge_base.contracts import FaqEntry, Query, SearchHit, SearchResult, ServiceRecord, ServiceText
from knowledge_base.bm25 import LexicalIndex, TermStore, document_text, service_documents, title_text
from knowledge_base.embedding import Embedder
from knowledge_base.hybrid import GateFeatures, RelevanceGate, reciprocal_rank_fusion
from knowledge_base.errors import IndexNotReady, InvalidQuery, NotFound
from knowledge_base.faq import published_entries
from knowledge_base.i18n import Catalogue
from knowledge_base.language import catalogue_language_order, check_language, detect_language, load_identifier
from knowledge_base.lexicon import SHARED_LANGUAGES, Concept, QueryLexicon, word_count
from knowledge_base.municipalities import Municipality, MunicipalityDirectory
from knowledge_base.passages import passages_for_service
from knowledge_base.rerank import (
    DENSE_MISSING_RANK,
    LEXICAL_MISSING_RANK,
    RERANK_DEPTH,
    CandidateFeatures,
    Reranker,
)
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
    kind: str = "full"


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    similarity: float


# The vector cache keys FAQ questions apart from passages with the same text.
FAQ_KEY_PREFIX = "faq-question\x00"
# Cosine similarity of e5 query embeddings above which a question counts as the FAQ
# question asked again. Chosen on the labelled pairs of bench/queries/faq_pairs.yml
# (bench/bench_content.py): neighbouring questions ("is the course free?" / "where is
# the course?") reach 0.959, so 0.96 lets no wrong answer through, at the price of
# recall (about a quarter of paraphrases); below it the bot searches services instead.
FAQ_MATCH_THRESHOLD = 0.96


@dataclass(frozen=True)
class _Snapshot:
    services: list[ServiceRecord]  # positions stay stable across live updates
    position: dict[str, int]
    refs: list[_PassageRef]
    index: VectorIndex | None
    lexical: LexicalIndex | None
    faqs: list[FaqEntry]
    faq_vectors: np.ndarray | None
    hidden: frozenset[int] = frozenset()  # positions search must no longer show (archived, on hold)
    # Lexicon concepts each service's text names (whole text, and name + summary), filled as
    # the reranker first meets a service; a new snapshot starts empty, so changed texts are
    # never judged by old ones.
    concepts: dict[int, _ServiceConcepts] = field(default_factory=dict)


@dataclass(frozen=True)
class _ServiceConcepts:
    text: frozenset[str]  # named anywhere in the service's text
    title: frozenset[str]  # named in its name or summary


_NO_CONCEPTS = _ServiceConcepts(frozenset(), frozenset())


@dataclass(frozen=True)
class _Retrieved:
    dense: dict[int, float]  # best cosine per service index
    dense_title: dict[int, float]  # best cosine over title passages
    lexical: list[tuple[int, float]]  # BM25, best first
    text: str  # the question as searched (spoken Finnish in standard form)
    concepts: tuple[Concept, ...] = ()  # lexicon concepts it names (its language and the shared ones)


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
        lexical_builder: Callable[[list[ServiceRecord]], LexicalIndex] | None = None,
        faqs: list[FaqEntry] | None = None,
        lexical_rebuilder: Callable[[LexicalIndex, list[ServiceRecord], set[str]], LexicalIndex] | None = None,
        lexicon: QueryLexicon | None = None,
        reranker: Reranker | None = None,
        colloquial: ColloquialFinnish | None = None,
    ) -> None:
        self._gate = gate
        self._colloquial = colloquial
        self._reranker = reranker
        self._catalogue_terms: dict[tuple[str, str], frozenset[str]] = {}  # (concept, language) -> index terms
        self._lexicon = lexicon
        self._embedder = embedder
        self._store = store
        self._municipalities = municipalities
        self._messages = messages
        self._settings = settings
        self._lexical_builder = lexical_builder
        self._lexical_rebuilder = lexical_rebuilder
        services = sorted(services, key=lambda s: s.id)
        if lexical is None and lexical_builder is not None:
            lexical = lexical_builder(services)
        faqs = faqs or []
        self._snapshot = self._build(services, lexical, faqs, self._faq_vectors(faqs), frozenset(), progress)

    def _build(
        self,
        services: list[ServiceRecord],
        lexical: LexicalIndex | None,
        faqs: list[FaqEntry],
        faq_vectors: np.ndarray | None,
        hidden: frozenset[int],
        progress: Callable[[int, int], None] | None = None,
    ) -> _Snapshot:
        passages = [p for service in services for p in passages_for_service(service.id, service.texts)]
        position = {service.id: i for i, service in enumerate(services)}
        refs = [_PassageRef(position[p.service_id], p.language, p.kind) for p in passages]
        index: VectorIndex | None = None
        if passages:
            vectors = self._store.vectors_for([p.text for p in passages], self._embedder.encode_passages, progress)
            index = VectorIndex(vectors.shape[1])
            index.add(np.arange(len(passages)), vectors)
        return _Snapshot(services, position, refs, index, lexical, list(faqs), faq_vectors, hidden)

    def _faq_vectors(self, faqs: list[FaqEntry]) -> np.ndarray | None:
        if not faqs:
            return None
        return self._store.vectors_for([FAQ_KEY_PREFIX + faq.question for faq in faqs], self._encode_faq_questions)

    def _encode_faq_questions(self, keyed: list[str]) -> np.ndarray:
        return self._embedder.encode_queries([text.removeprefix(FAQ_KEY_PREFIX) for text in keyed])

    # --- live updates -------------------------------------------------------------

    @property
    def store(self) -> VectorStore:
        return self._store

    @property
    def municipalities(self) -> MunicipalityDirectory:
        return self._municipalities

    @staticmethod
    def passage_texts(service: ServiceRecord) -> list[str]:
        return [p.text for p in passages_for_service(service.id, service.texts)]

    @staticmethod
    def faq_key_texts(faqs: list[FaqEntry]) -> list[str]:
        return [FAQ_KEY_PREFIX + faq.question for faq in faqs]

    def encode_for_publish(self, service: ServiceRecord | None = None, faqs: list[FaqEntry] | None = None) -> dict[str, np.ndarray]:
        """Encode (or take from the cache) the vectors a published change needs, keyed by
        fingerprint, so the publisher can store them for every other process."""
        from knowledge_base.vector_store import fingerprint

        found: dict[str, np.ndarray] = {}
        if service is not None:
            texts = self.passage_texts(service)
            if texts:
                vectors = self._store.vectors_for(texts, self._embedder.encode_passages)
                found.update({fingerprint(self._store.backend_id, t): v for t, v in zip(texts, vectors, strict=True)})
        if faqs:
            keyed = self.faq_key_texts(faqs)
            vectors = self._store.vectors_for(keyed, self._encode_faq_questions)
            found.update({fingerprint(self._store.backend_id, t): v for t, v in zip(keyed, vectors, strict=True)})
        return found

    def apply(
        self, changed: dict[str, ServiceRecord | None] | None = None, faqs: list[FaqEntry] | None = None
    ) -> None:
        """Replace the changed services (None hides one) and, when given, the FAQ answers;
        then swap in the new snapshot at once. Positions stay stable, so hiding or
        restoring a service costs nothing and a text change re-indexes only the
        languages it touches."""
        current = self._snapshot
        services = list(current.services)
        position = dict(current.position)
        hidden = set(current.hidden)
        languages: set[str] = set()
        for service_id, record in (changed or {}).items():
            at = position.get(service_id)
            if record is None:
                if at is not None:
                    hidden.add(at)
                continue
            if at is None:
                at = len(services)
                services.append(record)
                position[service_id] = at
                languages |= set(record.texts)
            else:
                before = services[at].texts
                languages |= {lang for lang in set(before) | set(record.texts) if before.get(lang) != record.texts.get(lang)}
                services[at] = record
            hidden.discard(at)
        faq_list = current.faqs if faqs is None else list(faqs)
        faq_vectors = current.faq_vectors if faqs is None else self._faq_vectors(faq_list)
        if not languages:
            self._snapshot = _Snapshot(services, position, current.refs, current.index, current.lexical, faq_list,
                                       faq_vectors, frozenset(hidden))  # fmt: skip
            return
        lexical = current.lexical
        if lexical is not None and self._lexical_rebuilder is not None:
            lexical = self._lexical_rebuilder(lexical, services, languages)
        elif self._lexical_builder is not None:
            lexical = self._lexical_builder(services)
        self._snapshot = self._build(services, lexical, faq_list, faq_vectors, frozenset(hidden))

    @property
    def faq_count(self) -> int:
        return len(self._snapshot.faqs)

    def faq_match(self, text: str, language: str) -> FaqMatch | None:
        """The published FAQ answer in `language` whose question is close enough to `text`."""
        snapshot = self._snapshot
        if snapshot.faq_vectors is None or not text.strip():
            return None
        query = self._embedder.encode_queries([text])[0]
        similarities = snapshot.faq_vectors @ query
        best: FaqMatch | None = None
        for entry, similarity in zip(snapshot.faqs, similarities.tolist(), strict=True):
            if entry.language == language and (best is None or similarity > best.similarity):
                best = FaqMatch(entry, float(similarity))
        return best if best is not None and best.similarity >= FAQ_MATCH_THRESHOLD else None

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Query vectors (normalised) for grouping questions by similarity."""
        return self._embedder.encode_queries(texts)

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
        analyzer = Analyzer()
        # Read once here, so the first live update does not wait for the term files.
        terms = TermStore(analyzer, settings.shipped_terms, settings.state_dir / "lexical")

        def build_lexical(records: list[ServiceRecord]) -> LexicalIndex:
            return LexicalIndex.build(
                service_documents(records),
                analyzer,
                cache_dir=settings.state_dir / "lexical",
                shipped_terms=settings.shipped_terms,
            )

        def rebuild_lexical(current: LexicalIndex, records: list[ServiceRecord], languages: set[str]) -> LexicalIndex:
            return current.rebuilt(service_documents(records), languages, terms)

        gate = RelevanceGate.load(settings.relevance_gate) if settings.relevance_gate and settings.relevance_gate.exists() else None
        lexicon = QueryLexicon.load(settings.query_lexicon) if settings.query_lexicon else None
        reranker = Reranker.load(settings.reranker) if settings.reranker and settings.reranker.exists() else None
        colloquial = ColloquialFinnish.load(settings.finnish_colloquial) if settings.finnish_colloquial else None
        return cls(
            services=services,
            embedder=embedder,
            store=store,
            municipalities=MunicipalityDirectory.load(),
            messages=Catalogue.load(),
            settings=settings,
            gate=gate,
            progress=progress,
            lexical_builder=build_lexical,
            lexical_rebuilder=rebuild_lexical,
            faqs=published_entries(session),
            lexicon=lexicon,
            reranker=reranker,
            colloquial=colloquial,
        )

    @property
    def _services(self) -> list[ServiceRecord]:
        """The indexed records by position (bench/bench_search_quality.py looks inside)."""
        return self._snapshot.services

    @property
    def service_count(self) -> int:
        snapshot = self._snapshot
        return len(snapshot.services) - len(snapshot.hidden)

    def record(self, service_id: str) -> ServiceRecord:
        snapshot = self._snapshot
        position = snapshot.position.get(service_id)
        if position is None or position in snapshot.hidden:
            raise NotFound(f"no published service {service_id!r}")
        return snapshot.services[position]

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
        snapshot = self._snapshot
        if snapshot.index is None:
            raise IndexNotReady("the catalogue is empty: run `opastin kb import`")

        retrieved = self._retrieve(snapshot, text, language)
        dense, lexical = retrieved.dense, retrieved.lexical
        ranked: list[tuple[float, ServiceRecord]] = []
        for service_index, score in self._ranked(snapshot, retrieved, language):
            service = snapshot.services[service_index]
            if not self._passes_filters(service, query, municipality):
                continue
            ranked.append((score + self._eligibility_adjustment(service, query), service))
        ranked.sort(key=lambda item: -item[0])
        if not ranked or not self._relevant(retrieved, language):
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

    def ranked_ids(self, text: str, language: str, depth: int = 10) -> list[str]:
        """Service ids in the order search ranks them, before filters and the off-topic gate."""
        snapshot = self._snapshot
        retrieved = self._retrieve(snapshot, text, language)
        return [snapshot.services[i].id for i, _score in self._ranked(snapshot, retrieved, language)[:depth]]

    def candidates(self, text: str, language: str) -> tuple[dict[int, float], list[tuple[int, float]]]:
        """Dense best score per service index, and BM25 (service index, score) best first."""
        retrieved = self._retrieve(self._snapshot, text, language)
        return retrieved.dense, retrieved.lexical

    def candidate_features(
        self, text: str, language: str, depth: int = RERANK_DEPTH
    ) -> tuple[dict[int, float], list[tuple[int, float]], list[tuple[int, CandidateFeatures]]]:
        """`candidates` and the reranker's features of the fused top `depth`, in fused order
        (bench/bench_search_quality.py fits the reranker on them)."""
        snapshot = self._snapshot
        retrieved = self._retrieve(snapshot, text, language)
        fused = self._fuse(retrieved.dense, retrieved.lexical)
        top = sorted(fused, key=lambda i: -fused[i])[:depth]
        return retrieved.dense, retrieved.lexical, self._features(snapshot, retrieved, fused, top, language)

    def _ranked(self, snapshot: _Snapshot, retrieved: _Retrieved, language: str) -> list[tuple[int, float]]:
        """(service index, score) best first: fused, then the fused top reranked when a
        reranker is shipped. Reranked scores are the reranker's probabilities; the services
        below the reranked top keep their fused order under the lowest of them."""
        fused = self._fuse(retrieved.dense, retrieved.lexical)
        order = sorted(fused, key=lambda i: -fused[i])
        if self._reranker is None or not order:
            return [(i, fused[i]) for i in order]
        top, rest = order[:RERANK_DEPTH], order[RERANK_DEPTH:]
        features = self._features(snapshot, retrieved, fused, top, language)
        probabilities = self._reranker.probabilities([f for _i, f in features])
        reranked = sorted(zip((i for i, _f in features), probabilities), key=lambda item: -item[1])
        floor = reranked[-1][1]
        ceiling = fused[rest[0]] if rest else 1.0
        return reranked + [(i, floor * 0.99 * fused[i] / ceiling) for i in rest]

    def _features(
        self,
        snapshot: _Snapshot,
        retrieved: _Retrieved,
        fused: dict[int, float],
        top: list[int],
        language: str,
    ) -> list[tuple[int, CandidateFeatures]]:
        dense, lexical = retrieved.dense, retrieved.lexical
        dense_rank = {i: n for n, i in enumerate(sorted(dense, key=lambda i: -dense[i]), start=1)}
        lexical_rank = {i: n for n, (i, _score) in enumerate(lexical, start=1)}
        lexical_score = dict(lexical)
        dense_top = max(dense.values(), default=0.0)
        lexical_top = lexical[0][1] if lexical else 0.0
        asked = {c.name for c in retrieved.concepts} if snapshot.lexical is not None else set()
        out = []
        for i in top:
            service = snapshot.services[i]
            named = self._service_concepts(snapshot, i) if asked else _NO_CONCEPTS
            best = dense.get(i, 0.0)
            out.append(
                (
                    i,
                    CandidateFeatures(
                        dense=best,
                        dense_gap=dense_top - best,
                        dense_rank=dense_rank.get(i, DENSE_MISSING_RANK),
                        lexical_share=lexical_score.get(i, 0.0) / lexical_top if lexical_top > 0 else 0.0,
                        lexical_rank=lexical_rank.get(i, LEXICAL_MISSING_RANK),
                        fused=fused.get(i, 0.0),
                        concept_share=len(asked & named.text) / len(asked) if asked else 0.0,
                        title_concept_share=len(asked & named.title) / len(asked) if asked else 0.0,
                        question_concepts=len(asked),
                        national=service.area_type == "national",
                        own_language=language in service.texts,
                        title_gap=best - retrieved.dense_title.get(i, best) if i in dense else 0.0,
                        catalogue_language=language in ("fi", "sv", "en"),
                    ),
                )
            )
        return out

    def _service_concepts(self, snapshot: _Snapshot, service_index: int) -> _ServiceConcepts:
        """Lexicon concepts whose catalogue words the service's own text uses, compared as
        BM25 index terms (the service's terms come from the shipped analysed terms, so this
        costs a lookup, not an analysis: reading 2,400 texts with the question regexes took
        13 s). A concept its name or summary names says more than one its description
        mentions in passing."""
        cached = snapshot.concepts.get(service_index)
        if cached is None:
            assert self._lexicon is not None and snapshot.lexical is not None
            text: set[str] = set()
            title: set[str] = set()
            for lang, body in snapshot.services[service_index].texts.items():
                if lang not in snapshot.lexical.languages or not body.name.strip():
                    continue
                text |= self._concepts_named(snapshot, document_text(body), lang)
                title |= self._concepts_named(snapshot, title_text(body), lang)
            cached = snapshot.concepts[service_index] = _ServiceConcepts(frozenset(text), frozenset(title))
        return cached

    def _concepts_named(self, snapshot: _Snapshot, text: str, language: str) -> set[str]:
        assert self._lexicon is not None and snapshot.lexical is not None
        terms = set(snapshot.lexical.terms_of(text, language))
        return {c.name for c in self._lexicon.concepts if not terms.isdisjoint(self._concept_terms(snapshot, c, language))}

    def _concept_terms(self, snapshot: _Snapshot, concept: Concept, language: str) -> frozenset[str]:
        key = (concept.name, language)
        terms = self._catalogue_terms.get(key)
        if terms is None:
            words = concept.catalogue.get(language, "")
            assert snapshot.lexical is not None
            terms = self._catalogue_terms[key] = frozenset(snapshot.lexical.terms_of(words, language) if words else ())
        return terms

    def _retrieve(self, snapshot: _Snapshot, text: str, language: str) -> _Retrieved:
        assert snapshot.index is not None
        text = self.standard_text(text, language)
        query_vector = self._embedder.encode_queries([text])[0]
        scores, ids = snapshot.index.search(query_vector, CANDIDATE_PASSAGES)
        dense: dict[int, float] = {}
        dense_title: dict[int, float] = {}
        for score, passage_id in zip(scores.tolist(), ids.tolist(), strict=True):
            if passage_id < 0:
                continue
            ref = snapshot.refs[passage_id]
            service_index = ref.service_index
            if service_index in snapshot.hidden:
                continue
            dense[service_index] = max(dense.get(service_index, -1.0), score)
            if ref.kind == "title":
                dense_title[service_index] = max(dense_title.get(service_index, -1.0), score)
        concepts = tuple(self._lexicon.concepts_in(text, (language, *SHARED_LANGUAGES))) if self._lexicon else ()
        lexical: list[tuple[int, float]] = []
        if snapshot.lexical is not None:
            expansion = self._lexicon.expansion(concepts, snapshot.lexical.terms_of) if self._lexicon else []
            lexical = snapshot.lexical.search(
                text, language, LEXICAL_CANDIDATES, expansion, self._settings.lexicon_weight
            )
        if snapshot.hidden:
            lexical = [(i, score) for i, score in lexical if i not in snapshot.hidden]
        return _Retrieved(dense, dense_title, lexical, text, concepts)

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

    def standard_text(self, text: str, language: str) -> str:
        """The question as it is searched: spoken Finnish rewritten to standard Finnish
        (data/finnish_colloquial.yml); other languages as written."""
        lexical = self._snapshot.lexical
        if language != "fi" or self._colloquial is None or lexical is None:
            return text
        return self._colloquial.standard(text, lexical.analyzer.is_finnish_word)

    def gate_features(
        self,
        dense: dict[int, float],
        lexical: list[tuple[int, float]],
        language: str,
        text: str = "",
        concepts: int | None = None,
    ) -> GateFeatures:
        """`text`: the question as searched (`standard_text`); `concepts`: the lexicon concepts it
        names, when the search has already read them."""
        if concepts is None:
            concepts = len(self._lexicon.concepts_in(text, (language, *SHARED_LANGUAGES))) if self._lexicon else 0
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
            words=word_count(text),
            concepts=concepts,
        )

    def _relevant(self, retrieved: _Retrieved, language: str) -> bool:
        if self._gate is None:
            return max(retrieved.dense.values(), default=0.0) >= self._settings.min_relevance
        features = self.gate_features(retrieved.dense, retrieved.lexical, language, retrieved.text, len(retrieved.concepts))
        return self._gate.accepts(features)

    def warm_up(self, languages: Iterable[str] = ("fi",)) -> None:
        """One query per language through the whole path, so that no user's first query
        waits for what it loads: the Finnish lemmatizer, each language's tokenizer (a spaCy
        blank pipeline compiles its rules on first use: 0.1-0.5 s), the query encoder,
        compiled patterns, and the language identifier (0.4 s to decompress its model)."""
        load_identifier()
        for language in languages:
            self.search(Query(text="työ", language=language))

    def _resolve_municipality(self, value: str | None) -> Municipality | None:
        if value is None or not value.strip():
            return None
        municipality = self._municipalities.resolve(value)
        if municipality is None:
            raise InvalidQuery(f"unknown municipality {value!r}: give a Finnish municipality name or code")
        return municipality

    @staticmethod
    def _passes_curated(service: ServiceRecord, query: Query, municipality: Municipality | None) -> bool:
        """Curated eligibility excludes; a criterion the query does not give excludes nothing."""
        curated = service.curated
        if query.age is not None:
            if curated.age_min is not None and query.age < curated.age_min:
                return False
            if curated.age_max is not None and query.age > curated.age_max:
                return False
        if municipality is not None and curated.municipalities and municipality.code not in curated.municipalities:
            return False
        if query.employment_status and curated.employment_statuses and query.employment_status not in curated.employment_statuses:
            return False
        if query.target_group and curated.target_groups and not any(g.startswith(query.target_group) for g in curated.target_groups):
            return False
        return not (query.life_event and curated.life_events and query.life_event not in curated.life_events)

    @classmethod
    def _passes_filters(cls, service: ServiceRecord, query: Query, municipality: Municipality | None) -> bool:
        if not cls._passes_curated(service, query, municipality):
            return False
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
        if service.immigrants or service.curated.immigrants:
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
        if service.outdated:
            why.append(self._messages.text("service.outdated_notice", language, date=service.imported_on))
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
