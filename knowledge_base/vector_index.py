"""A faiss inner-product index over passage vectors, with integer ids so that
entries can be removed when a service changes.

The index type follows the catalogue's size (in passages; bench/bench_scale.py and
bench/results/scale.json have the measurements, 2 cores, dimension 384):

- below FLAT_MAX_VECTORS: exact search (IndexFlatIP under IndexIDMap2). A query costs
  about 0.16 µs per vector (1.2 ms at 10k, 16 ms at 100k) and building is instant. The
  bundled catalogue has about 5k passages.
- from FLAT_MAX_VECTORS on: IndexIVFFlat, nlist = 4·sqrt(n) lists, nprobe = nlist/20 (at
  least 16): recall@10 against exact search 0.99-1.0 at under 1 ms a query at 100k.
  HNSW (M=32) is as fast but cannot remove entries, is 15 % larger and takes 3x as long
  to build; IVF removes natively. IVF is trained by k-means on the vectors of the first
  `add` (tens of seconds at 100k, paid when the search service starts); vectors added
  later go to the nearest existing lists, which serves while the catalogue's topics stay
  alike (rebuild the index after a large change).

`VectorIndex(dimension)` decides at the first `add` from the number of vectors added;
`expected_size=` decides up front.
"""

from __future__ import annotations

import math

import faiss
import numpy as np

FLAT_MAX_VECTORS = 50_000
IVF_LISTS_PER_SQRT_N = 4
IVF_MIN_TRAIN_PER_LIST = 39  # faiss's k-means wants at least this many points per centroid
IVF_MIN_LISTS = 64  # fewer lists than this: too few vectors to train on, stay exact
IVF_PROBE_SHARE = 1 / 20
IVF_MIN_PROBES = 16
IVF_KMEANS_ITERATIONS = 10  # faiss's default 25 takes 2.5x as long for the same recall here

FLAT = "flat"
IVF = "ivf"


def index_kind(size: int) -> str:
    """The index type for a catalogue of `size` vectors."""
    return FLAT if size < FLAT_MAX_VECTORS else IVF


def ivf_lists(planned_size: int, training_size: int) -> int:
    wanted = round(IVF_LISTS_PER_SQRT_N * math.sqrt(max(planned_size, 1)))
    return max(1, min(wanted, training_size // IVF_MIN_TRAIN_PER_LIST))


def ivf_probes(lists: int) -> int:
    return min(lists, max(IVF_MIN_PROBES, round(lists * IVF_PROBE_SHARE)))


def limit_search_threads(threads: int) -> None:
    """faiss's OpenMP threads for this whole process (0 = all cores). One query over a few
    thousand vectors needs no more than one; idle spinning workers cost 8 ms per search at p95
    on two busy cores (0.2 ms with one)."""
    if threads:
        faiss.omp_set_num_threads(threads)


class VectorIndex:
    def __init__(self, dimension: int, *, expected_size: int | None = None) -> None:
        self.dimension = dimension
        self._expected_size = expected_size
        self._kind: str | None = None if expected_size is None else index_kind(expected_size)
        self._index: faiss.Index | None = None
        self._quantizer: faiss.Index | None = None  # kept referenced while the IVF index lives
        if self._kind == FLAT:
            self._index = self._flat()

    @property
    def kind(self) -> str | None:
        """"flat" or "ivf"; None until the first `add` when no size was expected."""
        return self._kind

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dimension)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self._index is None:
            self._index = self._first(vectors)
        self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        if self._index is None:
            return 0
        return int(self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the k nearest passages to one query vector (ids -1 pad a short index)."""
        k = min(k, max(len(self), 1))
        if self._index is None:
            return np.full(k, -np.inf, dtype=np.float32), np.full(k, -1, dtype=np.int64)
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return scores[0], ids[0]

    def _flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    def _first(self, vectors: np.ndarray) -> faiss.Index:
        """The index for a first batch of vectors: flat, or IVF trained on them."""
        planned = max(self._expected_size or 0, len(vectors))
        if self._kind is None:
            self._kind = index_kind(planned)
        lists = ivf_lists(planned, len(vectors))
        if self._kind == FLAT or lists < IVF_MIN_LISTS:
            self._kind = FLAT
            return self._flat()
        self._quantizer = faiss.IndexFlatIP(self.dimension)
        index = faiss.IndexIVFFlat(self._quantizer, self.dimension, lists, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_KMEANS_ITERATIONS
        index.train(vectors)
        index.nprobe = ivf_probes(lists)
        return index
