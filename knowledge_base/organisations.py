"""The participating organisations, their chat opening hours, and the queue's code
lists (topics, outcomes), read from knowledge_base/data/*.yml.

`seed_organisations` writes organisations.yml into the organisations table (set-up and
`opastin kb import`); `is_open` answers from the stored hours, so every API worker
sees the same hours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session

from knowledge_base.errors import DataUnavailable
from knowledge_base.models import Organisation

ORGANISATIONS_FILE = "organisations.yml"
OUTCOMES_FILE = "outcomes.yml"
TOPICS_FILE = "topics.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OTHER_TOPIC = "other"


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DataUnavailable(f"cannot read {path}: {error}") from error


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def load_organisations(data_dir: Path) -> list[dict[str, Any]]:
    """Organisations as in the file, each with `hours.holidays` = public holidays + its closed dates.
    A data folder without the file (a small test catalogue) has none."""
    path = data_dir / ORGANISATIONS_FILE
    if not path.exists():
        return []
    raw = _read_yaml(path) or {}
    public = [_iso(day) for day in raw.get("public_holidays") or []]
    result = []
    for entry in raw.get("organisations") or []:
        hours = dict(entry.get("hours") or {})
        if hours:
            hours["holidays"] = sorted({*public, *(_iso(day) for day in hours.pop("closed_dates", None) or [])})
            for day, ranges in (hours.get("weekly") or {}).items():
                if day not in WEEKDAYS or any(len(r) != 2 for r in ranges):
                    raise DataUnavailable(f"{ORGANISATIONS_FILE}: bad hours for {entry['id']} on {day!r}")
        result.append({**entry, "hours": hours, "participating": bool(entry.get("participating"))})
    return result


def seed_organisations(*, session: Session, data_dir: Path) -> int:
    """Add the file's organisations and bring kind, participation and hours up to date."""
    count = 0
    for entry in load_organisations(data_dir):
        row = session.get(Organisation, entry["id"])
        if row is None:
            row = Organisation(id=entry["id"], name=entry["name"])
            session.add(row)
        row.kind = entry.get("kind")
        row.participating = entry["participating"]
        row.hours = entry["hours"]
        count += 1
    session.flush()
    return count


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def is_open(hours: dict[str, Any], now: datetime) -> bool:
    """Whether chat is open at `now` by these hours; no hours at all means always open."""
    if not hours or not hours.get("weekly"):
        return True
    local = now.astimezone(ZoneInfo(hours.get("timezone") or "Europe/Helsinki"))
    if local.date().isoformat() in set(hours.get("holidays") or []):
        return False
    minute = local.hour * 60 + local.minute
    for start, end in hours["weekly"].get(WEEKDAYS[local.weekday()], []):
        if _minutes(start) <= minute < _minutes(end):
            return True
    return False




@dataclass(frozen=True)
class Outcome:
    code: str
    labels: dict[str, str]
    needs_service: bool = False
    system: bool = False

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.code


@lru_cache(maxsize=4)
def load_outcomes(data_dir: Path) -> tuple[Outcome, ...]:
    entries = _read_yaml(data_dir / OUTCOMES_FILE) or []
    return tuple(
        Outcome(e["code"], dict(e.get("label") or {}), bool(e.get("needs_service")), bool(e.get("system")))
        for e in entries
    )


@dataclass(frozen=True)
class Topics:
    codes: tuple[str, ...]
    by_life_event: dict[str, str]
    words: tuple[tuple[str, re.Pattern[str]], ...]
    employment: tuple[tuple[str, re.Pattern[str]], ...]

    def topic(self, life_events: list[str], text: str) -> str:
        for event in life_events:
            if event in self.by_life_event:
                return self.by_life_event[event]
        lowered = text.lower()
        for code, pattern in self.words:
            if pattern.search(lowered):
                return code
        return OTHER_TOPIC

    def employment_status(self, text: str) -> str | None:
        lowered = text.lower()
        for status, pattern in self.employment:
            if pattern.search(lowered):
                return status
        return None


def _word_start(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w.lower()) for w in words) + ")")


@lru_cache(maxsize=4)
def load_topics(data_dir: Path) -> Topics:
    raw = _read_yaml(data_dir / TOPICS_FILE) or {}
    by_event: dict[str, str] = {}
    words = []
    for entry in raw.get("topics") or []:
        for event in entry.get("life_events") or []:
            by_event.setdefault(event, entry["code"])
        words.append((entry["code"], _word_start(entry.get("words") or [entry["code"]])))
    employment = tuple((status, _word_start(ws)) for status, ws in (raw.get("employment_statuses") or {}).items())
    codes = tuple(code for code, _ in words) + (OTHER_TOPIC,)
    return Topics(codes, by_event, tuple(words), employment)
