"""Read the bundled catalogue files: their attribution and their records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.contracts import ServiceText
from knowledge_base.errors import DataUnavailable

SOURCES_FILE = "sources.yml"


@dataclass(frozen=True)
class Source:
    file: str
    title: str
    licence: str
    licence_url: str
    origin: str
    id_prefix: str | None = None
    organisation: dict[str, str] | None = None


def load_sources(data_dir: Path) -> list[Source]:
    path = data_dir / SOURCES_FILE
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataUnavailable(f"cannot read {path}: {error.strerror}") from error
    return [Source(**entry) for entry in entries]


def catalogue_sources(data_dir: Path) -> list[Source]:
    """The sources that hold service records (they name an owning organisation)."""
    return [source for source in load_sources(data_dir) if source.organisation]


def read_records(data_dir: Path, source: Source) -> Iterator[dict[str, Any]]:
    path = data_dir / source.file
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise DataUnavailable(f"cannot read catalogue file {path}: {error.strerror}") from error
    with handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise DataUnavailable(f"{path}:{line_number}: not valid JSON ({error.msg})") from error


def record_hash(record: dict[str, Any], scheme: int) -> str:
    canonical = json.dumps([scheme, record], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_texts(record: dict[str, Any]) -> dict[str, ServiceText]:
    synonyms = record.get("synonyms") or {}
    languages = set(record["names"]) | set(record["summaries"]) | set(record["descriptions"])
    return {
        language: ServiceText(
            language=language,
            name=record["names"].get(language) or "",
            summary=record["summaries"].get(language) or "",
            description=record["descriptions"].get(language) or "",
            synonyms=synonyms.get(language) or "",
        )
        for language in sorted(languages)
    }


LIFE_EVENTS_FILE = "life_events.yml"


def load_life_event_names(data_dir: Path) -> dict[str, str]:
    """PTV life-event code -> the event name the Helsinki register uses."""
    path = data_dir / LIFE_EVENTS_FILE
    try:
        return {str(code): str(name) for code, name in yaml.safe_load(path.read_text(encoding="utf-8")).items()}
    except OSError as error:
        raise DataUnavailable(f"cannot read {path}: {error.strerror}") from error


def record_life_events(record: dict[str, Any], names_by_code: dict[str, str]) -> list[str]:
    """Life events as names: Helsinki records carry names, PTV records code objects."""
    events = []
    for event in record.get("life_events", []):
        if isinstance(event, str):
            events.append(event)
        elif event.get("code") in names_by_code:
            events.append(names_by_code[event["code"]])
    return sorted(set(events))


SAFETY_CONTACTS_FILE = "safety_contacts.yml"


def load_safety_contacts(data_dir: Path) -> dict[str, str]:
    """Emergency and crisis numbers, kept as data so they can be edited without code."""
    path = data_dir / SAFETY_CONTACTS_FILE
    try:
        contacts = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataUnavailable(f"cannot read {path}: {error.strerror}") from error
    return {str(key): str(value) for key, value in contacts.items()}
