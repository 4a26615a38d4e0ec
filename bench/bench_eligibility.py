"""Measure knowledge_base.eligibility against the hand labels.

Run from anywhere: `python bench/bench_eligibility.py`. Prints precision and
recall of "has an age range", exact-match accuracy of (age_min, age_max) where
both the label and the extractor have a range, every mismatch, and the same
for the optional immigrant and employment labels. Writes
bench/results/eligibility.json. A record, not a test: tests/test_eligibility.py
holds the thresholds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, the repo root is not on sys.path
    sys.path.insert(0, str(ROOT))

from knowledge_base.eligibility import Eligibility, extract_eligibility

LABELS = ROOT / "bench" / "eligibility_labels.yml"
CATALOGUE = (
    ROOT / "knowledge_base" / "data" / "kb_helsinki_tpr_services.jsonl",
    ROOT / "knowledge_base" / "data" / "kb_ptv_general_descriptions.jsonl",
)
RESULTS = ROOT / "bench" / "results" / "eligibility.json"


@dataclass(frozen=True)
class AgeScores:
    n: int
    precision: float
    recall: float
    exact: float
    mismatches: list[tuple[str, tuple[int | None, int | None] | None, tuple[int | None, int | None] | None]]


def load_catalogue(paths: Iterable[Path] = CATALOGUE) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    records[record["id"]] = record
    return records


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return list(yaml.safe_load(f))


def _age(min_: int | None, max_: int | None) -> tuple[int | None, int | None] | None:
    return None if min_ is None and max_ is None else (min_, max_)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def score_ages(labels: list[dict[str, Any]], predicted: Mapping[str, Eligibility]) -> AgeScores:
    tp = fp = fn = exact = 0
    mismatches = []
    for label in labels:
        gold = _age(label.get("age_min"), label.get("age_max"))
        got = predicted[label["id"]]
        pred = _age(got.age_min, got.age_max)
        if gold and pred:
            tp += 1
            exact += gold == pred
        elif pred:
            fp += 1
        elif gold:
            fn += 1
        if gold != pred:
            mismatches.append((label["id"], gold, pred))
    return AgeScores(
        n=len(labels),
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        exact=_ratio(exact, tp),
        mismatches=mismatches,
    )


def score_flags(pairs: Iterable[tuple[bool, bool]]) -> tuple[int, float, float]:
    """(n, precision, recall) of boolean predictions given (gold, predicted)."""
    pairs = list(pairs)
    tp = sum(g and p for g, p in pairs)
    fp = sum(p and not g for g, p in pairs)
    fn = sum(g and not p for g, p in pairs)
    return len(pairs), _ratio(tp, tp + fp), _ratio(tp, tp + fn)


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _name(record: Mapping[str, Any]) -> str:
    names = record.get("names") or {}
    return str(names.get("fi") or names.get("en") or "")


def _fmt(age: tuple[int | None, int | None] | None) -> str:
    return "-" if age is None else f"{age[0] if age[0] is not None else ''}..{age[1] if age[1] is not None else ''}"


def main() -> int:
    catalogue = load_catalogue()
    labels = load_labels()
    missing = [label["id"] for label in labels if label["id"] not in catalogue]
    if missing:
        print(f"labels name unknown ids: {missing}", file=sys.stderr)
        return 1
    predicted = {label["id"]: extract_eligibility(catalogue[label["id"]]) for label in labels}
    ages = score_ages(labels, predicted)

    print(f"age range   n={ages.n}  precision={ages.precision:.3f}  recall={ages.recall:.3f}  exact={ages.exact:.3f}")
    names = {rid: _name(record) for rid, record in catalogue.items()}
    if ages.mismatches:
        print(f"\n{'id':48} {'label':>8} {'got':>8}  name")
        for rid, gold, pred in ages.mismatches:
            print(f"{rid:48} {_fmt(gold):>8} {_fmt(pred):>8}  {names[rid][:50]}")

    immigrant_pairs = [(bool(lb["immigrants"]), predicted[lb["id"]].immigrants) for lb in labels if "immigrants" in lb]
    n, p, r = score_flags(immigrant_pairs)
    print(f"\nimmigrants  n={n}  precision={p:.3f}  recall={r:.3f}")
    for label in labels:
        if "immigrants" in label and bool(label["immigrants"]) != predicted[label["id"]].immigrants:
            rid = label["id"]
            print(f"  {rid:46} label={label['immigrants']!s:5} got={predicted[rid].immigrants!s:5} {names[rid][:50]}")

    employment = [lb for lb in labels if "employment" in lb]
    status_pairs = [
        (status in (lb["employment"] or []), status in predicted[lb["id"]].employment_statuses)
        for lb in employment
        for status in ("unemployed", "employed", "student", "retired", "entrepreneur")
    ]
    _, p, r = score_flags(status_pairs)
    print(f"\nemployment  n={len(employment)} records  precision={p:.3f}  recall={r:.3f} (per status)")
    for label in employment:
        wanted = tuple(sorted(label["employment"] or []))
        found = predicted[label["id"]].employment_statuses
        if wanted != found:
            print(f"  {label['id']:46} label={list(wanted)} got={list(found)} {names[label['id']][:40]}")

    everything = [extract_eligibility(record) for record in catalogue.values()]
    with_age = sum(e.age_min is not None or e.age_max is not None for e in everything)
    print(
        f"\ncatalogue   {len(everything)} records: {with_age} with an age range, "
        f"{sum(e.immigrants for e in everything)} for immigrants, "
        f"{sum(bool(e.employment_statuses) for e in everything)} with employment statuses"
    )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "commit": _commit(),
        "n": ages.n,
        "precision": round(ages.precision, 4),
        "recall": round(ages.recall, 4),
        "exact": round(ages.exact, 4),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
