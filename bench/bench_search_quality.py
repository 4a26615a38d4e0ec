"""Choose fusion weights and fit the off-topic gate on the development set
(bench/queries/<lang>.yml), then report every method on the shared evaluation sets in
the same run (reported only, never tuned on).

    .venv/bin/python bench/bench_search_quality.py [--write-gate] [--write-reranker]

Prints per-language recall@1/@3/@10 and MRR for dense-only, lexical-only and fused
retrieval, the chosen fusion, the gate's false rejection and off-topic rejection per
language and on CLINC out-of-scope; writes bench/results/search_quality.json and, with
--write-gate, knowledge_base/data/relevance_gate.json.

The reranker (knowledge_base/rerank.py) is gradient-boosted trees (scikit-learn's
HistGradientBoostingClassifier, exported to the product's own file format) over the features
of the fused top 30 of each dev question, accepted services as positives. Its dev number comes
from leave-situations-out cross-validation (each situation's questions are ranked by a
model fitted without any question of that situation), so it does not reward remembering
which service answers which situation; the model fitted on all of dev is then reported on
the short questions and the evaluation sets, and with --write-reranker written to
knowledge_base/data/reranker.json.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import subprocess
import sys
import tempfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store  # noqa: E402
from knowledge_base.hybrid import SHORT_WORDS, RelevanceGate, reciprocal_rank_fusion  # noqa: E402
from knowledge_base.language import SUPPORTED_LANGUAGES, detect_language  # noqa: E402
from knowledge_base.lexicon import word_count  # noqa: E402
from knowledge_base.rerank import CandidateFeatures, Reranker, Tree  # noqa: E402
from knowledge_base.search import SearchService  # noqa: E402
from knowledge_base.settings import PACKAGE_DIR, Settings  # noqa: E402

# The issue caps dev false rejection at 5 %; the thresholds aim at 4 %. A cross-validated rate
# over ~700 questions carries about ±0.8 points of sampling error, and the 5 % quantile sat on
# real questions: a refit moved it 0.824 -> 0.836 and turned away a Persian day-care question
# at 0.835 (tests/test_search.py) and twice as many turku questions (0.29 -> 0.38).
MAX_FALSE_REJECTION = 0.04
# Chosen before any grid (a depth and leaf size usual for ~20k rows); leave-situations-out CV
# over seven settings around it gave dev macro recall@3 0.874-0.889, the logistic regression
# it replaced 0.861.
RERANK_TREES = {
    "max_iter": 200, "learning_rate": 0.05, "max_depth": 4, "min_samples_leaf": 20, "l2_regularization": 1.0,
    "early_stopping": False,
}  # fmt: skip
FEATURE_NAMES = [
    "dense", "dense_gap", "log_dense_rank", "lexical_share", "log_lexical_rank", "fused", "concept_share",
    "concepts_missing", "national", "own_language", "title_gap", "foreign_dense", "foreign_lexical",
    "title_concept_share",
]  # fmt: skip
WEIGHT_GRID = [(1.0, 0.0), (0.0, 1.0), (1.0, 0.25), (1.0, 0.5), (1.0, 0.75), (1.0, 1.0), (0.75, 1.0), (0.5, 1.0)]
K_GRID = [10.0, 30.0, 60.0]


@dataclass
class Case:
    lang: str
    text: str
    accept: set[str]
    exclude: str | None = None
    situation: str | None = None
    dense: dict[int, float] | None = None
    lexical: list[tuple[int, float]] | None = None
    features: list[float] | None = None
    candidates: list[tuple[int, CandidateFeatures]] | None = None  # the fused top, reranker features


def load_dev(queries_dir: Path) -> tuple[list[Case], list[Case]]:
    in_scope, off_topic = [], []
    for lang in SUPPORTED_LANGUAGES:
        path = queries_dir / f"{lang}.yml"
        if not path.exists():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        in_scope += [Case(lang, item["text"], set(item["accept"]), situation=item.get("situation")) for item in data["in_scope"]]
        off_topic += [Case(lang, text, set()) for text in data["off_topic"]]
    return in_scope, off_topic


def load_short(queries_dir: Path) -> tuple[list[Case], list[Case]]:
    """bench/queries/short.yml: one- to five-word questions; accept lists from situations.yml."""
    path = queries_dir / "short.yml"
    if not path.exists():
        return [], []
    situations = yaml.safe_load((queries_dir / "situations.yml").read_text(encoding="utf-8"))["situations"]
    accept = {s["id"]: set(s["accept"]) for s in situations}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    in_scope = [
        Case(lang, text, accept[situation], situation=situation) for lang, items in data["in_scope"].items() for situation, text in items
    ]
    off_topic = [Case(lang, text, set()) for lang, texts in data["off_topic"].items() for text in texts]
    return in_scope, off_topic


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def load_eval(eval_dir: Path) -> dict[str, list[Case]]:
    turku = [Case(r["lang"], r["query"], set(r["matched_kb_ids"])) for r in load_jsonl(eval_dir / "eval_turku_paoh_needs.jsonl") if r["matched_kb_ids"]]
    helsinki = [Case(r["lang"], r["query"], {r["target_kb_id"]}, r["query_from"]) for r in load_jsonl(eval_dir / "eval_helsinki_to_ptv_gd.jsonl")]
    dev = [Case(r["lang"], r["query"], set(r["accept"])) for r in load_jsonl(eval_dir / "dev_multilingual.jsonl")]
    return {"turku_paoh": turku, "helsinki_to_ptv": helsinki, "dev_multilingual": dev}


def prepare(service: SearchService, cases: list[Case]) -> None:
    for case in cases:
        language = detect_language(case.text, fallback=case.lang)
        case.dense, case.lexical, case.candidates = service.candidate_features(case.text, language)
        case.features = service.gate_features(case.dense, case.lexical, language, service.standard_text(case.text, language)).vector()


def ranking(case: Case, weights: tuple[float, float], k: float) -> list[int]:
    """Fused ranking; a ranking with weight 0 is left out entirely, so "lexical only"
    ranks only what BM25 found (a zero-weight dense ranking used to fill its tail)."""
    assert case.dense is not None and case.lexical is not None
    dense_ranking = sorted(case.dense, key=lambda i: -case.dense[i])  # type: ignore[index]
    pairs = [(r, w) for r, w in zip([dense_ranking, [i for i, _ in case.lexical]], weights, strict=True) if w > 0]
    fused = reciprocal_rank_fusion([r for r, _ in pairs], [w for _, w in pairs], k)
    return sorted(fused, key=lambda i: -fused[i])


def reranked(case: Case, model: Reranker, weights: tuple[float, float], k: float) -> list[int]:
    """The fused top reordered by the reranker, the rest in fused order (as search does)."""
    assert case.candidates is not None
    scores = model.scores([f.vector() for _i, f in case.candidates])
    top = [case.candidates[n][0] for n in np.argsort(-scores, kind="stable")]
    seen = set(top)
    return top + [i for i in ranking(case, weights, k) if i not in seen]


def metrics(
    service: SearchService,
    cases: list[Case],
    weights: tuple[float, float],
    k: float,
    models: Callable[[Case], Reranker | None] = lambda _case: None,
) -> dict[str, dict[str, float]]:
    ranks: dict[str, list[int | None]] = defaultdict(list)
    for case in cases:
        model = models(case)
        order = ranking(case, weights, k) if model is None else reranked(case, model, weights, k)
        ids = [service._services[i].id for i in order]  # noqa: SLF001 - bench looks inside
        ids = [i for i in ids if i != case.exclude][:10]
        rank = next((n + 1 for n, i in enumerate(ids) if i in case.accept), None)
        ranks[case.lang].append(rank)
        ranks["all"].append(rank)
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


def macro_r3(table: dict[str, dict[str, float]]) -> float:
    langs = [lang for lang in table if lang != "all"]
    return sum(table[lang]["r@3"] for lang in langs) / len(langs)


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 3000, lr: float = 0.5, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        grad = p - y
        w -= lr * (x.T @ grad / len(y) + l2 * w)
        b -= lr * grad.mean()
    return w, b


def candidate_rows(cases: list[Case]) -> tuple[np.ndarray, np.ndarray]:
    x, y = [], []
    for case in cases:
        assert case.candidates is not None
        for i, features in case.candidates:
            x.append(features.vector())
            y.append(1.0 if i in case.accept_positions else 0.0)  # type: ignore[attr-defined]
    return np.array(x, dtype=float), np.array(y, dtype=float)


def fit_reranker(cases: list[Case]) -> Reranker:
    """Boosted trees: accepted services of the fused top against the rest."""
    x, y = candidate_rows(cases)
    classifier = HistGradientBoostingClassifier(**RERANK_TREES, random_state=0).fit(x, y)
    model = exported(classifier)
    drift = np.abs(model.scores(x) - classifier.decision_function(x)).max()
    if drift > 1e-6:
        raise RuntimeError(f"the exported trees score {drift:.2g} away from scikit-learn's")
    return model


def exported(classifier: HistGradientBoostingClassifier) -> Reranker:
    """The classifier's trees in knowledge_base/rerank.py's format. scikit-learn keeps them in
    private arrays (leaf values already shrunk by the learning rate), so fit_reranker checks
    that the export scores every row as scikit-learn does. Thresholds are kept exact: they
    can equal a feature value, and rounding them moved rows across splits."""
    trees = []
    for (predictor,) in classifier._predictors:  # noqa: SLF001 - binary: one tree per iteration
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)

        def split(field: str, at_leaf: float) -> tuple:  # the field where a node splits, `at_leaf` at leaves
            return tuple(np.where(leaf, at_leaf, nodes[field]).tolist())

        trees.append(
            Tree(
                feature=tuple(int(f) for f in split("feature_idx", -1)),
                threshold=split("num_threshold", 0.0),
                left=tuple(int(n) for n in split("left", -1)),
                right=tuple(int(n) for n in split("right", -1)),
                value=tuple(np.where(leaf, nodes["value"], 0.0).tolist()),
            )
        )
    return Reranker(float(np.ravel(classifier._baseline_prediction)[0]), tuple(trees))  # noqa: SLF001


def splits_per_feature(model: Reranker) -> dict[str, int]:
    counts = Counter(f for tree in model.trees for f in tree.feature if f >= 0)
    return {name: counts[n] for n, name in enumerate(FEATURE_NAMES)}


def cross_validated(cases: list[Case]) -> dict[int, Reranker]:
    """Leave-situations-out: for each situation, a model fitted on every other situation's
    questions; keyed by id(case)."""
    by_situation: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_situation[case.situation or case.text].append(case)
    models: dict[int, Reranker] = {}
    for situation, held_out in by_situation.items():
        model = fit_reranker([c for c in cases if (c.situation or c.text) != situation])
        models.update({id(c): model for c in held_out})
    return models


def mark_accepted(service: SearchService, cases: list[Case]) -> None:
    """Accepted ids as catalogue positions, for the reranker's labels."""
    position = {record.id: n for n, record in enumerate(service._services)}  # noqa: SLF001
    for case in cases:
        case.accept_positions = {position[i] for i in case.accept if i in position}  # type: ignore[attr-defined]


def print_table(title: str, tables: dict[str, dict[str, dict[str, float]]]) -> None:
    langs = sorted({lang for t in tables.values() for lang in t}, key=lambda k: (k == "all", k))
    print(f"\n{title}  (recall@3 / MRR)")
    print(f"{'lang':6} {'n':>4} " + " ".join(f"{m:>15}" for m in tables))
    for lang in langs:
        n = next(t[lang]["n"] for t in tables.values() if lang in t)
        cells = " ".join(f"{t[lang]['r@3']:6.3f} / {t[lang]['mrr']:5.3f}" if lang in t else " " * 15 for t in tables.values())
        print(f"{lang:6} {n:>4} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=Path, default=ROOT / "bench" / "queries")
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search_quality.json")
    parser.add_argument("--write-gate", action="store_true")
    parser.add_argument("--write-reranker", action="store_true")
    parser.add_argument("--cases", type=Path, default=None, help="pickle of prepared cases: reused when present, else written")
    args = parser.parse_args()

    settings = Settings(state_dir=Path(tempfile.mkdtemp(prefix="opastin-quality-")), relevance_gate=None, reranker=None)
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    service = build_search_service(sessions, settings)

    if args.cases and args.cases.exists():
        in_scope, off_topic, short_in, short_off, clinc, evals = pickle.loads(args.cases.read_bytes())
    else:
        in_scope, off_topic = load_dev(args.queries)
        short_in, short_off = load_short(args.queries)
        evals = load_eval(args.eval_dir)
        clinc = [Case(r["lang"], r["query"], set()) for r in load_jsonl(args.eval_dir / "eval_clinc_oos.jsonl")]
        for cases in (in_scope, off_topic, short_in, short_off, clinc, *evals.values()):
            prepare(service, cases)
        if args.cases:
            args.cases.write_bytes(pickle.dumps((in_scope, off_topic, short_in, short_off, clinc, evals)))
    for cases in (in_scope, short_in, *evals.values()):
        mark_accepted(service, cases)

    # Fusion: chosen on the dev set by macro recall@3 over languages.
    grid = {(w, k): macro_r3(metrics(service, in_scope, w, k)) for w in WEIGHT_GRID for k in K_GRID}
    (best_w, best_k), best = max(grid.items(), key=lambda item: item[1])
    print("fusion grid (macro recall@3 on dev):")
    for (w, k), value in sorted(grid.items(), key=lambda item: -item[1])[:8]:
        print(f"  dense {w[0]:.2f} lexical {w[1]:.2f} k {k:>4.0f}: {value:.3f}")
    methods = {"dense": ((1.0, 0.0), 60.0), "lexical": ((0.0, 1.0), 60.0), "fused": (best_w, best_k)}
    results: dict[str, object] = {"fusion": {"dense_weight": best_w[0], "lexical_weight": best_w[1], "k": best_k}}
    # Reranker: the product reranks its own fusion (settings), so it is fitted on that.
    product = ((service._settings.dense_weight, service._settings.lexical_weight), service._settings.fusion_k)  # noqa: SLF001
    folds = cross_validated(in_scope)
    model = fit_reranker(in_scope)
    dev_tables = {name: metrics(service, in_scope, w, k) for name, (w, k) in methods.items()}
    dev_tables["reranked"] = metrics(service, in_scope, *product, lambda case: folds[id(case)])
    print_table("dev (bench/queries; reranked: leave-situations-out cross-validation)", dev_tables)
    print(f"macro recall@3 on dev: fused {macro_r3(dev_tables['fused']):.3f}, reranked {macro_r3(dev_tables['reranked']):.3f}")
    results["dev"] = dev_tables
    results["reranker"] = {
        "depth": len(in_scope[0].candidates or []),
        "trees": RERANK_TREES,
        "dev_macro_r3_fused": macro_r3(dev_tables["fused"]),
        "dev_macro_r3_reranked_cv": macro_r3(dev_tables["reranked"]),
        "splits_per_feature": splits_per_feature(model),
    }
    if short_in:
        short_tables = {name: metrics(service, short_in, w, k) for name, (w, k) in methods.items()}
        short_tables["reranked"] = metrics(service, short_in, *product, lambda _case: model)
        print_table("dev short questions (bench/queries/short.yml; reranked: fitted on all dev)", short_tables)
        results["dev_short"] = short_tables
    for set_name, cases in evals.items():
        tables = {name: metrics(service, cases, w, k) for name, (w, k) in methods.items()}
        tables["reranked"] = metrics(service, cases, *product, lambda _case: model)
        print_table(f"eval: {set_name}", tables)
        results[set_name] = tables
    if args.write_reranker:
        out = PACKAGE_DIR / "data" / "reranker.json"
        out.write_text(
            model.to_json({"fitted_on": "bench/queries dev set", "features": "rerank.CandidateFeatures", "names": FEATURE_NAMES}),
            encoding="utf-8",
        )
        print(f"wrote {out}")

    # Gate: logistic regression on dev in-scope vs off-topic (short questions included).
    # Its thresholds are set at <= MAX_FALSE_REJECTION on cross-validated probabilities: each
    # situation's questions (and each tenth of the off-topic ones) scored by a gate fitted
    # without them. Set on the gate's own training questions, the threshold was too high
    # for questions it had not seen (eval false rejection 0.38-0.44 at 0.05 on dev).
    gate_in, gate_off = in_scope + short_in, off_topic + short_off

    def fit_gate(positives: list[Case], negatives: list[Case]) -> RelevanceGate:
        x = np.array([c.features for c in positives + negatives], dtype=float)
        y = np.array([1] * len(positives) + [0] * len(negatives), dtype=float)
        means, scales = x.mean(axis=0), x.std(axis=0) + 1e-9
        w, b = fit_logistic((x - means) / scales, y)
        return RelevanceGate(tuple(w.tolist()), float(b), tuple(means.tolist()), tuple(scales.tolist()), 0.5)

    def fold_of(case: Case, positive: bool) -> str:
        if positive:
            return "in:" + (case.situation or case.text)
        return f"off:{zlib.crc32(case.text.encode('utf-8')) % 10}"

    folds = {id(c): fold_of(c, True) for c in gate_in} | {id(c): fold_of(c, False) for c in gate_off}
    cv_probability: dict[int, float] = {}
    for fold in sorted(set(folds.values())):
        held_out = [c for c in gate_in + gate_off if folds[id(c)] == fold]
        model = fit_gate([c for c in gate_in if folds[id(c)] != fold], [c for c in gate_off if folds[id(c)] != fold])
        cv_probability.update({id(c): model.probability_of(c.features) for c in held_out})
    gate = fit_gate(gate_in, gate_off)

    def is_short(case: Case) -> bool:
        return 0 < word_count(case.text) <= SHORT_WORDS

    def quantile_threshold(cases: list[Case]) -> float:
        probs = np.array([cv_probability[id(c)] for c in cases])
        # "lower": the threshold is an observed probability, so at most MAX_FALSE_REJECTION fall below it
        return math.floor(float(np.quantile(probs, MAX_FALSE_REJECTION, method="lower")) * 1000) / 1000

    long_in = [c for c in gate_in if not is_short(c)]
    short_all = [c for c in gate_in if is_short(c)]
    gate = RelevanceGate(
        gate.weights, gate.bias, gate.means, gate.scales, quantile_threshold(long_in),
        quantile_threshold(short_all) if short_all else None,
    )

    def probability(case: Case) -> float:
        """Dev questions: cross-validated; every other question: the gate fitted on all of dev."""
        return cv_probability.get(id(case), gate.probability_of(case.features))

    def rejected(cases: list[Case]) -> dict[str, float]:
        by_lang: dict[str, list[bool]] = defaultdict(list)
        for c in cases:
            accepted = probability(c) >= gate.threshold_for(word_count(c.text))
            by_lang[c.lang].append(not accepted)
            by_lang["all"].append(not accepted)
        return {lang: sum(v) / len(v) for lang, v in sorted(by_lang.items())}

    gate_report = {
        "threshold": gate.threshold,
        "short_threshold": gate.short_threshold,
        "dev_in_scope_false_rejection": rejected(in_scope),
        "dev_off_topic_rejection": rejected(off_topic),
        "dev_short_false_rejection": rejected(short_in)["all"] if short_in else None,
        "dev_short_off_topic_rejection": rejected(short_off)["all"] if short_off else None,
        "clinc_oos_rejection": rejected(clinc)["all"],
        "eval_in_scope_false_rejection": {name: rejected(cases)["all"] for name, cases in evals.items()},
        "top_score_only_overlap": {
            "in_scope_dense_top_p05": float(np.quantile([c.features[0] for c in in_scope], 0.05)),
            "off_topic_dense_top_p95": float(np.quantile([c.features[0] for c in off_topic], 0.95)),
        },
    }
    print("\ngate:", json.dumps(gate_report, indent=1))
    results["gate"] = gate_report
    if args.write_gate:
        out = PACKAGE_DIR / "data" / "relevance_gate.json"
        out.write_text(gate.to_json({"fitted_on": "bench/queries dev set", "features": "hybrid.GateFeatures"}), encoding="utf-8")
        print(f"wrote {out}")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip() or None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"commit": commit, **results}, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
