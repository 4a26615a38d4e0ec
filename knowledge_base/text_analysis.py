"""Turn text into normalised index terms for lexical (BM25) search.

- Finnish: lemmas from spaCy's Finnish model (spacy-fi-experimental-web-md, whose
  lemmatizer is libvoikko), so "päivähoitoon" and "päivähoito" meet; a compound also
  gives its parts, split where libvoikko's analysis of the lemma marks them and each
  put in its base form ("kotoutumiskoulutus" -> + "kotoutuminen", "koulutus"), so
  "koulutus" finds "aikuiskoulutus" (on the dev sets this helped Finnish queries).
- Swedish and English: spaCy's rule-based tokenizer, then Snowball stemming (PyStemmer).
- Any other language: spaCy's blank tokenizer for that language ("xx" when spaCy has
  none), lowercased.

Everywhere: text is NFKC-normalised; punctuation, numbers and one-character tokens are dropped, and so are the
language's stop words, except acronyms written in capitals ("TE", "EU"). A hyphenated
word gives itself and its parts ("te-palvelu", "te", "palvelu"), and an abbreviation
inflected with a colon loses its ending ("Kela:n" -> "kela"). Every token is also split
where the script changes, so "Kela" inside a Chinese or Arabic sentence still becomes
a term of its own.

Models load on first use and are cached on the `Analyzer`; importing this module loads
nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import metadata
from typing import Any

FINNISH_MODEL = "spacy_fi_experimental_web_md"
FINNISH_MODEL_DIST = "spacy-fi-experimental-web-md"
# The lemmatizer needs POS (tagger + morphologizer + attribute_ruler); the parser only
# refines a rare case-disambiguation and the NER is unused, and the two are about half
# of the model's time. The vocabulary's lookup tables (lexeme_prob, lexeme_settings:
# 500k entries) take 1.0 of the 1.3 s the model needs to load and change no lemma or
# POS tag (identical terms on 600 catalogue texts and the Finnish dev queries).
FINNISH_EXCLUDE = ("parser", "ner", "lookups")
STEMMED = {"sv": "swedish", "en": "english"}
PIPE_BATCH = 64
MIN_COMPOUND = 6  # shorter lemmas are not split
MIN_PART = 3
COMPOUND_CACHE = 200_000  # lemmas whose split is remembered
# spaCy languages whose blank pipeline needs an extra package or segments Latin words
# into characters; they get the language-neutral tokenizer ("xx") or a plain config.
BLANK_CONFIG: dict[str, dict[str, Any]] = {"vi": {"nlp": {"tokenizer": {"use_pyvi": False}}}}
BLANK_AS_XX = frozenset({"zh", "ja", "ko", "th"})

_COLON_ENDING = re.compile(r"^([^\W\d_]{2,}):[^\W\d_]{1,4}$")


def _script(char: str) -> str:
    """A coarse script class: the first word of the character's Unicode name."""
    if char.isdigit():
        return "digit"
    try:
        name = unicodedata.name(char)
    except ValueError:
        return "other"
    return name.split(" ", 1)[0]


def _split_scripts(token: str) -> list[str]:
    """Split a token where the script changes ("Kelaн" -> ["Kela", "н"])."""
    if token.isascii():
        return [token]
    parts: list[str] = []
    start = 0
    previous = None
    for i, char in enumerate(token):
        script = _script(char) if char.isalnum() else previous
        if previous is not None and script != previous:
            parts.append(token[start:i])
            start = i
        previous = script
    parts.append(token[start:])
    return parts


def _is_term(term: str) -> bool:
    return len(term) >= 2 and any(c.isalpha() for c in term)


def _is_acronym(surface: str) -> bool:
    return len(surface) >= 2 and surface.isupper() and surface.isalpha()


@lru_cache(maxsize=1)
def analyzer_version() -> str:
    """Changes whenever the terms this module produces may change (its code or a model)."""
    parts = [hashlib.sha256(inspect.getsource(sys.modules[__name__]).encode("utf-8")).hexdigest()[:12]]
    for dist in ("spacy", FINNISH_MODEL_DIST, "PyStemmer"):
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=none")
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


class Analyzer:
    """Index terms of a text in a given language. Thread-safe; models load lazily."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pipelines: dict[str, Any] = {}
        self._stop_words: dict[str, frozenset[str]] = {}
        self._stemmers: dict[str, Any] = {}
        self._compounds: dict[str, list[str]] = {}

    @property
    def version(self) -> str:
        return analyzer_version()

    def analyze(self, text: str, language: str) -> list[str]:
        return self.analyze_many([text], language)[0]

    def analyze_many(self, texts: Iterable[str], language: str) -> list[list[str]]:
        # NFKC: decomposed "ä" (a + combining diaeresis), full-width and presentation forms
        texts = [unicodedata.normalize("NFKC", t) if isinstance(t, str) else "" for t in texts]
        language = (language or "xx").lower()
        if not any(t.strip() for t in texts):
            return [[] for _ in texts]
        with self._lock:
            if language == "fi":
                return [self._finnish_terms(doc) for doc in self._pipe("fi", texts)]
            stop_words = self._stop_words_of(language)
            stemmer = self._stemmer_of(language)
            results = []
            for doc in self._pipe(language, texts):
                terms = self._plain_terms(doc, stop_words)
                results.append(stemmer.stemWords(terms) if stemmer and terms else terms)
            return results

    def preload(self, *languages: str) -> None:
        """Load the pipelines of `languages` now (the Finnish model takes seconds), e.g.
        in a background thread at start-up, so that the first query does not wait."""
        with self._lock:
            for language in languages:
                self._stop_words_of(language.lower())  # loads the pipeline
                self._stemmer_of(language.lower())

    def stem(self, term: str, language: str) -> str:
        """`term` Snowball-stemmed when `language` is stemmed (sv, en), else unchanged."""
        with self._lock:
            stemmer = self._stemmer_of(language)
            return stemmer.stemWord(term) if stemmer else term

    def is_finnish_word(self, word: str) -> bool:
        """Whether libvoikko knows `word` as a standard Finnish word form."""
        with self._lock:
            voikko = self._voikko()
            return bool(voikko.analyze(word)) if voikko is not None else True

    # -- pipelines ------------------------------------------------------------------

    def _pipe(self, language: str, texts: list[str]) -> Iterator[Any]:
        nlp = self._pipeline(language)
        return nlp.pipe(texts, batch_size=PIPE_BATCH)

    def _pipeline(self, language: str) -> Any:
        nlp = self._pipelines.get(language)
        if nlp is None:
            nlp = self._load_pipeline(language)
            self._pipelines[language] = nlp
        return nlp

    @staticmethod
    def _load_pipeline(language: str) -> Any:
        import spacy

        if language == "fi":
            return spacy.load(FINNISH_MODEL, exclude=list(FINNISH_EXCLUDE))
        if language not in BLANK_AS_XX:
            try:
                return spacy.blank(language, config=BLANK_CONFIG.get(language, {}))
            except ImportError:  # spaCy has no such language, or it needs another package
                pass
        return spacy.blank("xx")

    def _voikko(self) -> Any:
        """libvoikko as the Finnish lemmatizer holds it (None if the model lacks it)."""
        return getattr(self._pipeline("fi").get_pipe("lemmatizer"), "voikko", None)

    def _stop_words_of(self, language: str) -> frozenset[str]:
        words = self._stop_words.get(language)
        if words is None:
            words = frozenset(w.lower() for w in self._pipeline(language).Defaults.stop_words)
            self._stop_words[language] = words
        return words

    def _stemmer_of(self, language: str) -> Any:
        algorithm = STEMMED.get(language)
        if algorithm is None:
            return None
        stemmer = self._stemmers.get(language)
        if stemmer is None:
            import Stemmer

            stemmer = Stemmer.Stemmer(algorithm)
            self._stemmers[language] = stemmer
        return stemmer

    # -- terms ----------------------------------------------------------------------

    def _finnish_terms(self, doc: Any) -> list[str]:
        stop_words = self._stop_words_of("fi")
        terms: list[str] = []
        for token in doc:
            if token.is_punct or token.is_space or token.like_url or token.like_email:
                continue
            surface = token.text
            colon = _COLON_ENDING.match(surface)
            # "Kela:n", "EU:ssa": the lemmatizer may keep the ending; acronyms stay as written
            if colon or _is_acronym(surface):
                terms.extend(_with_parts(colon.group(1) if colon else surface, frozenset()))
            elif token.is_stop or (token.lemma_ or surface).lower() in stop_words:
                continue
            else:
                lemma_terms = _with_parts(token.lemma_ or surface, stop_words)
                terms.extend(lemma_terms)
                if len(lemma_terms) == 1:
                    terms.extend(self._compound_parts(lemma_terms[0], stop_words))
        return terms

    def _compound_parts(self, lemma: str, stop_words: frozenset[str]) -> list[str]:
        parts = self._compounds.get(lemma)
        if parts is None:
            voikko = self._voikko()
            parts = _split_compound(voikko, lemma, stop_words) if voikko is not None else []
            if len(self._compounds) >= COMPOUND_CACHE:
                self._compounds.clear()
            self._compounds[lemma] = parts
        return parts

    def _plain_terms(self, doc: Any, stop_words: frozenset[str]) -> list[str]:
        terms: list[str] = []
        for token in doc:
            if token.is_punct or token.is_space or token.like_url or token.like_email:
                continue
            colon = _COLON_ENDING.match(token.text)
            surface = colon.group(1) if colon else token.text
            for piece in _split_scripts(surface):
                if _is_acronym(piece) or piece.lower() not in stop_words:
                    terms.extend(_with_parts(piece, stop_words))
        return terms


def _split_compound(voikko: Any, lemma: str, stop_words: frozenset[str]) -> list[str]:
    """Base forms of the parts of a Finnish compound lemma; [] when it is not one.

    libvoikko's STRUCTURE marks with "=" where each part of the word begins
    ("=pppppp=pppp" for "asumistuki"). The last part is already in its base form; the
    others are in their compound-initial form ("asumis", "työn") and are analysed again,
    falling back to the regular -mis -> -minen and -is -> -inen.
    """
    if len(lemma) < MIN_COMPOUND or not lemma.isalpha():
        return []
    analyses = voikko.analyze(lemma)
    structure = analyses[0].get("STRUCTURE", "") if analyses else ""
    if not structure.startswith("=") or structure.count("=") < 2 or len(structure) - structure.count("=") != len(lemma):
        return []
    pieces: list[str] = []
    position = 0
    for mark in structure:
        if mark == "=":
            pieces.append("")
        else:
            pieces[-1] += lemma[position]
            position += 1
    parts = []
    for piece in pieces[:-1]:
        found = voikko.analyze(piece)
        base = (found[0].get("BASEFORM") if found else None) or (
            piece[:-3] + "minen" if piece.endswith("mis") else piece[:-2] + "inen" if piece.endswith("is") else piece
        )
        parts.append(base.lower())
    parts.append(pieces[-1])
    return [p for p in dict.fromkeys(parts) if len(p) >= MIN_PART and p != lemma and p not in stop_words]


def _with_parts(word: str, stop_words: frozenset[str]) -> list[str]:
    """The lowercased word, then (when hyphenated) its parts that are real words and
    either acronyms or not stop words: "TE-palvelu" -> te-palvelu, te, palvelu."""
    term = word.lower()
    out = [term] if _is_term(term) else []
    if "-" in word:
        for part in word.split("-"):
            lower = part.lower()
            if _is_term(lower) and lower != term and (_is_acronym(part) or lower not in stop_words):
                out.append(lower)
    return out
