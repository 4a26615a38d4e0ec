"""How the passage index scales: exact flat inner product against HNSW and IVF on a
synthetic catalogue, to choose the index type by size (knowledge_base/vector_index.py).

    .venv/bin/python bench/bench_scale.py [--sizes 1000,10000,100000] [--queries 1000]
                                          [--out bench/results/scale.json]

Vectors: dimension 384 (multilingual-e5-small, MiniLM), unit length, drawn around
min(1000, n/100) (at least 10) Gaussian cluster centres of uneven (Pareto) sizes, with
noise such that a member's cosine to its centre is about 0.8; most of the noise lies in a
24-dimensional subspace of each cluster's own (texts on one topic vary along few
directions). Queries are drawn the same way, from a cluster as often as its size says.

For every size and index: build time (2 threads), size of the serialized index
(faiss.serialize_index), single-query latency p50/p95 (one thread, one query at a time,
k=10; and p50 at k=300, the number of candidate passages search asks for) and recall@10
against the flat index. HNSW's efSearch and IVF's nprobe are swept; the table shows the
smallest setting reaching recall@10 >= 0.95 and the nprobe knowledge_base/vector_index.py
uses (the JSON has the whole sweep). Writes the table's data, the settings and the commit
as JSON. About 4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.vector_index import FLAT_MAX_VECTORS, IVF_KMEANS_ITERATIONS, ivf_probes  # noqa: E402

DIM = 384
K = 10
K_CANDIDATES = 300  # knowledge_base.search.CANDIDATE_PASSAGES
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = (16, 32, 64, 128, 256)
IVF_NPROBE = (1, 2, 4, 8, 16, 32, 64)
TARGET_RECALL = 0.95
MEMBER_COSINE = 0.8  # expected cosine between a member and its cluster centre
# Share of the noise variance lying in a subspace of its own per cluster (text embeddings
# vary along few directions around a topic); the rest is isotropic.
SUBSPACE_DIM = 24
SUBSPACE_SHARE = 0.8
BUILD_THREADS = 2
SEED = 20251


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() or None


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def synthetic(n: int, n_queries: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """n catalogue vectors and n_queries query vectors around shared cluster centres."""
    clusters = max(10, min(1000, n // 100))
    centres = unit(rng.standard_normal((clusters, DIM), dtype=np.float32))
    # |noise|^2 = DIM * sigma^2 and cos(member, centre) ~ 1 / sqrt(1 + DIM * sigma^2)
    sigma = math.sqrt((1 / MEMBER_COSINE**2 - 1) / DIM)
    # Uneven cluster sizes, as catalogues have (many day-care services, one debt counselling).
    weights = rng.pareto(1.5, clusters) + 1
    bases = rng.standard_normal((clusters, SUBSPACE_DIM, DIM), dtype=np.float32) / math.sqrt(SUBSPACE_DIM)

    def around(labels: np.ndarray) -> np.ndarray:
        weights_in_subspace = rng.standard_normal((len(labels), SUBSPACE_DIM), dtype=np.float32)
        along = np.einsum("ns,nsd->nd", weights_in_subspace, bases[labels])
        iso = rng.standard_normal((len(labels), DIM), dtype=np.float32)
        noise = math.sqrt(SUBSPACE_SHARE) * along + math.sqrt(1 - SUBSPACE_SHARE) * iso  # E|noise|^2 = DIM
        return unit(centres[labels] + sigma * noise)

    labels = rng.choice(clusters, size=n, p=weights / weights.sum())
    base = np.concatenate([around(chunk) for chunk in np.array_split(labels, max(1, n // 10000))])
    queries = around(rng.choice(clusters, size=n_queries, p=weights / weights.sum()))
    return base, queries, clusters


def latencies_ms(index: faiss.Index, queries: np.ndarray, k: int) -> np.ndarray:
    out = np.empty(len(queries))
    for i in range(len(queries)):
        one = queries[i : i + 1]
        start = time.perf_counter()
        index.search(one, k)
        out[i] = (time.perf_counter() - start) * 1000
    return out


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def measure(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    faiss.omp_set_num_threads(BUILD_THREADS)
    _, found = index.search(queries, K)
    faiss.omp_set_num_threads(1)
    single = latencies_ms(index, queries, K)
    wide = latencies_ms(index, queries[: max(1, len(queries) // 4)], K_CANDIDATES)
    return {
        "recall_at_10": round(recall_at_k(found, truth), 4),
        "p50_ms": round(float(np.percentile(single, 50)), 4),
        "p95_ms": round(float(np.percentile(single, 95)), 4),
        "p50_ms_k300": round(float(np.percentile(wide, 50)), 4),
    }


def build(factory, base: np.ndarray) -> tuple[faiss.Index, float]:  # type: ignore[no-untyped-def]
    faiss.omp_set_num_threads(BUILD_THREADS)
    start = time.perf_counter()
    index = factory()
    if not index.is_trained:
        index.train(base)
    index.add(base)
    return index, time.perf_counter() - start


def ivf_nlist(n: int) -> int:
    return max(1, min(round(4 * math.sqrt(n)), n // 39))  # faiss wants >= 39 training points per list


def run_size(n: int, n_queries: int, rng: np.random.Generator) -> dict:
    base, queries, clusters = synthetic(n, n_queries, rng)
    rows: dict[str, dict] = {}

    flat, seconds = build(lambda: faiss.IndexFlatIP(DIM), base)
    faiss.omp_set_num_threads(BUILD_THREADS)
    _, truth = flat.search(queries, K)
    rows["flat"] = {
        "build_s": round(seconds, 3), "bytes": len(faiss.serialize_index(flat)), **measure(flat, queries, truth)
    }

    hnsw, seconds = build(lambda: hnsw_index(), base)
    sweep = []
    for ef in HNSW_EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        sweep.append({"efSearch": ef, **measure(hnsw, queries, truth)})
    rows["hnsw"] = {"build_s": round(seconds, 3), "bytes": len(faiss.serialize_index(hnsw)), "sweep": sweep,
                    "M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}

    nlist = ivf_nlist(n)
    ivf, seconds = build(lambda: ivf_index(nlist), base)
    sweep = []
    for nprobe in sorted({p for p in IVF_NPROBE if p <= nlist} | {ivf_probes(nlist)}):
        ivf.nprobe = nprobe
        sweep.append({"nprobe": nprobe, **measure(ivf, queries, truth)})
    rows["ivf"] = {"build_s": round(seconds, 3), "bytes": len(faiss.serialize_index(ivf)), "sweep": sweep,
                   "nlist": nlist}

    for name in ("hnsw", "ivf"):
        sweep = rows[name]["sweep"]
        chosen = next((s for s in sweep if s["recall_at_10"] >= TARGET_RECALL), sweep[-1])
        rows[name]["chosen"] = chosen
    # What knowledge_base.vector_index uses at this size.
    rows["ivf"]["product"] = next(s for s in rows["ivf"]["sweep"] if s["nprobe"] == ivf_probes(nlist))
    return {"n": n, "clusters": clusters, "indexes": rows}


def ivf_index(nlist: int) -> faiss.Index:
    quantizer = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_KMEANS_ITERATIONS  # as knowledge_base.vector_index trains it
    return index


def hnsw_index() -> faiss.Index:
    index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return index


def print_table(results: list[dict]) -> None:
    header = (
        f"{'n':>7} {'index':<26} {'build s':>8} {'MB':>7} {'p50 ms':>7} {'p95 ms':>7} {'p50@300':>8} {'recall@10':>9}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        for name, row in result["indexes"].items():
            shown = [("flat (exact)", row)] if name == "flat" else []
            if name == "hnsw":
                shown = [(f"hnsw M{row['M']} efS={row['chosen']['efSearch']}", row["chosen"])]
            if name == "ivf":
                shown = [(f"ivf nlist={row['nlist']} nprobe={row['chosen']['nprobe']}", row["chosen"])]
                if row["product"]["nprobe"] != row["chosen"]["nprobe"]:
                    shown.append((f"ivf nlist={row['nlist']} nprobe={row['product']['nprobe']}*", row["product"]))
            for label, measured in shown:
                print(
                    f"{result['n']:>7} {label:<26} {row['build_s']:>8.2f} {row['bytes'] / 1e6:>7.1f} "
                    f"{measured['p50_ms']:>7.3f} {measured['p95_ms']:>7.3f} {measured['p50_ms_k300']:>8.3f} "
                    f"{measured['recall_at_10']:>9.3f}"
                )
    print(f"(* the nprobe knowledge_base.vector_index uses; it keeps flat below {FLAT_MAX_VECTORS:,} vectors)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    args = parser.parse_args()

    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    results = []
    for n in (int(size) for size in args.sizes.split(",")):
        t0 = time.perf_counter()
        results.append(run_size(n, args.queries, rng))
        print(f"[scale] n={n} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    print_table(results)
    report = {
        "commit": git_commit(),
        "settings": {
            "dimension": DIM, "queries": args.queries, "k": K, "k_candidates": K_CANDIDATES,
            "member_cosine": MEMBER_COSINE, "hnsw_M": HNSW_M, "hnsw_efConstruction": HNSW_EF_CONSTRUCTION,
            "hnsw_efSearch_sweep": list(HNSW_EF_SEARCH), "ivf_nlist": "round(4*sqrt(n)), at most n/39",
            "ivf_nprobe_sweep": list(IVF_NPROBE), "ivf_kmeans_iterations": IVF_KMEANS_ITERATIONS,
            "product_flat_max_vectors": FLAT_MAX_VECTORS, "target_recall": TARGET_RECALL,
            "build_threads": BUILD_THREADS, "search_threads": 1, "seed": SEED,
            "faiss": faiss.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "cpus": os.cpu_count(),
        },
        "results": results,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"total {report['total_seconds']} s; wrote {args.out}")


if __name__ == "__main__":
    main()
