"""A backstop for the bot's safety intent: specific terms in every supported language
(knowledge_base/data/safety_terms.yml) that mean someone may be in danger now."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml

from knowledge_base.errors import DataUnavailable

SAFETY_TERMS_FILE = "safety_terms.yml"


def _pattern(term: str) -> str:
    # A Latin-script term starts a word ("raped" must not match "scraped"). Other
    # scripts match anywhere: Arabic joins prefixes to words, Chinese has no spaces.
    folded = re.escape(term.casefold())
    return rf"(?<!\w){folded}" if "LATIN" in unicodedata.name(term[0], "") else folded


class SafetyTerms:
    def __init__(self, terms: dict[str, list[str]]) -> None:
        unique = sorted({term.strip() for values in terms.values() for term in values if term.strip()})
        self._pattern = re.compile("|".join(_pattern(term) for term in unique)) if unique else None

    @classmethod
    def load(cls, data_dir: Path) -> SafetyTerms:
        path = data_dir / SAFETY_TERMS_FILE
        try:
            return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except OSError as error:
            raise DataUnavailable(f"cannot read {path}: {error.strerror}") from error

    def matches(self, text: str) -> bool:
        # Every language's terms: people in distress mix languages.
        folded = " ".join(text.casefold().split())
        return bool(self._pattern and self._pattern.search(folded))
