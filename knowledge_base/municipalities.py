"""Finnish municipalities: look-up by code, by a typed name, and in free-text messages.

Users write place names inflected ("asun Vantaalla", "Lahdessa", "Turusta"), in
Swedish ("i Esbo"), without Finnish letters ("Jyvaskyla") or transliterated
("Хельсинки", "هلسنكي"). Instead of a morphological analyser, each name gets the
set of stems Finnish case endings attach to (consonant gradation, i/e stems, -nen,
-s and -vesi types), and a word matches when it is such a stem plus a case ending.
Names that are also ordinary words (Salo, Kotka, Pello ...) need more evidence in
free text; the list lives in data/municipality_aliases.yml with the other extra names.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.errors import DataUnavailable

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PATH = DATA_DIR / "municipalities_fi_2021.json"
DEFAULT_ALIASES_PATH = DATA_DIR / "municipality_aliases.yml"

_VOWELS = frozenset("aeiouyäöå")

# Case endings that say "in / from / to a place", Finnish and then Estonian ones;
# for names that are also common words only these count as evidence.
_LOCATIVE_ENDINGS = ("ssa", "ssä", "sta", "stä", "lla", "llä", "lta", "ltä", "lle", "seen", "sse", "st", "lt", "le")
# Genitive, partitive, essive, translative, abessive, genitive plural; "s" is also the
# Swedish genitive and Estonian inessive, "l" the Estonian adessive.
_OTHER_ENDINGS = ("ksi", "tta", "ttä", "ten", "na", "nä", "ta", "tä", "n", "a", "ä", "s", "l")
_ENDINGS = tuple(
    sorted({(e, True) for e in _LOCATIVE_ENDINGS} | {(e, False) for e in _OTHER_ENDINGS}, key=lambda p: -len(p[0]))
)
_CLITICS = ("kaan", "kään", "kin", "han", "hän", "ko", "kö", "pa", "pä")
# helsinkiläinen, espoolaiset, lahtelaisena ... (someone from the place)
_DEMONYM = re.compile(r"^(?P<stem>.{2,}?)(?:lai|läi)(?:nen|s\w*)$")

# fmt: off
# Strong -> weak consonant gradation in the last syllable (the direction for names
# whose nominative is strong: Turku -> Turussa, Lappeenranta -> Lappeenrannassa).
_WEAKENING = (
    ("kk", "k"), ("pp", "p"), ("tt", "t"), ("nk", "ng"), ("mp", "mm"), ("lt", "ll"), ("nt", "nn"), ("rt", "rr"),
    ("ht", "hd"), ("lk", "l"), ("lk", "lj"), ("rk", "r"), ("rk", "rj"),
)
# Weak -> strong, for the few names whose nominative is weak (Pihtipudas -> Pihtiputaalla).
_STRENGTHENING = (
    ("ng", "nk"), ("mm", "mp"), ("ll", "lt"), ("nn", "nt"), ("rr", "rt"), ("hd", "ht"),
)

# Words right before a place name that mark it as a place, in the supported languages.
_CUES_BEFORE = frozenset((
    "in", "at", "from", "to", "near", "into", "around", "of", "live", "lives", "living", "moved", "move", "moving",
    "i", "från", "till", "bor", "flyttade", "flyttar", "asun", "asumme", "asuu", "asuvat", "asunut", "muutin",
    "muutimme", "muutamme", "muutan", "muuttanut", "muutto", "elan", "elame", "elab", "kolisin", "kolisime", "en",
    "de", "à", "a", "dans", "vers", "desde", "vivo", "habite", "ở", "tại", "đến", "từ", "ku", "ee", "kaga", "в",
    "во", "из", "у", "до", "по", "з", "في", "من", "إلى", "الى", "در", "از", "به", "لە", "بۆ",
))
_CUES_AFTER = frozenset((
    "kunta", "kunnassa", "kunnasta", "kunnan", "kunnalla", "kunnalle", "kaupunki", "kaupungissa", "kaupungista",
    "kaupungin", "kaupunkiin", "kommun", "kommuns", "stad", "staden", "municipality", "city", "town",
))
# Finnish verbs of living/moving: with one of these before it, a lower-case common-word
# name with a locative ending still counts ("asun salossa").
_LIVING_CUES = frozenset(
    ("asun", "asumme", "asuu", "asuvat", "asunut", "muutin", "muutimme", "muutamme", "muutan", "muuttanut")
)

_TOKEN = re.compile(r"[^\W\d_]+(?:[-:'’][^\W\d_]+)*")
_SENTENCE_BREAK = re.compile(r"[.!?…\n]")
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # harakat, tatweel
_ARABIC_FOLD = str.maketrans({
    "ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ە": "ه", "ھ": "ه", "ێ": "ی", "ۆ": "و",
    "ڕ": "ر", "ڵ": "ل", "’": "'",
})
# fmt: on
_ARABIC_PREFIXES = ("و", "ب", "ل", "ف")
# Turkish writes case endings after an apostrophe on proper names: Lahti'de, Espoo'ya.
_TURKISH_LOCATIVE = frozenset(("de", "da", "te", "ta", "den", "dan", "ten", "tan", "e", "a", "ye", "ya"))
_CODE = re.compile(r"^(?:ku)?\s*(\d{1,3})$", re.IGNORECASE)


@dataclass(frozen=True)
class Municipality:
    code: str  # Statistics Finland code, three digits: "091"
    name_fi: str
    name_sv: str


@dataclass(frozen=True)
class _Entry:
    code: str
    name: str  # the normalised name the form belongs to, for the common-word check
    inflected: bool
    locative: bool


@dataclass(frozen=True)
class _Hit:
    entry: _Entry
    start: int


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_FOLD)
    return text.replace("\u0307", "")  # the dot casefold leaves on Turkish İ


def _is_latin(text: str) -> bool:
    return all(not c.isalpha() or c <= "\u024f" for c in text)


def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _weaken(word: str) -> set[str]:
    body, vowel = word[:-1], word[-1]
    out = {body[: -len(strong)] + weak + vowel for strong, weak in _WEAKENING if body.endswith(strong)}
    if not out and len(body) >= 2 and body[-2] in _VOWELS:
        consonant, head = body[-1], body[:-1]
        if consonant == "k":
            out |= {head + vowel, head + "v" + vowel, head + "j" + vowel}
        elif consonant == "p":
            out.add(head + "v" + vowel)
        elif consonant == "t":
            out.add(head + "d" + vowel)
    return out


def _strengthen(word: str) -> set[str]:
    body, vowel = word[:-1], word[-1]
    out = {body[: -len(weak)] + strong + vowel for weak, strong in _STRENGTHENING if body.endswith(weak)}
    if not out and len(body) >= 2 and body[-2] in _VOWELS:
        consonant, head = body[-1], body[:-1]
        if consonant == "d":
            out.add(head + "t" + vowel)
        elif consonant == "v":
            out.add(head + "p" + vowel)
        elif consonant in "kpt":
            out.add(body + consonant + vowel)
    return out


def finnish_stems(name: str) -> set[str]:
    """Stems Finnish case endings attach to, for a normalised (lower-case) place name.

    Over-generates on purpose: a stem nobody writes costs nothing, a missing one
    loses a match. Only the last part of a hyphenated name inflects.
    """
    head, sep, last = name.rpartition("-")
    prefix = head + sep
    stems = {last}
    if len(last) < 3:
        return {prefix + last}
    if last.endswith("nen"):
        # Kaskinen -> Kaskisessa / Kaskisissa (plural, the usual form) / Kaskista
        base = last[:-3]
        stems |= {base + "se", base + "si", base + "s"}
    elif last.endswith("vesi"):
        stems |= {last[:-2] + "de", last[:-2] + "te"}  # Orivesi -> Orivedellä, Oriveteen
    elif last[-1] in _VOWELS:
        if last[-2] not in _VOWELS:  # long vowels and diphthongs do not gradate
            stems |= _weaken(last)
            if last[-1] == "i":  # Lahti -> Lahdessa, Rovaniemi -> Rovaniemellä
                e_stem = last[:-1] + "e"
                stems |= {e_stem} | _weaken(e_stem)
            elif last[-1] == "e":  # Tampere -> Tampereella
                stems.add(last + "e")
    elif last.endswith("s"):
        # Kannus -> Kannuksessa, Varkaus -> Varkaudessa, Pihtipudas -> Pihtiputaalla,
        # and Swedish loans take -i: Korsnäs -> Korsnäsissä.
        base = last[:-1]
        stems |= {base + "kse", base + "de", base + "te", last + "i"}
        if base[-1] in _VOWELS and base[-2] not in _VOWELS:
            stems |= {s + base[-1] for s in _strengthen(base)}
    else:  # Swedish names on Åland: Finström -> Finströmissä
        stems.add(last + "i")
    return {prefix + s for s in stems}


def _token_variants(token: str) -> list[tuple[str, str]]:
    """(normalised word, original word) pairs to try for one token: the token, then
    the parts around apostrophes (Lahti'ye, Helsinki's, d'Espoo) and hyphens
    (Itä-Helsingissä, Helsinki-lisä)."""
    variants = [token]
    for separator in ("'", "’", "-"):
        if separator in token:
            variants += [p for p in token.split(separator) if len(p) >= 3]
    seen: set[str] = set()
    out = []
    for original in variants:
        word = _normalise(original)
        if word not in seen:
            seen.add(word)
            out.append((word, original))
    return out


class MunicipalityDirectory:
    """All municipalities of one data file with the indexes to find them by name."""

    def __init__(
        self,
        municipalities: Iterable[Municipality],
        aliases: Mapping[str, Iterable[str]] | None = None,
        inflected_forms: Mapping[str, Iterable[str]] | None = None,
        common_words: Iterable[str] = (),
        name_like_words: Iterable[str] = (),
    ) -> None:
        self._by_code: dict[str, Municipality] = {m.code: m for m in municipalities}
        self._exact: dict[str, _Entry] = {}
        self._stems: dict[str, _Entry] = {}
        self._exact_ascii: dict[str, _Entry] = {}
        self._stems_ascii: dict[str, _Entry] = {}
        self._substrings: list[tuple[str, _Entry]] = []  # names in scripts without spaces
        self._phrases: list[tuple[tuple[str, ...], frozenset[str], _Entry]] = []
        self._common = frozenset(_normalise(w) for w in common_words)
        self._name_like = frozenset(_normalise(w) for w in name_like_words)

        for m in self._by_code.values():
            self._add_name(m.code, m.name_fi, finnish=True)
            if m.name_sv != m.name_fi:
                self._add_name(m.code, m.name_sv, finnish=False)
        for code, names in (aliases or {}).items():
            self._require_code(code)
            for name in names:
                self._add_name(code, name, finnish=_is_latin(name))
        for code, forms in (inflected_forms or {}).items():
            self._require_code(code)
            for form in forms:
                key = _normalise(form)
                self._put(self._exact, key, _Entry(code, key, inflected=True, locative=True))
        known = set(self._exact)
        unknown = sorted(w for w in self._common | self._name_like if w not in known)
        if unknown:
            raise ValueError(f"common or name-like words not among the municipality names: {unknown}")
        self._ascii_names = {self._ascii_key(k): e for k, e in self._exact.items() if not e.inflected}

    # ---- building -------------------------------------------------------------

    def _require_code(self, code: str) -> None:
        if code not in self._by_code:
            raise ValueError(f"unknown municipality code {code!r} in aliases")

    @staticmethod
    def _ascii_key(key: str) -> str:
        return _ascii_fold(key) if _is_latin(key) else key

    def _put(self, index: dict[str, _Entry], key: str, entry: _Entry, fold: bool = True) -> None:
        # First writer wins: the data file comes before aliases, and nominatives are
        # added before stems of other names can claim the same string.
        index.setdefault(key, entry)
        ascii_index = self._exact_ascii if index is self._exact else self._stems_ascii
        if fold and _is_latin(key):
            ascii_index.setdefault(_ascii_fold(key), entry)

    def _add_name(self, code: str, name: str, finnish: bool) -> None:
        key = _normalise(name).strip()
        entry = _Entry(code, key, inflected=False, locative=False)
        # Letterless spellings are for Finnish names typed without ä/ö; folded Swedish
        # names collide with Swedish words (Storå -> "stora").
        self._put(self._exact, key, entry, fold=finnish)
        if any(unicodedata.name(c, "").startswith("CJK") for c in key):
            self._substrings.append((key, entry))
            return
        words = key.split()
        if len(words) > 1:
            last = words[-1]
            stems = finnish_stems(last) if finnish else {last}
            self._phrases.append((tuple(words), frozenset(stems), entry))
            return
        if finnish:
            for stem in finnish_stems(key):
                self._put(self._stems, stem, _Entry(code, key, inflected=True, locative=False))
        elif _is_latin(key) and not key.endswith(("s", "x", "z")):
            # Swedish genitive: Esbos, Vandas
            self._put(self._exact, key + "s", _Entry(code, key, inflected=True, locative=False), fold=False)

    # ---- loading --------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None, aliases_path: Path | None = None) -> MunicipalityDirectory:
        """The municipalities of `path` (default: the bundled 2021 file) with the
        bundled aliases. The default directory is built once and shared."""
        if path is None and aliases_path is None:
            return _default_directory()
        return cls._read(path or DEFAULT_PATH, aliases_path or DEFAULT_ALIASES_PATH)

    @classmethod
    def _read(cls, path: Path, aliases_path: Path) -> MunicipalityDirectory:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
            extra: dict[str, Any] = yaml.safe_load(Path(aliases_path).read_text(encoding="utf-8")) or {}
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise DataUnavailable(f"cannot read municipality data: {exc}") from exc
        rows = raw["municipalities"] if isinstance(raw, dict) else raw
        municipalities = [
            Municipality(code=str(r["code"]).zfill(3), name_fi=r["name_fi"], name_sv=r.get("name_sv") or r["name_fi"])
            for r in rows
        ]

        # YAML reads an unquoted 091 as a string but 853 as a number.
        def by_code(section: str) -> dict[str, list[str]]:
            return {str(code).zfill(3): list(names) for code, names in (extra.get(section) or {}).items()}

        return cls(
            municipalities,
            aliases=by_code("aliases"),
            inflected_forms=by_code("inflected_forms"),
            common_words=extra.get("common_words") or (),
            name_like_words=extra.get("name_like_words") or (),
        )

    # ---- queries --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Municipality]:
        return iter(self._by_code.values())

    def by_code(self, code: str) -> Municipality | None:
        """The municipality with this code; "91", "091" and "KU091" all work."""
        match = _CODE.match(str(code).strip())
        return self._by_code.get(match.group(1).zfill(3)) if match else None

    def resolve(self, text: str) -> Municipality | None:
        """The municipality a user typed into a municipality field: a code or a name in
        Finnish, Swedish or an alias, in any case or inflection, with or without
        Finnish letters, with a small typo, or inside a short phrase ("i Esbo")."""
        text = (text or "").strip()
        if not text:
            return None
        by_code = self.by_code(text)
        if by_code is not None:
            return by_code
        key = _normalise(text).strip(" \t.,;:!?\"'()")
        entry = self._exact.get(key) or (self._exact_ascii.get(_ascii_fold(key)) if _is_latin(key) else None)
        if entry is not None:
            return self._by_code[entry.code]
        hit = self._scan(text, strict=False)
        if hit is not None:
            return self._by_code[hit.entry.code]
        return self._fuzzy(key)

    def find_in_text(self, text: str) -> Municipality | None:
        """The first municipality mentioned in a free-text message, or None.

        Stricter than resolve(): no typo tolerance, one- and two-letter words never
        match, and names that are also ordinary words must be capitalised and either
        carry a locative ending, follow a place cue ("in", "i", "asun", "в") or stand
        somewhere other than the start of a sentence.
        """
        if not text or not text.strip():
            return None
        tokens = list(_TOKEN.finditer(_ARABIC_MARKS.sub("", text)))
        if len(tokens) == 1:
            # The whole message is one word, so it can only be meant as a place name.
            entry = self._lookup(tokens[0].group(), ascii_ok=True)
            if entry is not None:
                return self._by_code[entry.code]
        hit = self._scan(text, strict=True)
        return self._by_code[hit.entry.code] if hit is not None else None

    # ---- matching -------------------------------------------------------------

    def _lookup_word(self, word: str, exact: Mapping[str, _Entry], stems: Mapping[str, _Entry]) -> _Entry | None:
        if word in exact:
            return exact[word]
        cores = [word] + [word[: -len(c)] for c in _CLITICS if word.endswith(c) and len(word) - len(c) >= 2]
        for core in cores:
            if core != word and core in exact:
                return exact[core]
            for ending, locative in _ENDINGS:
                if core.endswith(ending) and len(core) - len(ending) >= 2:
                    entry = stems.get(core[: -len(ending)])
                    if entry is not None:
                        return _Entry(entry.code, entry.name, inflected=True, locative=locative)
            if len(core) >= 4 and core[-1] == "n" and core[-2] in _VOWELS:
                # illative: Helsinkiin, Turkuun, Lahteen, Kaskisiin; Iihin
                for stem in (core[:-2] if core[-3] == core[-2] else None, core[:-3] if core[-3] == "h" else None):
                    if stem and stem[-1:] == core[-2] and stem in stems:
                        entry = stems[stem]
                        return _Entry(entry.code, entry.name, inflected=True, locative=True)
            demonym = _DEMONYM.match(core)
            if demonym and demonym.group("stem") in stems:
                entry = stems[demonym.group("stem")]
                return _Entry(entry.code, entry.name, inflected=True, locative=True)
        return None

    def _lookup(self, token: str, ascii_ok: bool) -> _Entry | None:
        entry = self._lookup_variants(token, ascii_ok)
        _, apostrophe, suffix = token.replace("’", "'").partition("'")
        if entry is not None and apostrophe and _normalise(suffix) in _TURKISH_LOCATIVE:
            entry = _Entry(entry.code, entry.name, inflected=True, locative=True)
        return entry

    def _lookup_variants(self, token: str, ascii_ok: bool) -> _Entry | None:
        for word, _original in _token_variants(token):
            entry = self._lookup_word(word, self._exact, self._stems)
            if entry is None and not _is_latin(word):
                for prefix in _ARABIC_PREFIXES:  # attached Arabic prepositions: بهلسنكي
                    if word.startswith(prefix) and word[1:] in self._exact:
                        entry = self._exact[word[1:]]
                        break
            if entry is None and ascii_ok and _is_latin(word):
                entry = self._lookup_word(_ascii_fold(word), self._exact_ascii, self._stems_ascii)
            if entry is not None:
                return entry
        return None

    def _phrase_at(self, words: list[str], i: int) -> tuple[_Entry, int] | None:
        for phrase, last_stems, entry in self._phrases:
            n = len(phrase)
            if words[i : i + n - 1] != list(phrase[:-1]) or i + n > len(words):
                continue
            last = words[i + n - 1]
            if last == phrase[-1]:
                return entry, n
            for ending, locative in _ENDINGS:
                if last.endswith(ending) and last[: -len(ending)] in last_stems:
                    return _Entry(entry.code, entry.name, inflected=True, locative=locative), n
        return None

    def _scan(self, text: str, strict: bool) -> _Hit | None:
        cleaned = _ARABIC_MARKS.sub("", text)
        tokens = list(_TOKEN.finditer(cleaned))
        words = [_normalise(t.group()) for t in tokens]
        best: _Hit | None = None
        folded = _normalise(cleaned)
        for key, substring_entry in self._substrings:
            pos = folded.find(key)
            if pos >= 0 and (best is None or pos < best.start):
                best = _Hit(substring_entry, pos)
        for i, token in enumerate(tokens):
            if best is not None and token.start() > best.start:
                break
            phrase = self._phrase_at(words, i)
            if phrase is not None:
                return _Hit(phrase[0], token.start())
            original = token.group()
            if strict and sum(c.isalpha() for c in original) <= 2:
                continue
            # In free text only accept Finnish-letterless spellings from tokens that have
            # no non-ASCII letters: a word that has ä/ö but no match is not a typo.
            ascii_ok = not strict or original.isascii()
            entry = self._lookup(original, ascii_ok=ascii_ok)
            if entry is None:
                continue
            if strict and not self._plausible(entry, tokens, words, i):
                continue
            return _Hit(entry, token.start())
        return best

    def _plausible(self, entry: _Entry, tokens: list[re.Match[str]], words: list[str], i: int) -> bool:
        """Whether a match on a name that is also an ordinary word or a first name is
        meant as the place. Misses some real mentions on purpose ("Salo on ..." at the
        start of a message): a wrong municipality is worse than none. A capitalised
        locative at the start of a sentence is taken as the place ("Lahdessa on ..."),
        though "Pellossa" can be a field: in questions about public services the place
        is by far the likelier reading."""
        if entry.name not in self._common and entry.name not in self._name_like:
            return True
        before = words[i - 1] if i > 0 else None
        after = words[i + 1] if i + 1 < len(words) else None
        cue = before in _CUES_BEFORE or after in _CUES_AFTER
        if entry.name in self._name_like:
            return entry.locative or cue
        if not tokens[i].group()[:1].isupper():
            return entry.locative and before in _LIVING_CUES
        gap = tokens[i - 1].string[tokens[i - 1].end() : tokens[i].start()] if i > 0 else ""
        sentence_start = i == 0 or bool(_SENTENCE_BREAK.search(gap))
        return entry.locative or cue or not sentence_start

    def _fuzzy(self, key: str) -> Municipality | None:
        # Typos in a municipality field ("Helsinkki", "Vanta"): names only, no stems,
        # and not for very short input where everything is close to something.
        folded = _ascii_fold(key) if _is_latin(key) else key
        if len(folded) < 4 or " " in folded:
            return None
        close = difflib.get_close_matches(folded, list(self._ascii_names), n=1, cutoff=0.85)
        return self._by_code[self._ascii_names[close[0]].code] if close else None


@lru_cache(maxsize=1)
def _default_directory() -> MunicipalityDirectory:
    return MunicipalityDirectory._read(DEFAULT_PATH, DEFAULT_ALIASES_PATH)
