"""Spoken Finnish → standard Finnish (knowledge_base/colloquial.py), judged by the real libvoikko."""

from __future__ import annotations

import re

import pytest

from knowledge_base.colloquial import ColloquialFinnish
from knowledge_base.search import SearchService
from knowledge_base.text_analysis import Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="module")
def colloquial() -> ColloquialFinnish:
    return ColloquialFinnish.load()


@pytest.mark.parametrize(
    ("spoken", "standard"),
    [
        ("oon 16 ja haluisin kesäks töitä", "olen 16 ja haluaisin kesäksi töitä"),
        ("pitäis saada ilmaseks", "pitäisi saada ilmaiseksi"),
        ("mä en tiiä mitä tehä", "minä en tiedä mitä tehdä"),
        ("ei oo saanu paikkaa", "ei ole saanut paikkaa"),
        ("amiksessa ekaa vuotta", "ammattikoulu ensimmäistä vuotta"),
        ("Kelast ei oo tullu mitään", "Kelasta ei ole tullut mitään"),
    ],
)
def test_spoken_forms_become_standard(colloquial: ColloquialFinnish, analyzer: Analyzer, spoken: str, standard: str) -> None:
    assert colloquial.standard(spoken, analyzer.is_finnish_word) == standard


def test_standard_finnish_and_unknown_words_are_left_alone(colloquial: ColloquialFinnish, analyzer: Analyzer) -> None:
    text = "Jäin työttömäksi, mistä saan apua? Asun Vantaalla, Omnia ja qwzx."
    assert colloquial.standard(text, analyzer.is_finnish_word) == text


def test_the_lemmatizer_then_meets_the_catalogue_words(colloquial: ColloquialFinnish, analyzer: Analyzer) -> None:
    spoken = "haluisin kesäks töitä"
    assert "kesä" not in analyzer.analyze(spoken, "fi")
    assert "kesä" in analyzer.analyze(colloquial.standard(spoken, analyzer.is_finnish_word), "fi")


def test_every_rule_is_a_valid_pattern_and_no_word_maps_to_itself(colloquial: ColloquialFinnish) -> None:
    assert all(isinstance(pattern, re.Pattern) for pattern, _ in colloquial.endings)
    assert [word for word, standard in colloquial.words.items() if word == standard.lower()] == []


def test_search_reads_spoken_finnish_only_in_finnish(search_service: SearchService) -> None:
    assert search_service.standard_text("oon työtön", "fi") == "olen työtön"
    assert search_service.standard_text("oon työtön", "et") == "oon työtön"
