"""The domain lexicon (data/query_lexicon.yml): which service concepts a question
mentions, in any supported language, and the catalogue's own words for them.

Lexical search adds the catalogue words of the concepts a question mentions, so a
question in a language the catalogue is not written in (Somali, Sorani, Russian, ...)
still meets the Finnish, Swedish and English texts through BM25. Matching is by word
beginnings on normalised text (see the data file's header); nothing here is per-language
code: a language gets its words by data alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge_base.settings import PACKAGE_DIR

DEFAULT_PATH = PACKAGE_DIR / "data" / "query_lexicon.yml"
# Scripts written without spaces between words: a term matches anywhere.
_UNSPACED = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Arabic-script words may carry one-letter clitics (and/so, then with/for/like) and the
# article in front; they belong to the word, not to the term: an Arabic-script term is also
# tried after each of these prefixes.
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
_CLITIC_PREFIXES = tuple(
    sorted({a + b + c for a in ("", "و", "ف") for b in ("", "ب", "ل", "ك") for c in ("", "ال")}, key=len)
)
# A word starts after a space or punctuation, or after an elided article or pronoun (French
# "l'école", "d'emploi", "qu'il"): one letter, or "qu", and an apostrophe. Inside a word an
# apostrophe does not start one (Somali "la'aan", English "don't", Ukrainian "здоров'я").
_WORD_START = r"(?:(?<![\w'])|(?<=(?<!\w)\w')|(?<=(?<!\w)qu'))"
# Letters written differently on Arabic and Persian keyboards, hamza seats, zero-width
# joiners and Turkish dotted capital I: folded so that a term matches however it was typed.
_FOLD = str.maketrans(
    {
        "\u064a": "\u06cc",  # Arabic yeh -> Farsi yeh
        "\u0649": "\u06cc",  # alef maksura -> Farsi yeh
        "\u0643": "\u06a9",  # Arabic kaf -> keheh
        "\u0623": "\u0627",
        "\u0625": "\u0627",
        "\u0622": "\u0627",
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u200c": " ",  # zero-width non-joiner (Persian) -> space
        "\u200d": "",
        "\u0307": "",  # combining dot above: Turkish "İ".lower() is "i" + U+0307
        **{chr(mark): "" for mark in range(0x064B, 0x0653)},  # Arabic short vowels and tanween ("مكاناً")
        "\u2019": "'",
        "\u02bc": "'",
    }
)

def word_count(text: str) -> int:
    """Words in `text`; in Chinese (no spaces) every two characters count as one word."""
    unspaced = len(_UNSPACED.findall(text))
    return len(re.findall(r"\w+", _UNSPACED.sub(" ", text))) + (unspaced + 1) // 2

def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_FOLD)

_WORD_STARTS = re.compile(_WORD_START)
# Terms are bucketed by their first characters, so a question is compared only with the terms
# that start like one of its words: one alternation of all a concept's words per language
# cost 25-130 ms a question (the engine tries every alternative at every position).
_KEY_LENGTH = 2


@dataclass(frozen=True)
class _Term:
    """One query word: its key (the first characters a match starts with) and the pattern
    matched at a word start."""

    key: str
    pattern: re.Pattern[str]
    arabic: bool  # may follow the one-letter clitics and the article


def _term(term: str) -> _Term | None:
    whole = term.endswith("=")
    words = normalise(term.removesuffix("=")).split()
    if not words:
        return None
    body = r"[\s\-]+".join(re.escape(word) for word in words)
    if _UNSPACED.search(body):
        return _Term("", re.compile(body), arabic=False)
    pattern = re.compile(body + (r"(?![\w])" if whole else ""))
    return _Term(words[0][:_KEY_LENGTH], pattern, arabic=bool(_ARABIC_SCRIPT.search(body)))


class _LanguageTerms:
    """The query words of one language, bucketed by key."""

    def __init__(self, terms: list[tuple[_Term, int]]) -> None:
        self.plain: dict[str, list[tuple[re.Pattern[str], int]]] = {}
        self.arabic: dict[str, list[tuple[re.Pattern[str], int]]] = {}
        self.unspaced: list[tuple[re.Pattern[str], int]] = []
        for term, concept in terms:
            if not term.key:
                self.unspaced.append((term.pattern, concept))
            else:
                (self.arabic if term.arabic else self.plain).setdefault(term.key, []).append((term.pattern, concept))

    def concepts_in(self, folded: str, starts: list[int], found: set[int]) -> None:
        """Adds to `found` the concepts whose words occur in `folded` (normalised text), whose
        word starts are `starts`."""
        for pattern, concept in self.unspaced:
            if concept not in found and pattern.search(folded):
                found.add(concept)
        for start in starts:
            self._match_at(self.plain, folded, start, found)
            if self.arabic:
                for clitic in _CLITIC_PREFIXES:
                    if folded.startswith(clitic, start):
                        self._match_at(self.arabic, folded, start + len(clitic), found)

    @staticmethod
    def _match_at(buckets: dict[str, list[tuple[re.Pattern[str], int]]], folded: str, at: int, found: set[int]) -> None:
        for key in {folded[at : at + _KEY_LENGTH], folded[at : at + 1]}:
            for pattern, concept in buckets.get(key, ()):
                if concept not in found and pattern.match(folded, at):
                    found.add(concept)


@dataclass(frozen=True)
class Concept:
    name: str
    catalogue: Mapping[str, str]  # catalogue language -> the catalogue's words for it

# Besides the question's own language, its words are looked up in these: people in
# Finland write "Kela", "päiväkoti" or "residence permit" into questions in any language.
SHARED_LANGUAGES = ("en", "fi")

class QueryLexicon:
    def __init__(self, concepts: list[Concept], terms: Mapping[str, list[tuple[str, int]]]) -> None:
        """`terms`: language -> (query word, index of its concept); a language's words are
        prepared on first use."""
        self.concepts = concepts
        self._words = terms
        self._prepared: dict[str, _LanguageTerms] = {}
        self._terms: dict[str, list[str]] = {}  # concept name -> analysed catalogue words

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> QueryLexicon:
        # libyaml's loader: 13 ms instead of 100 ms on every cold start
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
        concepts = []
        words: dict[str, list[tuple[str, int]]] = {}
        for name, entry in (data.get("concepts") or {}).items():
            concepts.append(Concept(name, {lang: str(w) for lang, w in (entry.get("catalogue") or {}).items()}))
            for language, terms in (entry.get("query") or {}).items():
                words.setdefault(language, []).extend((str(term), len(concepts) - 1) for term in terms if str(term).strip())
        return cls(concepts, words)

    @property
    def languages(self) -> list[str]:
        return sorted(self._words)

    def has_terms(self, concept: str, language: str) -> bool:
        return any(self.concepts[i].name == concept for _word, i in self._words.get(language, []))

    def _language(self, language: str) -> _LanguageTerms:
        prepared = self._prepared.get(language)
        if prepared is None:
            terms = [(term, i) for word, i in self._words.get(language, []) if (term := _term(word)) is not None]
            prepared = self._prepared[language] = _LanguageTerms(terms)
        return prepared

    def concepts_in(self, text: str, languages: Iterable[str]) -> list[Concept]:
        """The concepts `text` mentions in any of `languages`, in lexicon order."""
        folded = normalise(text)
        starts = [m.start() for m in _WORD_STARTS.finditer(folded)]
        found: set[int] = set()
        for language in dict.fromkeys(languages):
            self._language(language).concepts_in(folded, starts, found)
        return [self.concepts[i] for i in sorted(found)]

    def catalogue_texts(self) -> list[tuple[str, str]]:
        """(language, words) of every concept: shipped with the catalogue's analysed terms."""
        return [(lang, words) for concept in self.concepts for lang, words in concept.catalogue.items()]

    def expansion(self, concepts: Iterable[Concept], terms_of: Callable[[str, str], list[str]]) -> list[str]:
        """Index terms (`terms_of(words, catalogue language)`) of the catalogue words of
        `concepts`, the ones a question names (`concepts_in`)."""
        terms: list[str] = []
        for concept in concepts:
            cached = self._terms.get(concept.name)
            if cached is None:
                cached = [t for lang, words in concept.catalogue.items() for t in terms_of(words, lang)]
                cached = self._terms[concept.name] = list(dict.fromkeys(cached))
            terms += cached
        return list(dict.fromkeys(terms))

@lru_cache(maxsize=4)
def load_lexicon(path: Path = DEFAULT_PATH) -> QueryLexicon:
    return QueryLexicon.load(path)
