"""Every development question the product's search misses at rank 3, to categorise by hand.

    .venv/bin/python bench/search_failures.py [--top 5] [--lang fi]

For each miss: language, situation, question, the accepted ids with names, the top results
with names (marked * when accepted), and the rank of the first accepted service (None:
not in the top 30). Ranks come from `SearchService.ranked_ids`, the product's own order
(fusion and, when shipped, the reranker), without filters or the off-topic gate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store  # noqa: E402
from knowledge_base.language import SUPPORTED_LANGUAGES, detect_language  # noqa: E402
from knowledge_base.search import SearchService  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402

DEPTH = 30


def dev_questions(queries_dir: Path) -> list[dict]:
    out = []
    for lang in SUPPORTED_LANGUAGES:
        path = queries_dir / f"{lang}.yml"
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            out += [{"lang": lang, **item} for item in data["in_scope"]]
    return out


def name_of(service: SearchService, service_id: str) -> str:
    texts = service.record(service_id).texts
    for lang in ("en", "fi", "sv"):
        if lang in texts and texts[lang].name:
            return texts[lang].name
    return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--lang", default=None)
    args = parser.parse_args()

    settings = Settings(state_dir=Path(tempfile.mkdtemp(prefix="opastin-failures-")), relevance_gate=None)
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    service = build_search_service(sessions, settings)

    buckets: Counter[str] = Counter()
    per_lang: Counter[str] = Counter()
    questions = [q for q in dev_questions(args.queries) if args.lang in (None, q["lang"])]
    for q in questions:
        language = detect_language(q["text"], fallback=q["lang"])
        ids = service.ranked_ids(q["text"], language, DEPTH)
        accept = set(q["accept"])
        rank = next((n + 1 for n, i in enumerate(ids) if i in accept), None)
        if rank is not None and rank <= 3:
            continue
        bucket = "rank 4-10" if rank is not None and rank <= 10 else f"rank 11-{DEPTH}" if rank else "not found"
        buckets[bucket] += 1
        per_lang[q["lang"]] += 1
        print(f"\n[{q['lang']}] {q.get('situation')}  first accepted at {rank}  ({bucket})")
        print(f"  Q: {q['text']}")
        for i in q["accept"]:
            print(f"    accept {i:50} {name_of(service, i)}")
        for n, i in enumerate(ids[: args.top], start=1):
            mark = "*" if i in accept else " "
            print(f"   {mark}top{n} {i:50} {name_of(service, i)}")
    print(f"\nmisses at @3: {sum(buckets.values())} of {len(questions)}: {dict(buckets)}")
    print("per language:", dict(sorted(per_lang.items())))


if __name__ == "__main__":
    main()
