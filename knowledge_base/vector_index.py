"""A faiss inner-product index over passage vectors, with integer ids so that
entries can be removed when a service changes."""

from __future__ import annotations

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dimension: int) -> None:
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(ids.astype(np.int64)))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the k nearest passages to one query vector (ids -1 pad a short index)."""
        k = min(k, max(len(self), 1))
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return scores[0], ids[0]
