"""Language-identification benchmark for knowledge_base.language.detect_language.

Reads bench/queries/langid.yml and writes bench/results/language.json. Reports:
- long (>= 4 words) messages without a fallback (the number that matters) and with
  a wrong fallback (how often a low-confidence guess hands over to the UI language);
- short (1-3 words) messages without a fallback, with the right fallback (the UI
  language is the message's language) and with a wrong one ("en" or "fi");
- accuracy by word count on word prefixes of the long messages, and by confidence,
  which is what SHORT_MAX_WORDS and MIN_CONFIDENCE were chosen from.

Run: /tmp/v311/bin/python bench/bench_language.py
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_base.language import SUPPORTED_LANGUAGES, analyse, detect_language

QUERIES = ROOT / "bench" / "queries" / "langid.yml"
RESULTS = ROOT / "bench" / "results" / "language.json"


def _accuracy(pairs: list[tuple[str, str]]) -> float:
    return round(sum(1 for gold, got in pairs if gold == got) / len(pairs), 4) if pairs else 0.0


def main() -> None:
    queries: dict[str, dict[str, list[str]]] = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    missing = set(SUPPORTED_LANGUAGES) - set(queries)
    if missing:
        raise SystemExit(f"no queries for {sorted(missing)}")

    started = time.perf_counter()
    detect_language("warm up the model")
    load_seconds = time.perf_counter() - started

    per_language: dict[str, dict[str, object]] = {}
    all_long: list[tuple[str, str]] = []
    all_long_wrong: list[tuple[str, str]] = []
    all_short: dict[str, list[tuple[str, str]]] = defaultdict(list)
    errors: list[dict[str, str]] = []
    started = time.perf_counter()
    calls = 0
    for lang in SUPPORTED_LANGUAGES:
        wrong_fallback = "fi" if lang == "en" else "en"
        long_pairs = [(lang, detect_language(t)) for t in queries[lang]["long"]]
        long_wrong = [(lang, detect_language(t, fallback=wrong_fallback)) for t in queries[lang]["long"]]
        all_long_wrong += long_wrong
        calls += 2 * len(long_pairs)
        short = queries[lang]["short"]
        short_runs = {
            "none": [(lang, detect_language(t)) for t in short],
            "right": [(lang, detect_language(t, fallback=lang)) for t in short],
            "wrong": [(lang, detect_language(t, fallback=wrong_fallback)) for t in short],
        }
        calls += 3 * len(short)
        for text, (_, got) in zip(queries[lang]["long"], long_pairs):
            if got != lang:
                errors.append({"language": lang, "kind": "long", "got": got, "text": text})
        for text, (_, got) in zip(short, short_runs["none"]):
            if got != lang:
                errors.append({"language": lang, "kind": "short", "got": got, "text": text})
        all_long += long_pairs
        for name, pairs in short_runs.items():
            all_short[name] += pairs
        per_language[lang] = {
            "long_n": len(long_pairs),
            "long_accuracy": _accuracy(long_pairs),
            "long_accuracy_wrong_fallback": _accuracy(long_wrong),
            "short_n": len(short),
            "short_accuracy_no_fallback": _accuracy(short_runs["none"]),
            "short_accuracy_right_fallback": _accuracy(short_runs["right"]),
            "short_accuracy_wrong_fallback": _accuracy(short_runs["wrong"]),
        }
    per_call_ms = (time.perf_counter() - started) / calls * 1000

    # Word prefixes of the long messages, scored on the raw guess (no fallback, no
    # short-text rule): how many words does py3langid need?
    by_words: dict[int, list[tuple[str, str]]] = defaultdict(list)
    confidence_bins: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for lang in SUPPORTED_LANGUAGES:
        for text in queries[lang]["long"]:
            words = text.split()
            if lang == "zh":
                continue  # no spaces; decided by script
            for n in range(1, min(len(words), 6) + 1):
                detection = analyse(" ".join(words[:n]))
                if detection.language is None:
                    continue
                by_words[n].append((lang, detection.language))
                if not detection.decisive:
                    low = min(int(detection.confidence * 10), 9) / 10
                    confidence_bins[f"{low:.1f}-{low + 0.1:.1f}"].append((lang, detection.language))

    results = {
        "languages": per_language,
        "overall": {
            "long_n": len(all_long),
            "long_accuracy": _accuracy(all_long),
            "long_accuracy_wrong_fallback": _accuracy(all_long_wrong),
            "short_n": len(all_short["none"]),
            "short_accuracy_no_fallback": _accuracy(all_short["none"]),
            "short_accuracy_right_fallback": _accuracy(all_short["right"]),
            "short_accuracy_wrong_fallback": _accuracy(all_short["wrong"]),
        },
        "prefix_accuracy_by_words": {
            str(n): {"n": len(p), "accuracy": _accuracy(p)} for n, p in sorted(by_words.items())
        },
        "prefix_accuracy_by_confidence": {
            k: {"n": len(p), "accuracy": _accuracy(p)} for k, p in sorted(confidence_bins.items())
        },
        "errors": errors,
        "model_load_seconds": round(load_seconds, 2),
        "ms_per_call": round(per_call_ms, 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    print(f"{'lang':5} {'long':>6} {'+wrong':>7} {'short':>6} {'+right':>7} {'+wrong':>7}")
    for lang, row in per_language.items():
        print(
            f"{lang:5} {row['long_accuracy']:6.2f} {row['long_accuracy_wrong_fallback']:7.2f}"
            f" {row['short_accuracy_no_fallback']:6.2f}"
            f" {row['short_accuracy_right_fallback']:7.2f} {row['short_accuracy_wrong_fallback']:7.2f}"
        )
    o = results["overall"]
    print(
        f"{'all':5} {o['long_accuracy']:6.3f} {o['long_accuracy_wrong_fallback']:7.3f}"
        f" {o['short_accuracy_no_fallback']:6.3f}"
        f" {o['short_accuracy_right_fallback']:7.3f} {o['short_accuracy_wrong_fallback']:7.3f}"
        f"   (long n={o['long_n']}, short n={o['short_n']})"
    )
    print("raw guess by word count:", {k: v["accuracy"] for k, v in results["prefix_accuracy_by_words"].items()})
    print(
        "raw guess by confidence:",
        {k: (v["n"], v["accuracy"]) for k, v in results["prefix_accuracy_by_confidence"].items()},
    )
    for e in errors:
        print(f"  wrong {e['language']}->{e['got']} ({e['kind']}): {e['text']}")
    print(f"model load {load_seconds:.2f}s, {per_call_ms:.2f} ms/call -> {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
