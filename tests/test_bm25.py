"""Lexical search: the analyser's terms per language and BM25 ranking over a small
hand-made catalogue, with the real Finnish model (spaCy + libvoikko) and Snowball."""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base.bm25 import LexicalDocument, LexicalIndex, document_text, export_terms, service_documents
from knowledge_base.contracts import ServiceRecord, ServiceText
from knowledge_base.text_analysis import Analyzer

# doc_id -> {language: text}; several languages share a doc_id.
CORPUS: dict[int, dict[str, str]] = {
    1: {
        "fi": "Työttömien neuvonta. Työttömät työnhakijat saavat neuvontaa työnhakuun ja koulutukseen.",
        "en": "Advice for the unemployed. Unemployed jobseekers get advice on job search and training.",
        "sv": "Rådgivning för arbetslösa. Arbetslösa arbetssökande får råd om jobbsökning och utbildning.",
    },
    2: {
        "fi": "Päivähoito. Lapsen varhaiskasvatus päiväkodissa tai perhepäivähoidossa.",
        "en": "Day care. Early childhood education for children in a day care centre.",
        "sv": "Dagvård. Småbarnspedagogik för barn i daghem.",
    },
    3: {
        "fi": "Kelan palvelupiste. Kela neuvoo etuuksissa, kuten asumistuessa.",
        "en": "Kela service point. Kela advises on benefits such as the housing allowance.",
        "sv": "FPA:s servicekontor. FPA ger råd om förmåner, till exempel bostadsbidrag.",
    },
    4: {
        "fi": "Kirjasto. Kirjastossa voi lainata kirjoja ja käyttää tietokoneita.",
        "en": "Library. You can borrow books and use computers at the library.",
        "sv": "Bibliotek. På biblioteket kan du låna böcker och använda datorer.",
    },
    5: {
        "fi": "Omnia. Omnia järjestää aikuiskoulutusta Espoossa.",
        "en": "Omnia. Omnia arranges adult education in Espoo.",
    },
}


def corpus_docs() -> list[LexicalDocument]:
    return [LexicalDocument(doc_id, lang, text) for doc_id, texts in CORPUS.items() for lang, text in texts.items()]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


@pytest.fixture(scope="module")
def index(analyzer: Analyzer) -> LexicalIndex:
    return LexicalIndex.build(corpus_docs(), analyzer)


def top(index: LexicalIndex, query: str, language: str, k: int = 5) -> list[int]:
    return [doc_id for doc_id, _score in index.search(query, language, k)]


# -- analyser ---------------------------------------------------------------------------


def test_finnish_lemmas(analyzer: Analyzer) -> None:
    terms = analyzer.analyze("Vantaalla asuva työtön nuori haki kotoutumiskoulutukseen", "fi")
    assert terms[:6] == ["vantaa", "asua", "työtön", "nuori", "hakea", "kotoutumiskoulutus"]
    assert terms[6:] == ["kotoutuminen", "koulutus"]  # the compound's parts


def test_finnish_compounds_give_their_parts(analyzer: Analyzer) -> None:
    assert analyzer.analyze("perhepäivähoidossa", "fi") == ["perhepäivähoito", "perhe", "päivä", "hoito"]
    assert analyzer.analyze("asumistukea", "fi") == ["asumistuki", "asuminen", "tuki"]
    assert analyzer.analyze("ylioppilastutkintoon", "fi") == ["ylioppilastutkinto", "oppilas", "tutkinto"]  # "yli": stop
    assert analyzer.analyze("neuvolaan", "fi") == ["neuvola"]


def test_finnish_drops_stop_words_and_punctuation_but_keeps_acronyms(analyzer: Analyzer) -> None:
    terms = analyzer.analyze("Olen TE-toimiston asiakas, ja Kela:n päätös tuli 12.5.2024!", "fi")
    assert "te-toimisto" in terms and "te" in terms and "toimisto" in terms
    assert "kela" in terms
    assert not {"olla", "ja", ",", "!", "12.5.2024"} & set(terms)
    assert analyzer.analyze("TE palvelut", "fi")[0] == "te"  # "te" is a stop word, "TE" an acronym


def test_swedish_and_english_are_stemmed_without_stop_words(analyzer: Analyzer) -> None:
    assert analyzer.analyze("arbetslösa", "sv") == analyzer.analyze("arbetslös", "sv")
    assert analyzer.analyze("Jag och barnen", "sv") == analyzer.analyze("barn", "sv")
    assert analyzer.analyze("the unemployed", "en") == analyzer.analyze("unemployment", "en") == ["unemploy"]
    assert analyzer.analyze("houses", "en") == analyzer.analyze("housing", "en")


def test_other_languages_are_lowercased_tokens(analyzer: Analyzer) -> None:
    assert "kela" in analyzer.analyze("Где находится офис Kela? 2024", "ru")
    assert "2024" not in analyzer.analyze("Где находится офис Kela? 2024", "ru")
    # No spaCy language (so, ckb) or one whose blank pipeline needs more (vi, zh): still tokens.
    assert "kela" in analyzer.analyze("Xafiiska Kela xaggee ayuu ku yaal?", "so")
    assert "kela" in analyzer.analyze("ئۆفیسی Kela لە کوێیە؟", "ckb")
    assert "kela" in analyzer.analyze("Văn phòng Kela ở đâu?", "vi")
    assert "kela" in analyzer.analyze("我想去Kela办事", "zh")


@pytest.mark.parametrize("text", ["", "   ", "😀🙏", "?!", "...", "2024"])
def test_nothing_to_index(analyzer: Analyzer, text: str) -> None:
    for language in ("fi", "sv", "en", "ru", "zh"):
        assert analyzer.analyze(text, language) == []


def test_analyze_many_keeps_order_and_empties(analyzer: Analyzer) -> None:
    texts = ["päivähoitoon", "", "Kelan toimisto"]
    assert analyzer.analyze_many(texts, "fi") == [analyzer.analyze(t, "fi") for t in texts]
    assert analyzer.analyze_many([], "fi") == []


def test_importing_loads_no_model() -> None:
    code = (
        "import sys, knowledge_base.text_analysis, knowledge_base.bm25; "
        "knowledge_base.text_analysis.Analyzer(); "
        "sys.exit(1 if {'spacy', 'bm25s', 'Stemmer'} & set(sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0


# -- search -----------------------------------------------------------------------------


def test_finnish_inflected_queries(index: LexicalIndex) -> None:
    assert top(index, "työttömäksi jäänyt", "fi")[0] == 1
    assert top(index, "päivähoitoon", "fi")[0] == 2
    assert top(index, "Haen asumistukea Kelasta", "fi")[0] == 3
    assert top(index, "koulutusta aikuisille", "fi")[0] == 5  # "aikuiskoulutus" in doc 5


def test_swedish_and_english_queries(index: LexicalIndex) -> None:
    assert top(index, "arbetslös", "sv")[0] == 1
    assert top(index, "daghemmet", "sv")[0] == 2
    assert top(index, "unemployment", "en")[0] == 1
    assert top(index, "borrowing a book", "en")[0] == 4


def test_query_in_other_language_matches_proper_nouns(index: LexicalIndex) -> None:
    assert top(index, "Где находится офис Kela? Мне нужна помощь", "ru")[0] == 3
    assert top(index, "Kuhu minna Kelasse?", "et")[0] == 3  # "kelasse" is retried as "kela"
    assert top(index, "Haluan opiskella Omniassa", "fi")[0] == 5  # a name voikko does not know
    assert top(index, "Мне нужна помощь", "ru") == []


def test_expansion_terms_find_what_the_question_words_cannot(index: LexicalIndex) -> None:
    question = "Я остался без работы, что делать?"
    assert index.search(question, "ru", 5) == []
    found = index.search(question, "ru", 5, expansion=["työtön", "unemploy"], expansion_weight=0.6)
    assert [doc for doc, _ in found] == [1]
    assert index.search(question, "ru", 5, expansion=["työtön"], expansion_weight=0.0) == []


def test_the_questions_own_words_outweigh_expansion(index: LexicalIndex) -> None:
    """"Kela" in the question beats an added day-care word of the same rarity."""
    found = index.search("Kela", "ru", 5, expansion=["päiväkoti"], expansion_weight=0.6)
    assert [doc for doc, _ in found][:2] == [3, 2]
    own, added = found[0][1], found[1][1]
    assert added < own


def test_every_language_is_searched(index: LexicalIndex) -> None:
    assert top(index, "library", "fi")[0] == 4  # a Finnish-tagged query in English
    assert top(index, "FPA", "en")[0] == 3  # only the Swedish text says FPA


@pytest.mark.parametrize("query", ["", "   ", "😀🙏", "?!", "ja ja ja", "the of and"])
def test_empty_or_meaningless_query(index: LexicalIndex, query: str) -> None:
    for language in ("fi", "sv", "en", "ru", "ar"):
        assert index.search(query, language, 5) == []


def test_results_are_distinct_ranked_and_deterministic(analyzer: Analyzer, index: LexicalIndex) -> None:
    query = "neuvonta Kela koulutus päivähoito"
    results = index.search(query, "fi", 10)
    ids = [doc_id for doc_id, _ in results]
    scores = [score for _, score in results]
    assert len(ids) == len(set(ids)) and set(ids) <= set(CORPUS)
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert index.search(query, "fi", 2) == results[:2]
    assert index.search(query, "fi", 0) == []
    rebuilt = LexicalIndex.build(list(reversed(corpus_docs())), analyzer)
    assert rebuilt.search(query, "fi", 10) == results
    assert index.search(query, "fi", 10) == results


def test_ties_are_broken_by_doc_id(analyzer: Analyzer) -> None:
    docs = [(doc_id, "en", "library books") for doc_id in (30, 10, 20)] + [(40, "en", "swimming hall")]
    results = LexicalIndex.build(docs, analyzer).search("library", "en", 10)
    assert [doc_id for doc_id, _ in results] == [10, 20, 30]
    assert len({score for _, score in results}) == 1


def test_empty_catalogue(analyzer: Analyzer) -> None:
    assert LexicalIndex.build([], analyzer).search("Kela", "fi", 5) == []
    assert LexicalIndex.build([(1, "fi", "")], analyzer).search("Kela", "fi", 5) == []


# -- documents and the term cache -------------------------------------------------------


def test_service_documents() -> None:
    texts = {
        "fi": ServiceText("fi", "Päivähoito", "Lyhyesti.", "Pitkästi.", "hoitopaikka"),
        "ru": ServiceText("ru", "Детский сад"),
        "sv": ServiceText("sv", ""),
    }
    service = ServiceRecord(id="x:1", organisation_id="o", area_type="local", municipality_code="091", texts=texts)
    docs = service_documents([service, service])
    assert [(d.doc_id, d.language) for d in docs] == [(0, "fi"), (1, "fi")]
    assert docs[0].text == document_text(texts["fi"]) == "Päivähoito\nPäivähoito\nLyhyesti.\nhoitopaikka\nPitkästi."


class CountingAnalyzer:
    """Wraps the shared analyser (one model load per module) and records what it analysed."""

    def __init__(self, inner: Analyzer) -> None:
        self.inner = inner
        self.version = inner.version
        self.seen: list[str] = []

    def analyze(self, text: str, language: str) -> list[str]:
        return self.inner.analyze(text, language)

    def analyze_many(self, texts, language):  # type: ignore[no-untyped-def]
        texts = list(texts)
        self.seen.extend(texts)
        return self.inner.analyze_many(texts, language)


def test_term_cache_analyses_only_new_text(tmp_path: Path, analyzer: Analyzer) -> None:
    first = CountingAnalyzer(analyzer)
    built = LexicalIndex.build(corpus_docs(), first, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert len(first.seen) == len(corpus_docs())
    assert len(list(tmp_path.glob("terms-*.json.gz"))) == 1

    second = CountingAnalyzer(analyzer)
    changed = corpus_docs() + [LexicalDocument(6, "en", "Swimming hall. Swim in the public pool.")]
    again = LexicalIndex.build(changed, second, cache_dir=tmp_path)
    assert second.seen == ["Swimming hall. Swim in the public pool."]
    assert top(again, "swimming", "en") == [6]
    uncached = LexicalIndex.build(changed, analyzer)
    assert again.search("Kela neuvonta", "fi", 5) == uncached.search("Kela neuvonta", "fi", 5)
    assert top(built, "Kela neuvonta", "fi") == top(again, "Kela neuvonta", "fi")


def test_corrupt_term_cache_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture, analyzer: Analyzer) -> None:
    LexicalIndex.build(corpus_docs(), analyzer, cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("terms-*.json.gz")
    cache_file.write_bytes(b"not gzip at all")
    counting = CountingAnalyzer(analyzer)
    with caplog.at_level(logging.WARNING, logger="knowledge_base.bm25"):
        rebuilt = LexicalIndex.build(corpus_docs(), counting, cache_dir=tmp_path)
    assert "unreadable" in caplog.text
    assert len(counting.seen) == len(corpus_docs())
    assert top(rebuilt, "päivähoitoon", "fi")[0] == 2
    with gzip.open(cache_file, "rt", encoding="utf-8") as handle:
        assert handle.read(1) == "{"


def test_shipped_terms_need_no_analysis(tmp_path: Path, analyzer: Analyzer) -> None:
    shipped = tmp_path / "shipped" / "terms.json.gz"
    assert export_terms(corpus_docs(), analyzer, shipped) == len(corpus_docs())
    counting = CountingAnalyzer(analyzer)
    index = LexicalIndex.build(corpus_docs(), counting, cache_dir=tmp_path / "local", shipped_terms=shipped)  # type: ignore[arg-type]
    assert counting.seen == []
    assert not (tmp_path / "local").exists()  # nothing new to cache
    assert top(index, "päivähoitoon", "fi")[0] == 2
