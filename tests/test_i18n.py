from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from knowledge_base.errors import DataUnavailable, UnsupportedLanguage
from knowledge_base.i18n import MESSAGES_DIR, Catalogue, placeholders
from knowledge_base.language import LANGUAGE_SCRIPTS, SUPPORTED_LANGUAGES

REQUIRED_KEYS = {
    "search.empty_query",
    "search.no_results",
    "search.local_details_helsinki_only",
    "search.text_in_other_language",
    "eligibility.fits",
    "eligibility.unknown",
    "why.age_range",
    "why.age_min",
    "why.age_max",
    "why.immigrants",
    "why.municipality_local",
    "why.national",
    "why.matches_query",
} | {f"language.name.{code}" for code in SUPPORTED_LANGUAGES}

REVIEW_STATUSES = {"native-reviewed", "draft-machine", "draft-human"}

# (language, key) pairs whose text may equal the English one, with the reason.
SAME_AS_ENGLISH: dict[tuple[str, str], str] = {
    ("es", "button.no"): "Spanish for 'No' is spelled 'No'",
}

SHARE_IN_SCRIPT = 0.60


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith("LATIN"):
        return "Latn"
    if name.startswith("CYRILLIC"):
        return "Cyrl"
    if name.startswith("ARABIC"):
        return "Arab"
    if name.startswith("CJK"):
        return "Hans"
    return "Other"


def test_one_file_per_supported_language(catalogue: Catalogue) -> None:
    assert sorted(p.stem for p in MESSAGES_DIR.glob("*.yml")) == sorted(SUPPORTED_LANGUAGES)
    assert catalogue.languages() == SUPPORTED_LANGUAGES


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_meta(catalogue: Catalogue, language: str) -> None:
    raw = yaml.safe_load((MESSAGES_DIR / f"{language}.yml").read_text(encoding="utf-8"))
    assert raw["_meta"]["language"] == language
    meta = catalogue.meta(language)
    assert meta["language"] == language
    assert meta["script"] == LANGUAGE_SCRIPTS[language]
    assert meta["review_status"] in REVIEW_STATUSES


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_every_key_in_every_language(catalogue: Catalogue, language: str) -> None:
    present = {key for key in sorted(catalogue.keys()) if catalogue.template(key, language) is not None}
    assert present == catalogue.keys()
    assert REQUIRED_KEYS <= present


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_placeholders_match_english(catalogue: Catalogue, language: str) -> None:
    for key in sorted(catalogue.keys()):
        english = catalogue.template(key, "en")
        text = catalogue.template(key, language)
        assert english is not None and text is not None
        assert placeholders(text) == placeholders(english), (language, key)


@pytest.mark.parametrize("language", [lang for lang in SUPPORTED_LANGUAGES if lang != "en"])
def test_translated_not_copied(catalogue: Catalogue, language: str) -> None:
    for key in sorted(catalogue.keys()):
        if (language, key) in SAME_AS_ENGLISH:
            continue
        assert catalogue.template(key, language) != catalogue.template(key, "en"), (language, key)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_values_in_declared_script(catalogue: Catalogue, language: str) -> None:
    expected = catalogue.meta(language)["script"]
    for key in sorted(catalogue.keys()):
        text = re.sub(r"\{[^}]*\}", "", catalogue.template(key, language) or "")
        letters = [c for c in text if c.isalpha()]
        assert letters, (language, key)
        share = sum(1 for c in letters if _script(c) == expected) / len(letters)
        assert share >= SHARE_IN_SCRIPT, (language, key, round(share, 2))


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_values_are_short_plain_text(catalogue: Catalogue, language: str) -> None:
    for key in sorted(catalogue.keys()):
        text = catalogue.template(key, language) or ""
        assert text == text.strip() and "\n" not in text and len(text) <= 300, (language, key)


def test_text_fills_placeholders(catalogue: Catalogue) -> None:
    assert catalogue.text("why.age_range", "en", age_min=18, age_max=29) == "For ages 18–29"
    assert catalogue.text("why.age_min", "fi", age_min=65) == "Vähintään 65-vuotiaille"
    assert "Espoo" in catalogue.text("search.local_details_helsinki_only", "sv", municipality="Espoo")
    name = catalogue.text("language.name.sv", "ru")
    assert name in catalogue.text("search.text_in_other_language", "ru", text_language_name=name)


def test_text_normalises_the_language_code(catalogue: Catalogue) -> None:
    assert catalogue.text("language.name.fi", " FI ") == "suomi"


def test_text_unknown_key(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError):
        catalogue.text("search.nope", "fi")


def test_text_missing_placeholder(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError):
        catalogue.text("why.age_range", "en", age_min=18)


def test_text_unsupported_language(catalogue: Catalogue) -> None:
    with pytest.raises(UnsupportedLanguage):
        catalogue.text("search.empty_query", "de")


def _write(directory: Path, language: str, entries: dict[str, str]) -> None:
    doc = {"_meta": {"language": language, "script": "Latn", "review_status": "draft-machine"}, **entries}
    (directory / f"{language}.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_fallback_to_english_then_finnish(tmp_path: Path) -> None:
    _write(tmp_path, "en", {"a": "A in English"})
    _write(tmp_path, "fi", {"a": "A suomeksi", "b": "B suomeksi"})
    _write(tmp_path, "sv", {})
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.text("a", "sv") == "A in English"
    assert catalogue.text("b", "sv") == "B suomeksi"
    assert catalogue.text("a", "fi") == "A suomeksi"
    assert catalogue.text("a", "ru") == "A in English"  # no ru file at all
    assert catalogue.languages() == ("fi", "sv", "en")
    assert catalogue.keys() == {"a", "b"}


def test_meta_language_must_match_file_name(tmp_path: Path) -> None:
    doc = {"_meta": {"language": "sv"}, "a": "x"}
    (tmp_path / "fi.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(DataUnavailable):
        Catalogue.load(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable):
        Catalogue.load(tmp_path / "missing")


def test_default_catalogue_is_shared() -> None:
    assert Catalogue.load() is Catalogue.load()
