"""The README's search-quality tables, as Markdown, from bench/results/search_quality.json.

    .venv/bin/python bench/search_tables.py [--results bench/results/search_quality.json]

One table per question set (dev, short dev questions, each evaluation set); each cell is
recall@1 / recall@3 / recall@10 / MRR of one method in one language.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "dev": "Development set (bench/queries):",
    "dev_short": "Short development questions (bench/queries/short.yml):",
    "turku_paoh": "Evaluation, reported only: `../shared/eval/eval_turku_paoh_needs.jsonl`:",
    "helsinki_to_ptv": "`eval_helsinki_to_ptv_gd.jsonl` (a Helsinki service's text → its national description):",
    "dev_multilingual": "`dev_multilingual.jsonl`:",
}
METHODS = ("dense", "lexical", "fused", "reranked")


def table(tables: dict[str, dict[str, dict[str, float]]]) -> str:
    langs = sorted(tables["fused"], key=lambda lang: (lang == "all", lang))
    lines = ["| lang | n | " + " | ".join(METHODS) + " |", "|---|---|" + "---|" * len(METHODS)]
    for lang in langs:
        cells = [
            " / ".join(f"{tables[m][lang][k]:.2f}" for k in ("r@1", "r@3", "r@10", "mrr")) for m in METHODS
        ]
        lines.append(f"| {lang} | {int(tables['fused'][lang]['n'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "search_quality.json")
    results = json.loads(parser.parse_args().results.read_text(encoding="utf-8"))
    print("\n\n".join(f"{title}\n\n{table(results[name])}" for name, title in SETS.items() if name in results))


if __name__ == "__main__":
    main()
