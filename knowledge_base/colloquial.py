"""Spoken Finnish rewritten to standard Finnish before a Finnish question is searched.

Chat messages are written as people speak ("oon 16 ja haluisin kesäks töitä"); the
lemmatizer (libvoikko) knows only standard forms, so "kesäks" never met "kesä" in the
catalogue. The rules live in data/finnish_colloquial.yml: whole words, slang stems, and
ending rewrites that are kept only when libvoikko knows the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "finnish_colloquial.yml"
_WORD = re.compile(r"\w+")
MIN_REWRITE_LENGTH = 3  # "ks", "is": too short to tell a spoken form from a typo


@dataclass(frozen=True)
class ColloquialFinnish:
    words: Mapping[str, str]
    stems: Sequence[tuple[str, str]]  # longest first
    endings: Sequence[tuple[re.Pattern[str], str]]

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> ColloquialFinnish:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(
            words={str(k).lower(): str(v) for k, v in data["words"].items()},
            stems=sorted(((str(k).lower(), str(v)) for k, v in data["stems"].items()), key=lambda kv: -len(kv[0])),
            endings=[(re.compile(pattern), replacement) for pattern, replacement in data["endings"]],
        )

    def standard(self, text: str, is_word: Callable[[str], bool]) -> str:
        """`text` with every spoken form replaced; `is_word` tells whether libvoikko knows
        a word (a known word is left alone unless the word list names it)."""
        return _WORD.sub(lambda match: _same_case(match.group(0), self._word(match.group(0), is_word)), text)

    def _word(self, surface: str, is_word: Callable[[str], bool]) -> str:
        lower = surface.lower()
        if lower in self.words:
            return self.words[lower]
        if not lower.isalpha() or len(lower) < MIN_REWRITE_LENGTH or is_word(lower):
            return surface
        for stem, standard in self.stems:
            if lower.startswith(stem):
                return standard
        for candidate in self._rewrites(lower):
            if is_word(candidate):
                return candidate
        return surface

    def _rewrites(self, word: str) -> Iterator[str]:
        """Each result of one ending rule, then of two rules applied in order, made only
        as far as the caller reads (it stops at the first word libvoikko knows)."""
        seen = {word}
        once = [pattern.sub(replacement, word, count=1) for pattern, replacement in self.endings]
        for candidate in once:
            if candidate not in seen:
                seen.add(candidate)
                yield candidate
        for i, first in enumerate(once):
            if first == word:
                continue
            for j, (pattern, replacement) in enumerate(self.endings):
                twice = pattern.sub(replacement, first, count=1) if j != i else first
                if twice not in seen:
                    seen.add(twice)
                    yield twice

def _same_case(surface: str, replacement: str) -> str:
    """"Kelast" -> "Kelasta": a capital first letter stays capital (a name stays a name)."""
    if replacement is surface or not surface[:1].isupper():
        return replacement
    return replacement[:1].upper() + replacement[1:]
