"""Export and import service content: JSONL in the catalogue's schema (`names`,
`summaries`, `descriptions`, `synonyms` keyed by language, as the bundled files) plus
the curated fields, or CSV with one row per service and language. An import never
publishes: each changed service gets a draft for review. A dry run reports the same
plan (with diffs) and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base import content, content_model
from knowledge_base.accounts import Principal
from knowledge_base.errors import InvalidQuery
from knowledge_base.models import Service
from knowledge_base.municipalities import MunicipalityDirectory

FORMATS = ("jsonl", "csv")
TEXT_KEYS = {"name": "names", "summary": "summaries", "description": "descriptions", "synonyms": "synonyms",
             "internal_instructions": "internal_instructions"}  # fmt: skip
CSV_COLUMNS = ("id", "language", *content_model.TEXT_FIELDS, "age_min", "age_max", "municipalities",
               "employment_statuses", "target_groups", "life_events", "immigrants")  # fmt: skip
MAX_IMPORT_RECORDS = 10_000


def _current(session: Session, row: Service) -> dict[str, Any]:
    draft = content.open_draft(session, row.id)
    return draft.content if draft is not None else content_model.content_of(row)


def export_records(session: Session, organisation_ids: frozenset[str] | None) -> list[dict[str, Any]]:
    """One record per service (its open draft when there is one, else the live content)."""
    query = select(Service).order_by(Service.id)
    if organisation_ids is not None:
        query = query.where(Service.organisation_id.in_(sorted(organisation_ids)))
    records = []
    for row in session.scalars(query):
        data = _current(session, row)
        record: dict[str, Any] = {"id": row.id, "source": row.source, "source_id": row.source_id,
                                  "source_url": row.source_url, "organisation_id": row.organisation_id,
                                  "status": row.status}  # fmt: skip
        for field_name, key in TEXT_KEYS.items():
            record[key] = {lang: texts.get(field_name, "") for lang, texts in sorted(data["texts"].items())}
        record["eligibility"] = data["eligibility"]
        record["channels"] = data["channels"]
        record["links"] = data["links"]
        records.append(record)
    return records


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for record in records:
        eligibility = record["eligibility"]
        for language in sorted(record["names"]):
            row = {"id": record["id"], "language": language}
            row.update({f: record[k].get(language, "") for f, k in TEXT_KEYS.items()})
            for name in ("age_min", "age_max"):
                row[name] = "" if eligibility.get(name) is None else str(eligibility[name])
            for name in content_model.LIST_FIELDS:
                row[name] = ";".join(eligibility.get(name) or [])
            immigrants = eligibility.get("immigrants")
            row["immigrants"] = "" if immigrants is None else str(immigrants).lower()
            writer.writerow(row)
    return out.getvalue()


def parse(text: str, fmt: str) -> dict[str, dict[str, Any]]:
    """Incoming records by service id, each a partial content document."""
    if fmt not in FORMATS:
        raise InvalidQuery(f"format must be one of {', '.join(FORMATS)}")
    incoming: dict[str, dict[str, Any]] = {}
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InvalidQuery(f"line {number}: not valid JSON ({error.msg})") from error
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise InvalidQuery(f"line {number}: expected an object with an id")
            partial: dict[str, Any] = {"texts": {}}
            for field_name, key in TEXT_KEYS.items():
                for language, value in (record.get(key) or {}).items():
                    partial["texts"].setdefault(language, {})[field_name] = value
            for key in ("eligibility", "channels", "links"):
                if key in record:
                    partial[key] = record[key]
            incoming[record["id"]] = partial
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = {"id", "language"} - set(reader.fieldnames or [])
        if missing:
            raise InvalidQuery(f"CSV needs the columns {', '.join(sorted(missing))}")
        for row in reader:
            partial = incoming.setdefault(row["id"], {"texts": {}})
            partial["texts"][row["language"]] = {f: row[f] for f in content_model.TEXT_FIELDS if row.get(f) is not None}
            if any(name in row for name in ("age_min", *content_model.LIST_FIELDS)):
                eligibility: dict[str, Any] = {name: row.get(name) or None for name in ("age_min", "age_max")}
                for name in content_model.LIST_FIELDS:
                    eligibility[name] = [v for v in (row.get(name) or "").split(";") if v.strip()]
                eligibility["immigrants"] = row.get("immigrants") or None
                partial["eligibility"] = eligibility
    if len(incoming) > MAX_IMPORT_RECORDS:
        raise InvalidQuery(f"at most {MAX_IMPORT_RECORDS:,} services per import")
    return incoming


@dataclass
class ImportPlan:
    changed: dict[str, list[str]] = field(default_factory=dict)  # service id -> diff lines
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    drafts: dict[str, int] = field(default_factory=dict)  # service id -> draft version id (after apply)
    _content: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"changed": sorted(self.changed), "unchanged": len(self.unchanged), "unknown": self.unknown,
                "forbidden": self.forbidden, "invalid": self.invalid, "drafts": self.drafts,
                "diffs": self.changed}  # fmt: skip


def _merge(current: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    merged = json.loads(json.dumps(current))
    for language, fields in (partial.get("texts") or {}).items():
        if isinstance(fields, dict):
            merged["texts"].setdefault(language, {f: "" for f in content_model.TEXT_FIELDS}).update(fields)
        else:
            merged["texts"][language] = fields  # validation reports it
    for key in ("eligibility", "channels", "links"):
        if key in partial:
            merged[key] = partial[key]
    return merged


def plan_import(session: Session, incoming: dict[str, dict[str, Any]], municipalities: MunicipalityDirectory,
                allowed: Callable[[str], bool]) -> ImportPlan:  # fmt: skip
    """What an import would change; `allowed(organisation_id)` says where the caller may edit."""
    plan = ImportPlan()
    for service_id, partial in sorted(incoming.items()):
        row = session.get(Service, service_id)
        if row is None:
            plan.unknown.append(service_id)
            continue
        if not allowed(row.organisation_id):
            plan.forbidden.append(service_id)
            continue
        current = _current(session, row)
        try:
            new = content_model.validate(_merge(current, partial), municipalities)
        except InvalidQuery as error:
            plan.invalid[service_id] = str(error)
            continue
        lines = content_model.diff(current, new, "current", "import")
        if lines:
            plan.changed[service_id] = lines
            plan._content[service_id] = new
        else:
            plan.unchanged.append(service_id)
    return plan


def apply_import(session: Session, plan: ImportPlan, principal: Principal | None, municipalities: MunicipalityDirectory,
                 now: datetime) -> ImportPlan:  # fmt: skip
    """Write the planned changes as drafts (never published). Without a principal
    (the CLI, an administrator's tool) the system is the actor."""
    for service_id, new in plan._content.items():
        draft = content.start_draft(session=session, principal=principal, service_id=service_id, now=now,
                                    actor=None if principal else content.SYSTEM)  # fmt: skip
        if principal is not None:
            draft = content.save_draft(session=session, principal=principal, version_id=draft.id, lock=draft.lock,
                                       content=new, municipalities=municipalities, now=now)  # fmt: skip
        else:
            draft.content, draft.lock, draft.state, draft.updated_at = new, draft.lock + 1, content.DRAFT, now
            content.audit(session, content.SYSTEM, "imported", now, service_id=service_id, version_id=draft.id)
        plan.drafts[service_id] = draft.id
    session.flush()
    return plan
