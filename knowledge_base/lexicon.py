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
# article in front; they belong to the word, not to the term.
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
_ARABIC_CLITICS = r"(?:[وف]?[بلك]?(?:ال)?)"
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

def _term_pattern(term: str) -> str:
    whole = term.endswith("=")
    words = normalise(term.removesuffix("=")).split()
    body = r"[\s\-]+".join(re.escape(word) for word in words)
    if _UNSPACED.search(body):
        return body
    start = _WORD_START + (_ARABIC_CLITICS if _ARABIC_SCRIPT.search(body) else "")
    return start + body + (r"(?![\w])" if whole else "")

@dataclass(frozen=True)
class Concept:
    name: str
    catalogue: Mapping[str, str]  # catalogue language -> the catalogue's words for it

# Besides the question's own language, its words are looked up in these: people in
# Finland write "Kela", "päiväkoti" or "residence permit" into questions in any language.
SHARED_LANGUAGES = ("en", "fi")

class QueryLexicon:
    def __init__(self, concepts: list[Concept], terms: Mapping[str, list[tuple[str, Concept]]]) -> None:
        """`terms`: language -> (regular expression source, concept); compiled on first use
        of a language (all of them take 0.2 s, a question needs three)."""
        self.concepts = concepts
        self._sources = terms
        self._patterns: dict[str, list[tuple[re.Pattern[str], Concept]]] = {}
        self._terms: dict[str, list[str]] = {}  # concept name -> analysed catalogue words

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> QueryLexicon:
        # libyaml's loader: 13 ms instead of 100 ms on every cold start
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
        concepts = []
        sources: dict[str, list[tuple[str, Concept]]] = {}
        for name, entry in (data.get("concepts") or {}).items():
            concept = Concept(name, {lang: str(words) for lang, words in (entry.get("catalogue") or {}).items()})
            concepts.append(concept)
            for language, terms in (entry.get("query") or {}).items():
                alternatives = "|".join(_term_pattern(str(term)) for term in terms if str(term).strip())
                if alternatives:
                    sources.setdefault(language, []).append((alternatives, concept))
        return cls(concepts, sources)

    @property
    def languages(self) -> list[str]:
        return sorted(self._sources)

    def has_terms(self, concept: str, language: str) -> bool:
        return any(c.name == concept for _source, c in self._sources.get(language, []))

    def _compiled(self, language: str) -> list[tuple[re.Pattern[str], Concept]]:
        compiled = self._patterns.get(language)
        if compiled is None:
            compiled = [(re.compile(source), concept) for source, concept in self._sources.get(language, [])]
            self._patterns[language] = compiled
        return compiled

    def concepts_in(self, text: str, languages: Iterable[str]) -> list[Concept]:
        """The concepts `text` mentions in any of `languages`, in lexicon order."""
        folded = normalise(text)
        found: dict[str, Concept] = {}
        for language in dict.fromkeys(languages):
            for pattern, concept in self._compiled(language):
                if concept.name not in found and pattern.search(folded):
                    found[concept.name] = concept
        return [c for c in self.concepts if c.name in found]

    def catalogue_texts(self) -> list[tuple[str, str]]:
        """(language, words) of every concept: shipped with the catalogue's analysed terms."""
        return [(lang, words) for concept in self.concepts for lang, words in concept.catalogue.items()]

    def expansion(self, text: str, language: str, terms_of: Callable[[str, str], list[str]]) -> list[str]:
        """Index terms (`terms_of(words, catalogue language)`) of the catalogue words of
        the concepts `text` mentions in `language` or a shared language."""
        terms: list[str] = []
        for concept in self.concepts_in(text, (language, *SHARED_LANGUAGES)):
            cached = self._terms.get(concept.name)
            if cached is None:
                cached = [t for lang, words in concept.catalogue.items() for t in terms_of(words, lang)]
                cached = self._terms[concept.name] = list(dict.fromkeys(cached))
            terms += cached
        return list(dict.fromkeys(terms))

@lru_cache(maxsize=4)
def load_lexicon(path: Path = DEFAULT_PATH) -> QueryLexicon:
    return QueryLexicon.load(path)
