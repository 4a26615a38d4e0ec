"""Query and write functions over the catalogue tables. They take `session=` and
never commit: the caller (a route, a CLI command) owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base.contracts import CuratedEligibility, ServiceRecord, ServiceText
from knowledge_base.errors import NotFound
from knowledge_base.models import Organisation, Service
from knowledge_base.models import ServiceText as ServiceTextRow

PUBLISHED = "published"
OUTDATED = "outdated"
# What search, the bot and the public service view may show: outdated services stay
# visible with a notice; draft, on_hold and archived ones never are.
VISIBLE = (PUBLISHED, OUTDATED)


def curated_of(data: dict[str, object] | None) -> CuratedEligibility:
    data = data or {}

    def codes(name: str) -> tuple[str, ...]:
        return tuple(str(v) for v in data.get(name) or ())  # type: ignore[union-attr]

    def number(name: str) -> int | None:
        value = data.get(name)
        return int(value) if isinstance(value, (int, str)) and str(value).strip() else None

    immigrants = data.get("immigrants")
    return CuratedEligibility(
        age_min=number("age_min"),
        age_max=number("age_max"),
        municipalities=codes("municipalities"),
        employment_statuses=codes("employment_statuses"),
        target_groups=codes("target_groups"),
        life_events=codes("life_events"),
        immigrants=immigrants if isinstance(immigrants, bool) else None,
    )


def to_record(row: Service) -> ServiceRecord:
    return ServiceRecord(
        id=row.id,
        organisation_id=row.organisation_id,
        area_type=row.area_type,
        municipality_code=row.municipality_code,
        texts={
            text.language: ServiceText(text.language, text.name, text.summary, text.description, text.synonyms)
            for text in row.texts
        },
        source_url=row.source_url,
        licence=row.licence,
        target_groups=tuple(row.target_groups),
        life_events=tuple(row.life_events),
        links=dict(row.links),
        channels=tuple(row.channels),
        age_min=row.extracted_age_min,
        age_max=row.extracted_age_max,
        immigrants=row.extracted_immigrants,
        employment_statuses=tuple(row.extracted_employment_statuses),
        organisation_name=row.organisation.name if row.organisation else "",
        imported_on=row.imported_at.date().isoformat() if row.imported_at else "",
        curated=curated_of(row.curated_eligibility),
        outdated=row.status == OUTDATED,
    )


def published_services(*, session: Session) -> list[ServiceRecord]:
    rows = session.scalars(select(Service).where(Service.status.in_(VISIBLE)).order_by(Service.id))
    return [to_record(row) for row in rows]


def visible_services(*, session: Session, service_ids: list[str]) -> dict[str, ServiceRecord | None]:
    """The searchable record of each id, or None for one search must no longer show."""
    found: dict[str, ServiceRecord | None] = {service_id: None for service_id in service_ids}
    for row in session.scalars(select(Service).where(Service.id.in_(service_ids), Service.status.in_(VISIBLE))):
        found[row.id] = to_record(row)
    return found


def get_service(*, session: Session, service_id: str) -> ServiceRecord:
    row = session.get(Service, service_id)
    if row is None or row.status not in VISIBLE:
        raise NotFound(f"no published service {service_id!r}")
    return to_record(row)


def count_services(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Service)) or 0


def ensure_organisation(*, session: Session, organisation_id: str, name: str) -> None:
    if session.get(Organisation, organisation_id) is None:
        session.add(Organisation(id=organisation_id, name=name))
        session.flush()


def get_row(*, session: Session, service_id: str) -> Service | None:
    return session.get(Service, service_id)


def replace_texts(row: Service, texts: dict[str, ServiceText]) -> None:
    """Set the public texts of a service, keeping any internal instructions."""
    instructions = {text.language: text.internal_instructions for text in row.texts}
    row.texts = [
        ServiceTextRow(
            language=language,
            name=text.name,
            summary=text.summary,
            description=text.description,
            synonyms=text.synonyms,
            internal_instructions=instructions.get(language, ""),
        )
        for language, text in texts.items()
    ]


def mark_edited(*, session: Session, service_id: str, when: datetime) -> None:
    """Record that an editor changed the service, so re-import leaves it alone."""
    row = session.get(Service, service_id)
    if row is None:
        raise NotFound(f"no service {service_id!r}")
    row.edited_at = when
