"""Import the bundled catalogue files into the store.

Idempotent: a record whose source text is unchanged is left alone; a changed record
is updated unless an editor has changed it, in which case it is flagged
`source_changed` and, when no draft is open, the new source text becomes a draft for
the editors to review (never published by the import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from knowledge_base import repository
from knowledge_base.eligibility import extract_eligibility
from knowledge_base.models import Service
from knowledge_base.organisations import seed_organisations
from knowledge_base.sources import (
    Source,
    catalogue_sources,
    load_life_event_names,
    read_records,
    record_hash,
    record_life_events,
    record_texts,
)


# Bump when _apply maps source fields differently: every record is then applied again.
IMPORT_SCHEME = 2


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    source_changed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.source_changed)

    def summary(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in vars(self).items()}


def _apply(
    row: Service, record: dict[str, Any], source: Source, digest: str, now: datetime, life_events: dict[str, str]
) -> None:
    eligibility = extract_eligibility(record)
    municipality = record.get("municipality") or {}
    row.source = record["source"]
    row.source_id = str(record["source_id"])
    row.source_url = record.get("source_url")
    row.licence = source.licence
    row.organisation_id = source.organisation["id"] if source.organisation else ""
    row.area_type = "local" if municipality.get("code") else "national"
    row.municipality_code = municipality.get("code")
    row.general_description_id = record.get("general_description_id")
    row.target_groups = [group["code"] for group in record.get("target_groups", []) if group.get("code")]
    row.life_events = record_life_events(record, life_events)
    row.service_classes = [cls["code"] for cls in record.get("service_classes", [])]
    row.channels = list(record.get("channels", []))
    row.links = dict(record.get("links") or {})
    row.extracted_age_min = eligibility.age_min
    row.extracted_age_max = eligibility.age_max
    row.extracted_immigrants = eligibility.immigrants
    row.extracted_employment_statuses = list(eligibility.employment_statuses)
    row.source_hash = digest
    row.imported_at = now
    row.source_changed = False
    repository.replace_texts(row, record_texts(record))


def _draft_from_source(session: Session, row: Service, record: dict[str, Any], now: datetime) -> bool:
    """Put the changed source text into a new draft (public texts only; the editors'
    internal instructions and curated fields stay). False when a draft is already open,
    so an editor's work in progress is never overwritten."""
    from knowledge_base import content

    if content.open_draft(session, row.id) is not None:
        return False
    draft = content.start_draft(session=session, principal=None, service_id=row.id, now=now, actor=content.SYSTEM)
    data = {**draft.content, "texts": {lang: dict(fields) for lang, fields in draft.content["texts"].items()}}
    for language, text in record_texts(record).items():
        fields = data["texts"].setdefault(language, {"internal_instructions": ""})
        fields.update(name=text.name, summary=text.summary, description=text.description, synonyms=text.synonyms)
    draft.content = data
    draft.lock += 1
    content.audit(session, content.SYSTEM, "source_changed", now, service_id=row.id, version_id=draft.id)
    return True


def import_catalogue(
    *,
    session: Session,
    data_dir: Path,
    now: datetime,
    progress: Callable[[Iterable[dict[str, Any]], int], Iterable[dict[str, Any]]] | None = None,
) -> ImportReport:
    report = ImportReport()
    life_events = load_life_event_names(data_dir)
    seed_organisations(session=session, data_dir=data_dir)
    for source in catalogue_sources(data_dir):
        assert source.organisation is not None
        repository.ensure_organisation(
            session=session, organisation_id=source.organisation["id"], name=source.organisation["name"]
        )
        records: Iterable[dict[str, Any]] = list(read_records(data_dir, source))
        if progress is not None:
            records = progress(records, len(records))  # type: ignore[arg-type]
        for record in records:
            digest = record_hash(record, IMPORT_SCHEME)
            row = repository.get_row(session=session, service_id=record["id"])
            if row is None:
                row = Service(id=record["id"], status=repository.PUBLISHED)
                _apply(row, record, source, digest, now, life_events)
                session.add(row)
                report.created.append(row.id)
            elif row.source_hash == digest:
                report.unchanged.append(row.id)
            elif row.edited_at is not None:
                row.source_changed = True
                if _draft_from_source(session, row, record, now):
                    row.source_hash = digest  # this source version now waits in a draft
                report.source_changed.append(row.id)
            else:
                _apply(row, record, source, digest, now, life_events)
                report.updated.append(row.id)
    session.flush()
    return report
