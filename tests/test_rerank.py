"""The reranker of the fused top: its file, its features, and that search really follows it
(the real search over the bundled catalogue; questions written for these tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.contracts import Query
from knowledge_base.rerank import FEATURE_COUNT, RERANK_DEPTH, CandidateFeatures, Reranker, Tree
from knowledge_base.search import SearchService
from knowledge_base.settings import PACKAGE_DIR, Settings

NATIONAL = 8  # position of `national` in CandidateFeatures.vector()
UNEMPLOYED_COUNSELLING = "ptv-gd:b9f2d9b4-9907-4787-9c2c-51a859a34550"
QUESTION = "jäin työttömäksi ja tarvitsen neuvoa mitä nyt pitää tehdä"


def only(position: int, weight: float) -> Reranker:
    """One tree with one split: `weight` added where the feature is above 0.5."""
    return Reranker(0.0, (Tree(feature=(position, -1, -1), threshold=(0.5, 0.0, 0.0), left=(1, -1, -1), right=(2, -1, -1), value=(0.0, 0.0, weight)),))


def walked(model: Reranker, vector: list[float]) -> float:
    """The score by following each tree node by node, as its file describes it."""
    total = model.baseline
    for tree in model.trees:
        node = 0
        while tree.feature[node] >= 0:
            node = tree.left[node] if vector[tree.feature[node]] <= tree.threshold[node] else tree.right[node]
        total += tree.value[node]
    return total


def test_reranker_file_round_trip_and_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "reranker.json"
    path.write_text(only(NATIONAL, 1.0).to_json(), encoding="utf-8")
    assert Reranker.load(path).trees == only(NATIONAL, 1.0).trees
    data = json.loads(path.read_text(encoding="utf-8"))
    data["feature_count"] = FEATURE_COUNT - 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="refit"):
        Reranker.load(path)


def test_shipped_reranker_scores_every_candidate_as_its_trees_say(search_service: SearchService) -> None:
    shipped = Reranker.load(PACKAGE_DIR / "data" / "reranker.json")
    assert len(shipped.trees) >= 50
    assert all(0 <= f < FEATURE_COUNT for tree in shipped.trees for f in tree.feature if f >= 0)
    _dense, _lexical, candidates = search_service.candidate_features(QUESTION, "fi")
    vectors = [f.vector() for _i, f in candidates]
    scores = shipped.scores(vectors)
    assert len(set(scores.round(6).tolist())) > len(vectors) // 2  # the trees tell candidates apart
    assert scores == pytest.approx([walked(shipped, v) for v in vectors], abs=1e-9)
    probabilities = shipped.probabilities([f for _i, f in candidates])
    assert all(0.0 < p < 1.0 for p in probabilities)
    assert shipped.probabilities([]) == []


def test_empty_setting_turns_the_reranker_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPASTIN_RERANKER", "")
    assert Settings().reranker is None


def test_features_describe_the_candidates(search_service: SearchService) -> None:
    dense, lexical, candidates = search_service.candidate_features(QUESTION, "fi")
    assert 0 < len(candidates) <= RERANK_DEPTH
    by_id = {search_service._services[i].id: f for i, f in candidates}  # noqa: SLF001
    assert by_id[UNEMPLOYED_COUNSELLING].concept_share == 1.0  # names unemployment, as the question does
    assert by_id[UNEMPLOYED_COUNSELLING].national
    best_dense = min(candidates, key=lambda c: c[1].dense_rank)[1]
    assert best_dense.dense_rank == 1 and best_dense.dense_gap == 0.0 and best_dense.dense == max(dense.values())
    best_lexical = min(candidates, key=lambda c: c[1].lexical_rank)[1]
    assert best_lexical.lexical_rank == 1 and best_lexical.lexical_share == 1.0 and lexical
    assert all(f.own_language == ("fi" in search_service._services[i].texts) for i, f in candidates)  # noqa: SLF001


def test_features_of_a_question_in_a_language_the_catalogue_lacks(search_service: SearchService) -> None:
    _dense, _lexical, candidates = search_service.candidate_features("я потерял работу, что делать?", "ru")
    assert candidates and not any(f.catalogue_language or f.own_language for _i, f in candidates)


@pytest.mark.parametrize(("weight", "prefix"), [(5.0, "ptv-gd:"), (-5.0, "hel-tpr:")])
def test_search_follows_the_reranker(
    search_service: SearchService, monkeypatch: pytest.MonkeyPatch, weight: float, prefix: str
) -> None:
    monkeypatch.setattr(search_service, "_reranker", None)
    fused = search_service.ranked_ids(QUESTION, "fi", depth=60)
    monkeypatch.setattr(search_service, "_reranker", only(NATIONAL, weight))
    reranked = search_service.ranked_ids(QUESTION, "fi", depth=60)
    assert all(i.startswith(prefix) for i in reranked[:3])
    assert reranked[:3] != fused[:3]
    # the fused top is reordered, never replaced; below it the fused order stays
    assert set(reranked[:RERANK_DEPTH]) == set(fused[:RERANK_DEPTH])
    assert reranked[RERANK_DEPTH:] == fused[RERANK_DEPTH:]
    hits = search_service.search(Query(QUESTION, "fi", top_k=5)).results
    assert [h.id for h in hits] == reranked[:5]
    assert all(0.0 < h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_candidate_features_vector_length() -> None:
    features = CandidateFeatures(0.9, 0.0, 1, 1.0, 1, 1.0, 1.0, 1, True, True, 0.0, True)
    assert len(features.vector()) == FEATURE_COUNT
