"""Translation catalogue of user-facing strings: one YAML file per supported language
in knowledge_base/messages/, flat dotted keys plus a `_meta` mapping.

A key missing in a language falls back to English, then Finnish, so a new key can
land in en.yml before every translation is in; tests/test_i18n.py keeps the files
complete for releases.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from knowledge_base.errors import DataUnavailable
from knowledge_base.language import SUPPORTED_LANGUAGES, check_language

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
FALLBACK_LANGUAGES: tuple[str, ...] = ("en", "fi")
META_KEY = "_meta"


def placeholders(template: str) -> set[str]:
    """Names of the {placeholders} in a message template."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


class Catalogue:
    """Message templates by language and key."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], meta: Mapping[str, Mapping[str, Any]]) -> None:
        self._texts = MappingProxyType({lang: MappingProxyType(dict(t)) for lang, t in texts.items()})
        self._meta = MappingProxyType({lang: MappingProxyType(dict(m)) for lang, m in meta.items()})

    @classmethod
    def load(cls, directory: Path | None = None) -> Catalogue:
        """Every `<language>.yml` of `directory` (default: knowledge_base/messages).
        The default catalogue is read once and shared."""
        if directory is None:
            return _default_catalogue()
        return cls._read(Path(directory))

    @classmethod
    def _read(cls, directory: Path) -> Catalogue:
        if not directory.is_dir():
            raise DataUnavailable(f"message directory {directory} not found")
        texts: dict[str, dict[str, str]] = {}
        meta: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.yml")):
            language = path.stem
            if language not in SUPPORTED_LANGUAGES:
                raise DataUnavailable(f"{path.name}: {language!r} is not a supported language")
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise DataUnavailable(f"cannot read {path}: {exc}") from exc
            if not isinstance(raw, dict):
                raise DataUnavailable(f"{path.name}: expected a mapping of keys to texts")
            file_meta = raw.pop(META_KEY, None) or {}
            if file_meta.get("language") != language:
                raise DataUnavailable(f"{path.name}: _meta.language is {file_meta.get('language')!r}")
            bad = sorted(k for k, v in raw.items() if not isinstance(v, str))
            if bad:
                raise DataUnavailable(f"{path.name}: values must be strings: {bad}")
            texts[language] = raw
            meta[language] = file_meta
        if not texts:
            raise DataUnavailable(f"no message files in {directory}")
        return cls(texts, meta)

    def text(self, key: str, language: str, **params: object) -> str:
        """The message `key` in `language` (else English, else Finnish) with `params`
        filled in. KeyError for an unknown key or a placeholder left without a value;
        UnsupportedLanguage for an unknown language code."""
        for candidate in (check_language(language), *FALLBACK_LANGUAGES):
            texts = self._texts.get(candidate)
            template = texts.get(key) if texts is not None else None
            if template is not None:
                return template.format_map(params)
        raise KeyError(key)

    def template(self, key: str, language: str) -> str | None:
        """The raw template of `key` in exactly `language`, without fallback."""
        texts = self._texts.get(check_language(language))
        return texts.get(key) if texts is not None else None

    def keys(self) -> set[str]:
        return {key for texts in self._texts.values() for key in texts}

    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in SUPPORTED_LANGUAGES if lang in self._texts)

    def meta(self, language: str) -> dict[str, Any]:
        return dict(self._meta[check_language(language)])


@lru_cache(maxsize=1)
def _default_catalogue() -> Catalogue:
    return Catalogue._read(MESSAGES_DIR)
