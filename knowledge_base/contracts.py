"""Plain values passed between the store, the index and callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceText:
    language: str
    name: str
    summary: str = ""
    description: str = ""
    synonyms: str = ""


@dataclass(frozen=True)
class CuratedEligibility:
    """Eligibility an editor set and an approver published: the only eligibility that
    may exclude a service from search. Empty lists and None mean "no restriction"."""

    age_min: int | None = None
    age_max: int | None = None
    municipalities: tuple[str, ...] = ()  # municipality codes
    employment_statuses: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    life_events: tuple[str, ...] = ()
    immigrants: bool | None = None  # True: meant for immigrants (ranks and explains; no query field filters it)


@dataclass(frozen=True)
class ServiceRecord:
    """A published service as search and the bot see it (no internal instructions)."""

    id: str
    organisation_id: str
    area_type: str  # "local" or "national"
    municipality_code: str | None
    texts: dict[str, ServiceText]
    source_url: str | None = None
    licence: str = ""
    target_groups: tuple[str, ...] = ()
    life_events: tuple[str, ...] = ()
    links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    channels: tuple[dict[str, Any], ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    immigrants: bool = False
    employment_statuses: tuple[str, ...] = ()
    organisation_name: str = ""
    imported_on: str = ""  # ISO date the source text was imported or last reviewed
    curated: CuratedEligibility = field(default_factory=CuratedEligibility)
    outdated: bool = False  # not reviewed in time: shown with a notice, never silently


@dataclass(frozen=True)
class Contact:
    """How to reach a service, from its channels; every field may be missing."""

    phone: str | None = None
    email: str | None = None
    address: str | None = None
    hours: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Query:
    text: str
    language: str | None = None  # the caller's language; None means detect
    age: int | None = None
    municipality: str | None = None  # code or name, any inflection
    target_group: str | None = None  # PTV code, e.g. KR1.3
    life_event: str | None = None  # e.g. IMMIGRATING_TO_FINLAND
    employment_status: str | None = None
    service_language: str | None = None  # only services with text in this language
    top_k: int = 5


@dataclass(frozen=True)
class SearchHit:
    id: str
    score: float
    name: str
    summary: str
    text_language: str
    url: str | None
    why: list[str]
    eligibility: str  # "fits" or "unknown"


@dataclass(frozen=True)
class SearchResult:
    language: str
    results: list[SearchHit]
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FaqEntry:
    """A published FAQ answer as the bot sees it."""

    id: int
    language: str
    question: str
    answer: str
    service_id: str | None = None
