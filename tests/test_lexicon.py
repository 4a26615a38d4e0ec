"""The domain lexicon: matching rules on hand-made text, the shipped data file's
coverage, and the BM25 terms it adds (real Finnish model and Snowball)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge_base.language import CATALOGUE_LANGUAGES, SUPPORTED_LANGUAGES
from knowledge_base.lexicon import DEFAULT_PATH, SHARED_LANGUAGES, QueryLexicon, load_lexicon, word_count
from knowledge_base.settings import Settings
from knowledge_base.text_analysis import Analyzer

SMALL = """
concepts:
  unemployment:
    catalogue: {fi: työtön työttömyys, en: unemployed}
    query:
      ru: [безработ, потерял работу]
      ar: [عاطل, بطالة]
      zh: [失业]
      es: [paro=]
  housing:
    catalogue: {fi: asunto, en: housing}
    query:
      fa: [خانه, کرایه]
      en: [apartment]
      fr: [logement]
  school:
    catalogue: {fi: koulu, en: school}
    query:
      fr: [école]
      so: [aan=]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> QueryLexicon:
    path: Path = tmp_path_factory.mktemp("lexicon") / "lexicon.yml"
    path.write_text(SMALL, encoding="utf-8")
    return QueryLexicon.load(path)


def names(lexicon: QueryLexicon, text: str, *languages: str) -> list[str]:
    return [c.name for c in lexicon.concepts_in(text, languages)]


def test_a_stem_matches_inflected_words_at_their_start(small: QueryLexicon) -> None:
    assert names(small, "Я безработный уже месяц", "ru") == ["unemployment"]
    assert names(small, "Безработица растёт", "ru") == ["unemployment"]
    assert names(small, "небезработный", "ru") == []  # not at a word's start


def test_phrases_match_across_spaces_and_case(small: QueryLexicon) -> None:
    assert names(small, "Вчера я ПОТЕРЯЛ   работу", "ru") == ["unemployment"]


def test_whole_word_terms(small: QueryLexicon) -> None:
    assert names(small, "estoy en paro desde enero", "es") == ["unemployment"]
    assert names(small, "una parodia", "es") == []


def test_arabic_clitics_and_keyboard_variants(small: QueryLexicon) -> None:
    assert names(small, "أنا عاطل عن العمل", "ar") == ["unemployment"]
    assert names(small, "مشكلة البطالة", "ar") == ["unemployment"]  # article
    assert names(small, "وبالبطالة", "ar") == ["unemployment"]  # and + with + the
    assert names(small, "دنبال خانه\u200cای هستم", "fa") == ["housing"]  # zero-width non-joiner
    assert names(small, "كرايه", "fa") == ["housing"]  # Arabic kaf and yeh for the Persian letters


def test_a_word_starts_after_an_elided_article_but_not_inside_a_word(small: QueryLexicon) -> None:
    assert names(small, "Comment on l'inscrit à l'école ?", "fr") == ["school"]
    assert names(small, "D'ÉCOLE", "fr") == ["school"]
    assert names(small, "qu’un logement", "fr") == ["housing"]  # typographic apostrophe
    assert names(small, "shaqo la'aan", "so") == []  # Somali: the apostrophe is inside the word


def test_turkish_dotted_capital_i_matches_a_plain_i(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yml"
    path.write_text("concepts:\n  job_search:\n    catalogue: {fi: työnhaku}\n    query:\n      tr: [iş=]\n", encoding="utf-8")
    lexicon = QueryLexicon.load(path)
    assert names(lexicon, "İş arıyorum", "tr") == ["job_search"]  # "İ".lower() is "i" + a combining dot
    assert names(lexicon, "İŞ", "tr") == ["job_search"]


def test_chinese_matches_anywhere(small: QueryLexicon) -> None:
    assert names(small, "我上个月失业了", "zh") == ["unemployment"]


def test_only_the_given_languages_are_looked_up(small: QueryLexicon) -> None:
    assert names(small, "apartment", "ru") == []
    assert names(small, "apartment", "ru", "en") == ["housing"]
    assert names(small, "nothing here", "en") == []


def test_expansion_gives_catalogue_index_terms(small: QueryLexicon) -> None:
    analyzer = Analyzer()
    terms = small.expansion(small.concepts_in("потерял работу, ищу apartment", ("ru", *SHARED_LANGUAGES)), analyzer.analyze)
    # Finnish lemmas and English stems, as the catalogue's indexes hold them
    assert {"työtön", "työttömyys", "unemploy", "asunto", "hous"} <= set(terms)
    assert len(terms) == len(set(terms))
    assert small.expansion(small.concepts_in("привет", ("ru", *SHARED_LANGUAGES)), analyzer.analyze) == []


def test_shipped_lexicon_covers_every_language() -> None:
    """Every concept names the catalogue's words in fi, sv and en, and has question words in
    every supported language: a new language or concept must be filled in everywhere."""
    lexicon = load_lexicon(DEFAULT_PATH)
    assert len(lexicon.concepts) >= 30
    for concept in lexicon.concepts:
        assert set(concept.catalogue) == set(CATALOGUE_LANGUAGES), concept.name
    assert set(lexicon.languages) == set(SUPPORTED_LANGUAGES)
    for language in SUPPORTED_LANGUAGES:
        covered = {c.name for c in lexicon.concepts if lexicon.has_terms(c.name, language)}
        assert covered == {c.name for c in lexicon.concepts}, (language, {c.name for c in lexicon.concepts} - covered)


def test_an_empty_setting_turns_the_lexicon_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPASTIN_QUERY_LEXICON", "")
    assert Settings().query_lexicon is None
    monkeypatch.delenv("OPASTIN_QUERY_LEXICON")
    assert Settings().query_lexicon == DEFAULT_PATH


def test_word_count_counts_chinese_by_pairs_of_characters() -> None:
    assert word_count("lost my job") == 3
    assert word_count("TE-toimisto apua") == 3
    assert word_count("我上个月失业了") == 4
    assert word_count("") == 0


def test_arabic_short_vowels_do_not_hide_a_word_and_daycare_is_not_custody() -> None:
    """Tanween and short vowels ("مكاناً") are folded away like the other spelling variants;
    حضانة is day care when a place for a child is asked, custody after a divorce."""
    lexicon = load_lexicon(DEFAULT_PATH)
    assert "early_childhood_education" in names(lexicon, "أحتاج مكاناً في الحضانة لطفلي الصغير", "ar")
    assert "early_childhood_education" in names(lexicon, "بدي سجل ابني بالحضانة", "ar")
    custody = names(lexicon, "من يحصل على حضانة الأطفال بعد الطلاق؟", "ar")
    assert "early_childhood_education" not in custody and "divorce_and_separation" in custody


def _sentence_cases() -> list[tuple[str, str, bool, str, str]]:
    data = yaml.safe_load((Path(__file__).parent / "data" / "lexicon_sentences.yml").read_text(encoding="utf-8"))
    return [
        (lookup, concept, expected == "fires", language, text)
        for lookup, concepts in data.items()
        for concept, sentences in concepts.items()
        for expected in ("fires", "silent")
        for language, text in sentences.get(expected, [])
    ]


@pytest.mark.parametrize(("lookup", "concept", "fires", "language", "text"), _sentence_cases())
def test_the_shipped_lexicon_on_written_sentences(lookup: str, concept: str, fires: bool, language: str, text: str) -> None:
    """tests/data/lexicon_sentences.yml: a concept fires on the sentences naming its need, and not
    on those where its words are the setting ("our company needs staff" is no start-up) or mean
    something else (Turkish "doktor" on a PhD, English "nurse" on "nursery")."""
    languages = (language, *SHARED_LANGUAGES) if lookup == "search" else (language,)
    assert (concept in names(load_lexicon(DEFAULT_PATH), text, *languages)) is fires
