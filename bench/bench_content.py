"""Content curation numbers (issue 7):

- FAQ matching: cosine similarity of e5 query vectors between an FAQ question and a
  user's question, on the labelled pairs in bench/queries/faq_pairs.yml; the
  threshold with the most correct decisions that lets no wrong answer through is
  reported next to the one in use (search.FAQ_MATCH_THRESHOLD).
- Live index: seconds to encode an edited service's passages (once, in the publishing
  process) and for SearchService.apply with the vectors at hand (what every watching
  process does) on a text edit (re-indexes the changed languages), on hiding a service
  (archive) and restoring it, over the bundled catalogue. The machine's load is recorded:
  these numbers move a lot on a shared 2-core machine.

    .venv/bin/python bench/bench_content.py [--out bench/results/content.json]
"""

from __future__ import annotations

import argparse
import os
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.bootstrap import ensure_imported, open_store  # noqa: E402
from knowledge_base.contracts import ServiceText  # noqa: E402
from knowledge_base.live_index import open_live_search  # noqa: E402
from knowledge_base.search import FAQ_MATCH_THRESHOLD, SearchService  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402


def faq_threshold(search: SearchService) -> dict[str, object]:
    pairs = yaml.safe_load((ROOT / "bench/queries/faq_pairs.yml").read_text(encoding="utf-8"))
    faq = search.embed_queries([p["faq"] for p in pairs])
    user = search.embed_queries([p["user"] for p in pairs])
    sims = np.sum(faq * user, axis=1)
    labels = np.array([bool(p["match"]) for p in pairs])

    def rates(threshold: float) -> dict[str, float]:
        said = sims >= threshold
        return {"threshold": round(threshold, 3), "correct": float(np.mean(said == labels)),
                "recall": float(np.mean(said[labels])), "wrong_answers": int(np.sum(said & ~labels))}  # fmt: skip

    candidates = [rates(float(t)) for t in np.arange(0.80, 0.99, 0.005)]
    safe = [c for c in candidates if c["wrong_answers"] == 0]
    best = max(safe, key=lambda c: (c["correct"], -c["threshold"])) if safe else None
    return {
        "pairs": len(pairs), "matching": int(labels.sum()),
        "similarity_matching": {"min": float(sims[labels].min()), "median": float(np.median(sims[labels]))},
        "similarity_other": {"max": float(sims[~labels].max()), "median": float(np.median(sims[~labels]))},
        "in_use": rates(FAQ_MATCH_THRESHOLD), "best_without_wrong_answers": best,
    }  # fmt: skip


def live_updates(search: SearchService, rounds: int) -> dict[str, object]:
    ids = sorted(search._snapshot.position)[:: max(1, len(search._snapshot.position) // rounds)][:rounds]
    encodes, edits, hides, restores = [], [], [], []
    for n, service_id in enumerate(ids):
        record = search.record(service_id)
        texts = dict(record.texts)
        base = texts.get("en") or next(iter(texts.values()))
        texts[base.language] = ServiceText(base.language, f"{base.name} (edited {n})", base.summary, base.description, base.synonyms)
        edited = replace(record, texts=texts)
        start = time.perf_counter()
        search.encode_for_publish(edited)  # the publishing process, once; others read the stored vectors
        encodes.append(time.perf_counter() - start)
        start = time.perf_counter()
        search.apply({service_id: edited})
        edits.append(time.perf_counter() - start)
        start = time.perf_counter()
        search.apply({service_id: None})
        hides.append(time.perf_counter() - start)
        start = time.perf_counter()
        search.apply({service_id: edited})
        restores.append(time.perf_counter() - start)

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"median_s": round(statistics.median(ordered), 4), "max_s": round(ordered[-1], 4)}

    return {"rounds": len(ids), "encode_at_publish": summary(encodes), "text_edit": summary(edits), "archive": summary(hides), "restore": summary(restores),
            "note": "apply only; a watcher adds its poll interval (0.5 s) and reading the change rows"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/content.json")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(state_dir=Path(state), database_url=None)
        _engine, sessions = open_store(settings)
        ensure_imported(sessions, settings)
        search, _watcher = open_live_search(sessions, settings)
        result = {
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
            "services": search.service_count,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "faq": faq_threshold(search),
            "live_index": live_updates(search, args.rounds),
        }  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
