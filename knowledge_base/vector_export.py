"""Write the vectors of the published catalogue to one file: how the vectors shipped
in the repository (settings.shipped_vectors) are made after the catalogue changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge_base import repository
from knowledge_base.bootstrap import ensure_imported, open_store
from knowledge_base.embedding import make_embedder
from knowledge_base.passages import passages_for_service
from knowledge_base.settings import Settings
from knowledge_base.vector_store import VectorStore, fingerprint, write_vector_file


def export_vectors(settings: Settings, path: Path, progress: Callable[[int, int], None] | None = None) -> int:
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    with sessions() as session:
        services = repository.published_services(session=session)
    texts = list(dict.fromkeys(p.text for s in services for p in passages_for_service(s.id, s.texts)))
    embedder = make_embedder(settings)
    store = VectorStore(embedder.backend_id, settings.shipped_vectors, settings.vector_cache_path)
    vectors = store.vectors_for(texts, embedder.encode_passages, progress)
    write_vector_file(path, {fingerprint(embedder.backend_id, t): v for t, v in zip(texts, vectors, strict=True)})
    return len(texts)


def export_lexical_terms(settings: Settings, path: Path) -> int:
    """Write the analysed BM25 terms of the published catalogue (settings.shipped_terms)."""
    from knowledge_base.bm25 import export_terms, service_documents, service_titles
    from knowledge_base.lexicon import QueryLexicon
    from knowledge_base.text_analysis import Analyzer

    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    with sessions() as session:
        services = repository.published_services(session=session)
    lexicon = [(0, language, words) for language, words in QueryLexicon.load(settings.query_lexicon).catalogue_texts()] if settings.query_lexicon else []
    return export_terms([*service_documents(services), *service_titles(services), *lexicon], Analyzer(), path)
