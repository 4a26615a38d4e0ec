"""The passage index picks its type by size: exact below FLAT_MAX_VECTORS, IVF above,
with the same add/remove/search/len behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.vector_index import FLAT, FLAT_MAX_VECTORS, IVF, VectorIndex, index_kind

DIM = 384


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, rng: np.random.Generator, clusters: int = 200) -> np.ndarray:
    """Unit vectors around `clusters` centres (cosine to the centre about 0.8)."""
    centres = unit(rng.standard_normal((clusters, DIM), dtype=np.float32))
    noise = rng.standard_normal((n, DIM), dtype=np.float32) * 0.038
    return unit(centres[rng.integers(0, clusters, n)] + noise)


def test_flat_below_the_threshold_ivf_from_it() -> None:
    assert index_kind(0) == index_kind(5_000) == index_kind(FLAT_MAX_VECTORS - 1) == FLAT
    assert index_kind(FLAT_MAX_VECTORS) == index_kind(1_000_000) == IVF
    assert VectorIndex(DIM, expected_size=5_000).kind == FLAT

    decided_at_first_add = VectorIndex(DIM)
    assert decided_at_first_add.kind is None
    decided_at_first_add.add(np.arange(1_000), clustered(1_000, np.random.default_rng(1)))
    assert decided_at_first_add.kind == FLAT
    assert len(decided_at_first_add) == 1_000


def test_large_index_finds_a_planted_vector_among_20k() -> None:
    rng = np.random.default_rng(7)
    vectors = clustered(20_000, rng)
    planted = unit(rng.standard_normal((1, DIM), dtype=np.float32))
    vectors[12_345] = planted[0]

    index = VectorIndex(DIM, expected_size=FLAT_MAX_VECTORS * 2)
    index.add(np.arange(20_000) + 100, vectors)
    assert index.kind == IVF
    assert len(index) == 20_000

    near = unit(planted + 0.01 * rng.standard_normal((1, DIM), dtype=np.float32))[0]
    scores, ids = index.search(near, 300)
    assert ids[0] == 12_345 + 100
    assert scores[0] == pytest.approx(float(near @ planted[0]), abs=1e-4)
    assert scores[0] > scores[1]

    # A member of a cluster: its own id comes first, as an exact search says.
    member = vectors[4_321]
    exact = int(np.argmax(vectors @ member))
    assert index.search(member, 10)[1][0] == exact + 100


@pytest.mark.parametrize("expected_size", [None, FLAT_MAX_VECTORS * 2])
def test_remove_removes(expected_size: int | None) -> None:
    rng = np.random.default_rng(3)
    vectors = clustered(20_000, rng)
    index = VectorIndex(DIM, expected_size=expected_size)
    index.add(np.arange(20_000), vectors)
    target = vectors[777]
    assert index.search(target, 1)[1][0] == 777

    assert index.remove(np.array([777, 778])) == 2
    assert len(index) == 19_998
    assert index.remove(np.array([777])) == 0
    ids = index.search(target, 50)[1]
    assert 777 not in ids and 778 not in ids

    index.add(np.array([777]), target.reshape(1, -1))
    assert index.search(target, 1)[1][0] == 777


def test_an_empty_or_short_index_pads_with_minus_one() -> None:
    empty = VectorIndex(DIM)
    scores, ids = empty.search(np.ones(DIM, dtype=np.float32), 5)
    assert ids.tolist() == [-1]
    assert len(empty) == 0 and empty.remove(np.array([1])) == 0

    small = VectorIndex(DIM)
    small.add(np.array([4, 9]), clustered(2, np.random.default_rng(5)))
    assert sorted(small.search(np.ones(DIM, dtype=np.float32), 300)[1].tolist()) == [4, 9]
