"""Retrieval quality and speed of `opastin search`, reported (never tuned on) on the
shared evaluation sets.

    .venv/bin/python bench/bench_retrieval.py [--eval-dir ../shared/eval] [--out bench/results/retrieval.json]

Prints one table per set (recall@1/@3/@10 and MRR per language), the off-topic
rejection rate on CLINC out-of-scope questions and the false rejection on in-scope ones,
latency p50/p95 of the full search path, cold start and RSS; writes the same as JSON
with the commit and the settings.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store  # noqa: E402
from knowledge_base.contracts import Query  # noqa: E402
from knowledge_base.search import SearchService  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402

TOP = 10


@dataclass
class Case:
    lang: str
    query: str
    accept: set[str]
    exclude: str | None = None


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def eval_sets(eval_dir: Path) -> dict[str, list[Case]]:
    turku = [
        Case(r["lang"], r["query"], set(r["matched_kb_ids"]))
        for r in load_jsonl(eval_dir / "eval_turku_paoh_needs.jsonl")
        if r["matched_kb_ids"]
    ]
    helsinki = [
        Case(r["lang"], r["query"], {r["target_kb_id"]}, exclude=r["query_from"])
        for r in load_jsonl(eval_dir / "eval_helsinki_to_ptv_gd.jsonl")
    ]
    dev = [Case(r["lang"], r["query"], set(r["accept"])) for r in load_jsonl(eval_dir / "dev_multilingual.jsonl")]
    return {"turku_paoh": turku, "helsinki_to_ptv": helsinki, "dev_multilingual": dev}


def rank_of(ids: list[str], accept: set[str]) -> int | None:
    return next((i + 1 for i, hit in enumerate(ids) if hit in accept), None)


def score(service: SearchService, cases: Iterable[Case]) -> dict[str, dict[str, float]]:
    ranks: dict[str, list[int | None]] = defaultdict(list)
    for case in cases:
        result = service.search(Query(case.query, case.lang, top_k=TOP + 1))
        ids = [hit.id for hit in result.results if hit.id != case.exclude][:TOP]
        ranks[case.lang].append(rank_of(ids, case.accept))
        ranks["all"].append(ranks[case.lang][-1])
    table = {}
    for lang, values in ranks.items():
        n = len(values)
        table[lang] = {
            "n": n,
            "r@1": sum(1 for r in values if r and r <= 1) / n,
            "r@3": sum(1 for r in values if r and r <= 3) / n,
            "r@10": sum(1 for r in values if r and r <= 10) / n,
            "mrr": sum(1 / r for r in values if r) / n,
        }
    return table


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}\n{'lang':6} {'n':>4} {'r@1':>6} {'r@3':>6} {'r@10':>6} {'mrr':>6}")
    for lang in sorted(table, key=lambda k: (k == "all", k)):
        row = table[lang]
        print(f"{lang:6} {row['n']:>4} {row['r@1']:6.3f} {row['r@3']:6.3f} {row['r@10']:6.3f} {row['mrr']:6.3f}")


def rejection(service: SearchService, queries: list[tuple[str, str]]) -> float:
    rejected = sum(1 for lang, text in queries if not service.search(Query(text, lang)).results)
    return rejected / len(queries)


def latency(service: SearchService, queries: list[tuple[str, str]]) -> dict[str, float]:
    times = []
    for lang, text in queries:
        start = time.perf_counter()
        service.search(Query(text, lang))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"n": len(times), "p50_ms": statistics.median(times), "p95_ms": times[int(len(times) * 0.95) - 1]}


def cold_start(state_dir: Path) -> float:
    """Seconds for a new process to answer one `opastin search` (catalogue already imported)."""
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/opastin"), "search", "työttömäksi jäin, mitä nyt", "--json"],
        check=True,
        capture_output=True,
        env={"OPASTIN_STATE_DIR": str(state_dir), "PATH": "/usr/bin:/bin"},
    )
    return time.perf_counter() - start


def git_commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="opastin-bench-"))
    settings = Settings(state_dir=state_dir)
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    start = time.perf_counter()
    service = build_search_service(sessions, settings)
    build_seconds = time.perf_counter() - start
    # Recall is measured without the relevance gate; the gate is reported on its own.
    ungated = build_search_service(sessions, settings.model_copy(update={"min_relevance": -1.0}))

    sets = eval_sets(args.eval_dir)
    results: dict[str, object] = {}
    for name, cases in sets.items():
        table = score(ungated, cases)
        print_table(name, table)
        results[name] = table

    in_scope = [(c.lang, c.query) for c in sets["dev_multilingual"] + sets["turku_paoh"]]
    clinc = [(r["lang"], r["query"]) for r in load_jsonl(args.eval_dir / "eval_clinc_oos.jsonl")]
    gate = {
        "clinc_oos_rejected": rejection(service, clinc),
        "in_scope_falsely_rejected": rejection(service, in_scope),
        "min_relevance": settings.min_relevance,
    }
    print(f"\noff-topic gate: {json.dumps(gate)}")
    speed = latency(service, in_scope * 2)
    speed["index_build_s"] = build_seconds
    speed["cold_start_s"] = cold_start(state_dir)
    speed["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"speed: {json.dumps(speed)}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "commit": git_commit(),
        "settings": {"backend": settings.embedding_backend, "top": TOP},
        "services": service.service_count,
        "sets": results,
        "gate": gate,
        "speed": speed,
    }
    args.out.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
