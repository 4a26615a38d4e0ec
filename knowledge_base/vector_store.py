"""Passage vectors keyed by a fingerprint, so only new or changed text is encoded.

The fingerprint of a passage covers its text, the embedding backend (model and
version) and the source of the passage-building code. Two files are read: the
vectors shipped with the repository for the bundled catalogue, and a local cache
for everything encoded on this machine. A corrupt or missing file is ignored with
a warning and its vectors are encoded again.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import zipfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge_base import passages

logger = logging.getLogger(__name__)

ENCODE_BATCH = 16


@lru_cache(maxsize=1)
def passage_code_digest() -> str:
    return hashlib.sha256(inspect.getsource(passages).encode("utf-8")).hexdigest()[:16]


def fingerprint(backend_id: str, text: str) -> str:
    material = f"{backend_id}\x00{passage_code_digest()}\x00{text}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def read_vector_file(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = data["keys"]
            vectors = data["vectors"].astype(np.float32)
        if len(keys) != len(vectors):
            raise ValueError("keys and vectors differ in length")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        logger.warning("vector file %s is unreadable (%s); its passages will be encoded again", path, error)
        return {}
    return dict(zip(keys.tolist(), vectors, strict=True))


def write_vector_file(path: Path, vectors: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(vectors)
    matrix = np.stack([vectors[key] for key in keys]).astype(np.float16) if keys else np.zeros((0, 0), np.float16)
    # Per process: the API and the action server may both cache new vectors at once (live updates).
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial.npz")
    np.savez_compressed(partial, keys=np.array(keys), vectors=matrix)
    os.replace(partial, path)


class VectorStore:
    def __init__(self, backend_id: str, shipped: Path | None, local_dir: Path) -> None:
        self.backend_id = backend_id
        self.local_path = local_dir / f"{backend_id}.npz"
        self._vectors = read_vector_file(shipped) if shipped else {}
        self._local = read_vector_file(self.local_path)
        self._vectors.update(self._local)

    def missing_keys(self, texts: Sequence[str]) -> list[str]:
        """Fingerprints of the texts this store has no vector for."""
        keys = (fingerprint(self.backend_id, t) for t in texts)
        return list(dict.fromkeys(key for key in keys if key not in self._vectors))

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors another process encoded (read from the database); kept in memory only."""
        self._vectors.update(vectors)

    def missing(self, texts: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(t for t in texts if fingerprint(self.backend_id, t) not in self._vectors))

    def vectors_for(
        self,
        texts: Sequence[str],
        encode: Callable[[list[str]], np.ndarray],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Vectors of `texts` in order, encoding (and caching) those not seen before."""
        todo = self.missing(texts)
        if todo:
            logger.info("encoding %d passages not in the vector cache", len(todo))
            for start in range(0, len(todo), ENCODE_BATCH):
                batch = todo[start : start + ENCODE_BATCH]
                for text, vector in zip(batch, encode(batch), strict=True):
                    key = fingerprint(self.backend_id, text)
                    self._vectors[key] = vector
                    self._local[key] = vector
                if progress:
                    progress(min(start + ENCODE_BATCH, len(todo)), len(todo))
            write_vector_file(self.local_path, self._local)
        return np.stack([self._vectors[fingerprint(self.backend_id, t)] for t in texts]).astype(np.float32)
