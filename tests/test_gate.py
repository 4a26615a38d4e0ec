"""The off-topic gate: its own threshold for short questions, a stale gate file refused
clearly, and the shipped gate on short questions written for this test (the real
search over the bundled catalogue)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.contracts import Query
from knowledge_base.hybrid import SHORT_WORDS, GateFeatures, RelevanceGate
from knowledge_base.search import SearchService

FEATURES = GateFeatures(0.85, 0.05, 5.0, 10, 0.4, True, words=3, concepts=1)
N = len(FEATURES.vector())


def gate(threshold: float, short_threshold: float | None) -> RelevanceGate:
    return RelevanceGate((0.0,) * N, 0.0, (0.0,) * N, (1.0,) * N, threshold, short_threshold)  # p = 0.5 always


def test_short_questions_use_their_own_threshold() -> None:
    assert not gate(0.6, 0.4).accepts(GateFeatures(0.85, 0.05, 5.0, 10, 0.4, True, words=SHORT_WORDS + 1))
    assert gate(0.6, 0.4).accepts(GateFeatures(0.85, 0.05, 5.0, 10, 0.4, True, words=SHORT_WORDS))
    assert not gate(0.6, None).accepts(FEATURES)  # no short threshold: the main one


def test_gate_file_round_trip_and_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(gate(0.6, 0.4).to_json(), encoding="utf-8")
    assert RelevanceGate.load(path) == gate(0.6, 0.4)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["weights"] = data["weights"][:-2]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="refit"):
        RelevanceGate.load(path)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("päiväkotipaikka", "fi"), ("velkaneuvontaa", "fi"), ("dagvård för barn", "sv"), ("need a dentist", "en")],
)
def test_short_service_questions_pass_the_shipped_gate(search_service: SearchService, text: str, lang: str) -> None:
    assert search_service.search(Query(text, lang)).results


# Sports chatter, not the one word "jalkapallo": the catalogue has an indoor football field
# (hel-tpr:9962), and that word now sits on the gate's threshold (0.228 against 0.227).
@pytest.mark.parametrize(("text", "lang"), [("moi moi", "fi"), ("kuka voitti pelin eilen", "fi"), ("what time is it", "en")])
def test_short_chatter_is_rejected(search_service: SearchService, text: str, lang: str) -> None:
    assert search_service.search(Query(text, lang)).results == []
