"""The domain lexicon: matching rules on hand-made text, the shipped data file's
coverage, and the BM25 terms it adds (real Finnish model and Snowball)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.language import CATALOGUE_LANGUAGES, SUPPORTED_LANGUAGES
from knowledge_base.lexicon import DEFAULT_PATH, QueryLexicon, load_lexicon, word_count
from knowledge_base.settings import PACKAGE_DIR, Settings
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
    terms = small.expansion("потерял работу, ищу apartment", "ru", analyzer.analyze)
    # Finnish lemmas and English stems, as the catalogue's indexes hold them
    assert {"työtön", "työttömyys", "unemploy", "asunto", "hous"} <= set(terms)
    assert len(terms) == len(set(terms))
    assert small.expansion("привет", "ru", analyzer.analyze) == []


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


# "At home" is the setting of many questions (back to work after years with the children, a
# housewife, homework, a parent living alone); housing words name the need for a home.
AT_HOME_WITH_KIDS = {
    "en": "I've been at home with my kids for years and want to work again",
    "ar": "كنت في البيت مع اولادي سبع سنين وبدي ارجع اشتغل",
    "fa": "چند سال تو خونه با بچه‌ها بودم و میخوام دوباره کار کنم",
    "ckb": "چەند ساڵە لە ماڵەوەم لەگەڵ منداڵەکانم و دەمەوێت کار بکەم",
    "so": "Sanado badan ayaan guriga la joogay carruurta, hadda waxaan rabaa inaan shaqeeyo",
    "tr": "Yıllardır çocuklarla evdeyim ve tekrar çalışmak istiyorum",
    "es": "Llevo años en casa con mis hijos y quiero volver a trabajar",
    "fr": "Je suis à la maison avec mes enfants depuis des années et je veux retravailler",
    "et": "Olen aastaid olnud lastega kodus ja tahan uuesti tööle minna",
    "vi": "Tôi ở nhà với con nhiều năm và muốn đi làm lại",
    "zh": "我在家带孩子好几年了，想重新工作",
    "ru": "Я несколько лет сидела дома с детьми и хочу снова работать",
}
OTHER_AT_HOME = [
    ("en", "I'm a housewife and want to study"),
    ("en", "my home country is Iraq"),
    ("ar", "انا ربة منزل"),
    ("ar", "مساعدة في الواجبات المنزلية"),
    ("fa", "من خانه‌دار هستم"),
    ("fa", "مادرم تنها تو خونه زندگی میکنه"),
    ("ckb", "دایکم بە تەنها لە ماڵەوە دەژی"),
    ("so", "hooyaday keligeed ayay guriga ku nooshahay"),
    ("tr", "ev hanımıyım"),
    ("tr", "ev ödevi yardımı"),
    ("es", "soy ama de casa"),
    ("et", "minu kodu on Tallinnas"),
    ("vi", "toi can ho tro tim viec"),  # "cần hỗ trợ" typed without diacritics, not "căn hộ"
    ("vi", "tim nha tre cho con"),  # a day-care place, not a home
]
LOOKING_FOR_A_RENTAL = {
    "en": "I'm looking for a rental apartment",
    "fi": "etsin vuokra-asuntoa",
    "sv": "jag söker en hyreslägenhet",
    "ar": "ابحث عن شقة للايجار",
    "fa": "دنبال خونه اجاره‌ای هستم",
    "ckb": "بەدوای شوقەیەکی بە کرێ دەگەڕێم",
    "so": "guri kiro ah ayaan raadinayaa",
    "tr": "kiralık daire arıyorum",
    "es": "busco un piso de alquiler",
    "fr": "je cherche un appartement à louer",
    "et": "otsin üürikorterit",
    "vi": "toi dang tim can ho cho thue",
    "zh": "我在找出租公寓",
    "ru": "ищу квартиру в аренду",
    "uk": "шукаю квартиру в оренду",
}


@pytest.mark.parametrize("language", sorted(AT_HOME_WITH_KIDS))
def test_being_at_home_is_not_a_housing_need(language: str) -> None:
    lexicon = QueryLexicon.load(PACKAGE_DIR / "data" / "query_lexicon.yml")
    assert "housing" not in names(lexicon, AT_HOME_WITH_KIDS[language], language)
    assert "housing" in names(lexicon, LOOKING_FOR_A_RENTAL[language], language)


@pytest.mark.parametrize(("language", "text"), OTHER_AT_HOME)
def test_home_as_context_does_not_fire_housing(language: str, text: str) -> None:
    assert "housing" not in names(load_lexicon(DEFAULT_PATH), text, language)


@pytest.mark.parametrize("language", sorted(LOOKING_FOR_A_RENTAL))
def test_looking_for_a_rental_fires_housing(language: str) -> None:
    assert "housing" in names(load_lexicon(DEFAULT_PATH), LOOKING_FOR_A_RENTAL[language], language)
