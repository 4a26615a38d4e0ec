"""Supported languages, language-code checks and language identification of user text.

Detection order: the dominant script first (Han text can only be Chinese here, and
Sorani has letters no other supported language uses), then py3langid restricted to
the supported languages that write in that script. Short or low-confidence text
defers to the caller's fallback (usually the UI language), because two or three
words are as often a service name or a Finnish loanword as a language signal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from knowledge_base.errors import UnsupportedLanguage

# fmt: off
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "fi", "sv", "en", "ru", "uk", "ar", "so", "et", "fa", "zh", "vi", "tr", "ckb", "es", "fr",
)
# Languages the service catalogue has texts in.
CATALOGUE_LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")

# Script each supported language is written in (ISO 15924).
LANGUAGE_SCRIPTS: dict[str, str] = {
    "fi": "Latn", "sv": "Latn", "en": "Latn", "so": "Latn", "et": "Latn", "vi": "Latn", "tr": "Latn",
    "es": "Latn", "fr": "Latn",
    "ru": "Cyrl", "uk": "Cyrl",
    "ar": "Arab", "fa": "Arab", "ckb": "Arab",
    "zh": "Hans",
}
# fmt: on

# py3langid has no Sorani model, so ckb is decided by script alone.
_LANGID_LANGUAGES: tuple[str, ...] = tuple(code for code in SUPPORTED_LANGUAGES if code != "ckb")

# Letters Sorani uses and Arabic and Persian do not: ێ ۆ ڕ ڵ ە. U+06BE (ھ) is left
# out on purpose: some Arabic and Persian keyboards emit it for an ordinary heh.
_SORANI_LETTERS = frozenset("\u06ce\u06c6\u0695\u06b5\u06d5")
# Persian keyboards: پ چ ژ گ plus Farsi yeh and keheh. Sorani shares these, but it is
# ruled out before they are counted.
_PERSIAN_LETTERS = frozenset("\u067e\u0686\u0698\u06af\u06cc\u06a9")
# Arabic keyboards: Arabic yeh, kaf, teh marbuta and alef maksura.
_ARABIC_LETTERS = frozenset("\u064a\u0643\u0629\u0649")
# Cyrillic letters only one of Ukrainian (і ї є ґ) and Russian (ы э ъ ё) uses; py3langid
# is least sure exactly between these two.
_UKRAINIAN_LETTERS = frozenset("іїєґІЇЄҐ")
_RUSSIAN_LETTERS = frozenset("ыэъёЫЭЪЁ")

# At or below either limit a message is "short" and a fallback wins. From
# bench/bench_language.py (word prefixes of the benchmark messages): py3langid's guess
# is right for 72% of one-word, 90% of two-word and 96% of three-word prefixes, and
# for 98-99% from four words on.
SHORT_MAX_WORDS = 3
SHORT_MAX_LETTERS = 14
# Below this normalised probability a longer message is ambiguous too. In the same
# benchmark guesses under 0.8 were right 60-89% of the time, 0.8-0.9 88%, over 0.9
# 99.4%; 0.8 rather than 0.9 because clear Russian and Ukrainian sentences often
# score 0.85-0.95 (the two are close) and should not lose to a Latin fallback.
MIN_CONFIDENCE = 0.80
# A non-Latin script must cover this share of letters to count as the text's script;
# Latin letters in other-script messages are mostly names (Kela, Espoo, TE-palvelut).
_NON_LATIN_SHARE = 0.25

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#]\w+")

_CATALOGUE_ORDER: dict[str, tuple[str, ...]] = {
    "fi": ("fi", "sv", "en"),
    "sv": ("sv", "fi", "en"),
    "en": ("en", "fi", "sv"),
    # Finnish is close enough to Estonian to be easier to read than English.
    "et": ("fi", "en", "sv"),
}
_DEFAULT_CATALOGUE_ORDER: tuple[str, ...] = ("en", "fi", "sv")


def check_language(code: str) -> str:
    """`code` as a supported language code ('FI ' -> 'fi'); UnsupportedLanguage otherwise."""
    if not isinstance(code, str):
        raise UnsupportedLanguage(repr(code), SUPPORTED_LANGUAGES)
    normalised = code.strip().lower()
    if normalised not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguage(code, SUPPORTED_LANGUAGES)
    return normalised


def catalogue_language_order(lang: str) -> tuple[str, ...]:
    """Catalogue languages in the order to pick a service text for a user of `lang`."""
    return _CATALOGUE_ORDER.get(check_language(lang), _DEFAULT_CATALOGUE_ORDER)


@dataclass(frozen=True)
class Detection:
    """What detect_language decided and why; kept public for the benchmark."""

    language: str | None  # None when the text has no letters
    confidence: float  # 1.0 for script-decided languages
    script: str | None
    decisive: bool  # the script alone settles it
    short: bool


def _script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith("LATIN"):
        return "Latn"
    if name.startswith("CYRILLIC"):
        return "Cyrl"
    if name.startswith("ARABIC"):
        return "Arab"
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA")):
        return "Hans"
    return "Other"


def _dominant_script(letters: list[str]) -> str:
    counts: dict[str, int] = {}
    for char in letters:
        script = _script_of(char)
        counts[script] = counts.get(script, 0) + 1
    non_latin = {s: n for s, n in counts.items() if s != "Latn"}
    if non_latin:
        best = max(non_latin, key=non_latin.__getitem__)
        if non_latin[best] >= _NON_LATIN_SHARE * len(letters):
            return best
    return "Latn" if counts.get("Latn") else max(counts, key=counts.__getitem__)


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # Imported here so importing this module stays cheap; the model takes ~1 s to load.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(_LANGID_LANGUAGES))
    return identifier


def load_identifier() -> None:
    """Load the language identifier now rather than on the first message that needs it."""
    _identifier()


def _rank(text: str, candidates: tuple[str, ...]) -> tuple[str, float]:
    """Best candidate and its probability renormalised over `candidates`."""
    scores = {lang: p for lang, p in _identifier().rank(text) if lang in candidates}
    total = sum(scores.values())
    best = max(candidates, key=lambda lang: scores.get(lang, 0.0))
    if total <= 0.0:
        return best, 0.0
    return best, scores.get(best, 0.0) / total


def _by_letters(text: str, first: tuple[str, frozenset[str]], second: tuple[str, frozenset[str]]) -> tuple[str, float]:
    """Decide between two same-script languages by letters only one of them uses;
    py3langid decides when both or neither kind occurs."""
    in_first = any(c in first[1] for c in text)
    in_second = any(c in second[1] for c in text)
    if in_first and not in_second:
        return first[0], 1.0
    if in_second and not in_first:
        return second[0], 1.0
    return _rank(text, (first[0], second[0]))


def analyse(text: str) -> Detection:
    """Script, best guess and confidence for `text`, before any fallback is applied."""
    cleaned = _NOISE.sub(" ", text)
    letters = [c for c in cleaned if c.isalpha()]
    if not letters:
        return Detection(None, 0.0, None, decisive=False, short=True)
    words = [w for w in cleaned.split() if any(c.isalpha() for c in w)]
    short = len(words) <= SHORT_MAX_WORDS or len(letters) <= SHORT_MAX_LETTERS
    script = _dominant_script(letters)
    if script == "Hans":
        return Detection("zh", 1.0, script, decisive=True, short=short)
    if script == "Arab":
        if any(c in _SORANI_LETTERS for c in cleaned):
            return Detection("ckb", 1.0, script, decisive=True, short=short)
        language, confidence = _by_letters(cleaned, ("fa", _PERSIAN_LETTERS), ("ar", _ARABIC_LETTERS))
        return Detection(language, confidence, script, decisive=False, short=short)
    if script == "Cyrl":
        language, confidence = _by_letters(cleaned, ("uk", _UKRAINIAN_LETTERS), ("ru", _RUSSIAN_LETTERS))
        return Detection(language, confidence, script, decisive=False, short=short)
    candidates = tuple(lang for lang in _LANGID_LANGUAGES if LANGUAGE_SCRIPTS[lang] == script)
    if not candidates:  # a script no supported language uses (Greek, Hangul, ...)
        candidates = _LANGID_LANGUAGES
    language, confidence = _rank(cleaned, candidates)
    return Detection(language, confidence, script, decisive=False, short=short)


def detect_language(text: str, fallback: str | None = None) -> str:
    """The supported language `text` is written in.

    With a `fallback`, short or ambiguous text gets the fallback, unless the text is
    in a non-Latin script the fallback language does not use (then the script says
    more than the fallback). Without one it gets the detector's best guess, and text
    with no letters at all gets "fi".
    """
    if fallback is not None:
        fallback = check_language(fallback)
    detection = analyse(text)
    if detection.language is None:
        return fallback or "fi"
    if detection.decisive:
        return detection.language
    ambiguous = detection.short or detection.confidence < MIN_CONFIDENCE
    script_allows_fallback = fallback is not None and (
        detection.script == "Latn" or LANGUAGE_SCRIPTS[fallback] == detection.script
    )
    if ambiguous and fallback is not None and script_allows_fallback:
        return fallback
    return detection.language
