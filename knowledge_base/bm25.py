"""Lexical (BM25) search over the catalogue: the keyword side of hybrid search.

One document per service and catalogue language (fi, sv, en), analysed by
`text_analysis.Analyzer` in its own language and held in one bm25s index per
language. A query is scored against every index, with its terms in its own language
(whatever that is) plus, for an index in another language, its terms as that language
analyses them: users mix languages, and "Kela" or "Ohjaamo" in a Russian question
still matches. A document id scores by its best language. A query term that no index
knows is retried without up to four final letters ("Omnian" -> "omnia", "Kelasse" ->
"kela"), since the lemmatizer cannot lemmatise names it does not know.

Analysing the catalogue's Finnish text takes tens of seconds, so the analysed terms
are kept like the passage vectors (`vector_store`): keyed by a fingerprint of the
text, the language and the analyser version, read from an optional shipped file and
a local cache file, and only texts not seen before are analysed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from knowledge_base.contracts import ServiceRecord, ServiceText
from knowledge_base.text_analysis import Analyzer

logger = logging.getLogger(__name__)

CATALOGUE_LANGUAGES = ("fi", "sv", "en")
# The name counts this many times in a document: names are short and say what the
# service is, descriptions are long and mention much else.
NAME_REPEATS = 2
BM25_K1 = 1.2
BM25_B = 0.75
# Out-of-vocabulary query terms: strip at most this many final letters, keeping at least
# MIN_STEM letters.
MAX_STRIP = 4
MIN_STEM = 4


class LexicalDocument(NamedTuple):
    doc_id: int
    language: str
    text: str


def document_text(text: ServiceText, name_repeats: int = NAME_REPEATS) -> str:
    """Name (repeated), summary, synonyms and description of one language, as one text."""
    name = text.name.strip()
    parts = [name] * max(name_repeats, 1) if name else []
    parts += [t.strip() for t in (text.summary, text.synonyms, text.description) if t and t.strip()]
    return "\n".join(parts)


def title_text(text: ServiceText) -> str:
    """Name and summary of one language: what the service says it is, without the
    description's passing mentions (the reranker's title concepts; the dense title passage,
    passages.py, also adds synonyms)."""
    return "\n".join(t.strip() for t in (text.name, text.summary) if t and t.strip())


def service_documents(
    services: Sequence[ServiceRecord],
    languages: Iterable[str] = CATALOGUE_LANGUAGES,
    name_repeats: int = NAME_REPEATS,
) -> list[LexicalDocument]:
    """One document per service and catalogue language it has; doc_id = position in `services`."""
    return _per_language(services, languages, lambda text: document_text(text, name_repeats))


def service_titles(services: Sequence[ServiceRecord], languages: Iterable[str] = CATALOGUE_LANGUAGES) -> list[LexicalDocument]:
    """`title_text` per service and catalogue language: shipped analysed with the documents,
    so the reranker's first look at a service costs a lookup, not a spaCy analysis."""
    return _per_language(services, languages, title_text)


def _per_language(
    services: Sequence[ServiceRecord], languages: Iterable[str], text_of: Callable[[ServiceText], str]
) -> list[LexicalDocument]:
    wanted = tuple(languages)
    docs = []
    for position, service in enumerate(services):
        for language in wanted:
            text = service.texts.get(language)
            if text is not None and text.name.strip():
                docs.append(LexicalDocument(position, language, text_of(text)))
    return docs


# -- analysed-term cache ----------------------------------------------------------------


def term_fingerprint(analyzer_version: str, language: str, text: str) -> str:
    material = f"{analyzer_version}\x00{language}\x00{text}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def read_term_file(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ValueError("not a mapping of fingerprints to term lists")
    except (OSError, ValueError, EOFError) as error:
        logger.warning("term file %s is unreadable (%s); its texts will be analysed again", path, error)
        return {}
    return data


def write_term_file(path: Path, terms: Mapping[str, list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Per process: the API and the action server may both cache new text at once (live updates).
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as handle:
        json.dump({key: terms[key] for key in sorted(terms)}, handle, ensure_ascii=False, separators=(",", ":"))
    os.replace(partial, path)


class TermStore:
    """Analysed terms of texts, keyed by fingerprint; mirrors `vector_store.VectorStore`."""

    def __init__(self, analyzer: Analyzer, shipped: Path | None = None, local_dir: Path | None = None) -> None:
        self.analyzer = analyzer
        self.version = analyzer.version
        self.local_path = local_dir / f"terms-{self.version}.json.gz" if local_dir else None
        self._terms = read_term_file(shipped) if shipped else {}
        self._local = read_term_file(self.local_path) if self.local_path else {}
        self._terms.update(self._local)

    def terms_for(self, docs: Sequence[LexicalDocument]) -> list[list[str]]:
        """Terms of each document in order, analysing (and caching) texts not seen before."""
        keys = [term_fingerprint(self.version, d.language, d.text) for d in docs]
        todo: dict[str, dict[str, str]] = {}
        for key, doc in zip(keys, docs, strict=True):
            if key not in self._terms:
                todo.setdefault(doc.language, {})[key] = doc.text
        for language, texts in todo.items():
            logger.info("analysing %d %s texts not in the term cache", len(texts), language)
            for key, terms in zip(texts, self.analyzer.analyze_many(list(texts.values()), language), strict=True):
                self._terms[key] = terms
                self._local[key] = terms
        if todo and self.local_path:
            try:
                write_term_file(self.local_path, self._local)
            except OSError as error:
                logger.warning("cannot write the term cache %s (%s)", self.local_path, error)
        return [self._terms[key] for key in keys]


def export_terms(docs: Iterable[tuple[int, str, str]], analyzer: Analyzer, path: Path) -> int:
    """Write the analysed terms of `docs` to `path` (a file to ship as `shipped_terms`,
    like the catalogue's vectors); returns how many texts it holds."""
    documents = [LexicalDocument(int(i), str(lang), text or "") for i, lang, text in docs]
    store = TermStore(analyzer)
    terms = store.terms_for(documents)
    keyed = {term_fingerprint(store.version, d.language, d.text): t for d, t in zip(documents, terms, strict=True)}
    write_term_file(path, keyed)
    return len(keyed)


# -- the index ------------------------------------------------------------------------


class _LanguageIndex(NamedTuple):
    bm25: Any  # bm25s.BM25
    positions: np.ndarray  # row of each indexed document in LexicalIndex._doc_ids


class LexicalIndex:
    def __init__(
        self, analyzer: Analyzer, doc_ids: np.ndarray, indexes: dict[str, _LanguageIndex], store: TermStore | None = None
    ) -> None:
        self._analyzer = analyzer
        self._store = store
        self._doc_ids = doc_ids
        self._indexes = indexes
        self._vocabulary = frozenset(t for index in indexes.values() for t in index.bm25.vocab_dict if t)

    @classmethod
    def build(
        cls,
        docs: Iterable[tuple[int, str, str]],
        analyzer: Analyzer,
        *,
        cache_dir: Path | None = None,
        shipped_terms: Path | None = None,
    ) -> LexicalIndex:
        """Index `(doc_id, language, text)` documents; several may share a doc_id (one per
        language). With `cache_dir` (or `shipped_terms`), analysed terms are reused."""
        import bm25s

        documents = [LexicalDocument(int(i), str(lang), text or "") for i, lang, text in docs]
        store = TermStore(analyzer, shipped_terms, cache_dir)
        terms = store.terms_for(documents)
        doc_ids = np.array(sorted({d.doc_id for d in documents}), dtype=np.int64)
        row_of = {doc_id: row for row, doc_id in enumerate(doc_ids.tolist())}
        by_language: dict[str, list[int]] = {}
        for n, doc in enumerate(documents):
            by_language.setdefault(doc.language, []).append(n)
        indexes = {}
        for language in sorted(by_language):
            members = by_language[language]
            corpus = [terms[n] for n in members]
            if not any(corpus):
                continue
            bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
            bm25.index(corpus, show_progress=False)
            positions = np.array([row_of[documents[n].doc_id] for n in members], dtype=np.int64)
            indexes[language] = _LanguageIndex(bm25, positions)
        return cls(analyzer, doc_ids, indexes, store)

    def rebuilt(self, docs: Iterable[tuple[int, str, str]], languages: set[str], store: TermStore) -> LexicalIndex:
        """A copy with only `languages` indexed again from `docs` (all documents), for live
        catalogue updates; the other languages are shared. Falls back to a full build
        when existing documents would move to other rows."""
        import bm25s

        documents = [LexicalDocument(int(i), str(lang), text or "") for i, lang, text in docs]
        doc_ids = np.array(sorted({d.doc_id for d in documents}), dtype=np.int64)
        old = self._doc_ids
        if len(doc_ids) < len(old) or not np.array_equal(doc_ids[: len(old)], old):
            languages = {d.language for d in documents} | set(self._indexes)
        row_of = {doc_id: row for row, doc_id in enumerate(doc_ids.tolist())}
        indexes = {lang: index for lang, index in self._indexes.items() if lang not in languages}
        for language in sorted(languages):
            members = [d for d in documents if d.language == language]
            corpus = store.terms_for(members)
            if not any(corpus):
                continue
            bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
            bm25.index(corpus, show_progress=False)
            indexes[language] = _LanguageIndex(bm25, np.array([row_of[d.doc_id] for d in members], dtype=np.int64))
        return LexicalIndex(self._analyzer, doc_ids, indexes, store)

    @property
    def languages(self) -> list[str]:
        return sorted(self._indexes)

    def terms_of(self, text: str, language: str) -> list[str]:
        """Index terms of a catalogue-side text, from the shipped terms when they hold it: a
        Finnish query's lexicon expansion then loads no Swedish or English pipeline (3 s)."""
        if self._store is None:
            return self._analyzer.analyze(text, language)
        return self._store.terms_for([LexicalDocument(0, language, text)])[0]

    @property
    def analyzer(self) -> Analyzer:
        return self._analyzer

    def query_terms(self, query: str, query_language: str) -> dict[str, list[str]]:
        """The distinct terms a query is scored with, per index language.

        The query is analysed in its own language only: analysing it also as each index's
        language matched more noise than help on the dev sets. A term that no index knows
        is retried per index (`_retry`).
        """
        own = list(dict.fromkeys(self._analyzer.analyze(query or "", query_language)))
        if not own:
            return {}
        unknown = [term for term in own if term not in self._vocabulary]
        per_language = {}
        for language, index in self._indexes.items():
            retried = {term: self._retry(term, language, index.bm25.vocab_dict) for term in unknown}
            per_language[language] = list(dict.fromkeys(retried.get(term) or term for term in own))
        return per_language

    def _retry(self, term: str, language: str, vocabulary: Mapping[str, int]) -> str | None:
        """A form of an unknown query term that the index of `language` knows, or None:
        Snowball-stemmed in that language ("library" in a Finnish query -> "librari"),
        else without up to MAX_STRIP final letters (names the lemmatizer does not know,
        inflected: "omnian" -> "omnia", "kelasse" -> "kela"; colloquial Finnish:
        "kesäks" -> "kesä"; loanwords: "kursusel" -> "kurs"). It also finds lookalikes
        ("laga" -> "lag"); on the dev sets the net effect was a small gain."""
        if not term.isalpha():
            return None
        stemmed = self._analyzer.stem(term, language)
        if stemmed != term and stemmed in vocabulary:
            return stemmed
        for strip in range(1, MAX_STRIP + 1):
            stem = term[:-strip]
            if len(stem) < MIN_STEM:
                break
            if stem in vocabulary:
                return stem
        return None

    def search(
        self,
        query: str,
        query_language: str,
        k: int,
        expansion: Sequence[str] = (),
        expansion_weight: float = 0.0,
    ) -> list[tuple[int, float]]:
        """Up to k `(doc_id, score)` pairs with a positive BM25 score, best first (ties by doc_id).

        `expansion`: index terms added to the query's own (the catalogue's words for the
        concepts the query mentions, `lexicon.QueryLexicon`); their BM25 score counts
        `expansion_weight` times, so the user's own words still weigh more."""
        if k <= 0 or not self._indexes:
            return []
        terms = self.query_terms(query, query_language)
        if not terms and not expansion:
            return []
        best = np.zeros(len(self._doc_ids), dtype=np.float32)
        for language, index in self._indexes.items():
            own = terms.get(language, [])
            scores = np.zeros(len(index.positions), dtype=np.float32)
            ids = index.bm25.get_tokens_ids(own) if own else []
            if ids:
                scores += index.bm25.get_scores_from_ids(ids)
            extra = [term for term in expansion if term not in own] if expansion_weight > 0 else []
            extra_ids = index.bm25.get_tokens_ids(extra) if extra else []
            if extra_ids:
                scores += expansion_weight * index.bm25.get_scores_from_ids(extra_ids)
            if not ids and not extra_ids:
                continue
            np.maximum.at(best, index.positions, scores)
        hits = np.flatnonzero(best > 0)
        if not len(hits):
            return []
        order = np.lexsort((self._doc_ids[hits], -best[hits]))[:k]
        return [(int(self._doc_ids[hits[i]]), float(best[hits[i]])) for i in order]
