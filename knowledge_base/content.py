"""The approval workflow of service content, with role checks and an audit log.

    draft ──submit──▶ ready_for_review ──publish──▶ published (live)
      ▲                    │ return
      └────────────────────┘
    live service status: published · on_hold · outdated · archived (approver)

Editing a published service opens a new draft version; the published text stays
live until an approver publishes the draft, which swaps them in one transaction
together with a `catalogue_changes` row that every searching process applies.
Functions take `session=` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge_base import content_model, repository
from knowledge_base.accounts import Principal
from knowledge_base.errors import Conflict, Forbidden, InvalidQuery, NotFound
from knowledge_base.catalogue_changes import record_change
from knowledge_base.models import AuditEntry, ContentNotification, Service, ServiceVersion
from knowledge_base.models import ServiceText as ServiceTextRow
from knowledge_base.municipalities import MunicipalityDirectory

DRAFT = "draft"
READY = "ready_for_review"
PUBLISHED = "published"
SUPERSEDED = "superseded"
OPEN_STATES = (DRAFT, READY)
SERVICE_STATUSES = ("draft", "published", "on_hold", "outdated", "archived")
# Who may do what, by organisation role (a platform admin may do everything).
EDIT_ROLES = ("editor",)
APPROVE_ROLES = ("approver",)
READ_ROLES = ("editor", "approver")
INSTRUCTION_READERS = ("counsellor", "supervisor", "editor", "approver")


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in principal, or the system (import, freshness job)."""

    user_id: int | None
    name: str


SYSTEM = Actor(None, "system")


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.email)


def require(principal: Principal, roles: tuple[str, ...], organisation_id: str) -> None:
    if not principal.has_any_role(roles, organisation_id):
        raise Forbidden(f"needs the role {' or '.join(roles)} in organisation {organisation_id}")


def may_read(principal: Principal, organisation_id: str) -> bool:
    return principal.has_any_role(READ_ROLES, organisation_id)


def audit(session: Session, actor: Actor, action: str, now: datetime, *, service_id: str | None = None,
          version_id: int | None = None, **detail: Any) -> None:  # fmt: skip
    session.add(AuditEntry(at=now, user_id=actor.user_id, actor=actor.name, action=action, service_id=service_id,
                           version_id=version_id, detail=detail))  # fmt: skip


def get_service_row(session: Session, service_id: str) -> Service:
    row = session.get(Service, service_id)
    if row is None:
        raise NotFound(f"no service {service_id!r}")
    return row


def get_version(session: Session, version_id: int) -> ServiceVersion:
    version = session.get(ServiceVersion, version_id)
    if version is None:
        raise NotFound(f"no version {version_id}")
    return version


def open_draft(session: Session, service_id: str) -> ServiceVersion | None:
    return session.scalar(
        select(ServiceVersion).where(ServiceVersion.service_id == service_id, ServiceVersion.state.in_(OPEN_STATES))
    )


def versions(session: Session, service_id: str) -> list[ServiceVersion]:
    return list(
        session.scalars(select(ServiceVersion).where(ServiceVersion.service_id == service_id).order_by(ServiceVersion.number.desc()))
    )


def _next_number(session: Session, service_id: str) -> int:
    return (session.scalar(select(func.max(ServiceVersion.number)).where(ServiceVersion.service_id == service_id)) or 0) + 1


def _baseline(session: Session, row: Service, now: datetime) -> None:
    """Version 1 of an imported service: what the source said, so history starts there."""
    if session.scalar(select(func.count()).select_from(ServiceVersion).where(ServiceVersion.service_id == row.id)):
        return
    session.add(ServiceVersion(service_id=row.id, number=1, state=PUBLISHED, content=content_model.content_of(row),
                               lock=1, created_at=row.imported_at or now, updated_at=row.imported_at or now,
                               published_at=row.imported_at or now))  # fmt: skip
    session.flush()


def start_draft(*, session: Session, principal: Principal | None, service_id: str, now: datetime,
                actor: Actor | None = None) -> ServiceVersion:  # fmt: skip
    """The open draft of a service, or a new one copied from the live content."""
    row = get_service_row(session, service_id)
    if principal is not None:
        require(principal, EDIT_ROLES, row.organisation_id)
    existing = open_draft(session, service_id)
    if existing is not None:
        return existing
    _baseline(session, row, now)
    who = actor or (actor_of(principal) if principal else SYSTEM)
    version = ServiceVersion(service_id=service_id, number=_next_number(session, service_id), state=DRAFT,
                             content=content_model.content_of(row), lock=1, created_by=who.user_id,
                             created_at=now, updated_at=now)  # fmt: skip
    session.add(version)
    session.flush()
    audit(session, who, "draft_created", now, service_id=service_id, version_id=version.id)
    return version


def create_service(*, session: Session, principal: Principal, organisation_id: str, service_id: str,
                   content: object, municipalities: MunicipalityDirectory, now: datetime) -> ServiceVersion:  # fmt: skip
    """A new service of the organisation, not visible anywhere until an approver publishes it."""
    require(principal, EDIT_ROLES, organisation_id)
    if not service_id.strip() or len(service_id) > 80 or session.get(Service, service_id) is not None:
        raise InvalidQuery(f"service id {service_id!r} is empty, too long or taken")
    clean = content_model.validate(content, municipalities)
    row = Service(id=service_id, source="editor", source_id=service_id, source_url=None, licence="",
                  organisation_id=organisation_id, status="draft", area_type="national", municipality_code=None,
                  target_groups=[], life_events=[], service_classes=[], channels=[], links={},
                  extracted_immigrants=False, extracted_employment_statuses=[], source_hash="", imported_at=now,
                  source_changed=False, curated_eligibility={}, freshness_stage=0)  # fmt: skip
    session.add(row)
    session.flush()
    version = ServiceVersion(service_id=service_id, number=1, state=DRAFT, content=clean, lock=1,
                             created_by=principal.user_id, created_at=now, updated_at=now)  # fmt: skip
    session.add(version)
    session.flush()
    audit(session, actor_of(principal), "service_created", now, service_id=service_id, version_id=version.id)
    return version


def save_draft(*, session: Session, principal: Principal, version_id: int, lock: int, content: object,
               municipalities: MunicipalityDirectory, now: datetime) -> ServiceVersion:  # fmt: skip
    """Save an open draft. `lock` is the version's lock number as the editor read it: a
    stale number means someone saved in between, and nothing is overwritten."""
    version = get_version(session, version_id)
    row = get_service_row(session, version.service_id)
    require(principal, EDIT_ROLES, row.organisation_id)
    if version.state not in OPEN_STATES:
        raise Conflict(f"version {version.number} is {version.state}; only drafts can be edited")
    clean = content_model.validate(content, municipalities)
    # Compare-and-set in the database, so two concurrent saves cannot both pass.
    result = session.execute(
        update(ServiceVersion)
        .where(ServiceVersion.id == version_id, ServiceVersion.lock == lock, ServiceVersion.state.in_(OPEN_STATES))
        .values(content=clean, lock=ServiceVersion.lock + 1, state=DRAFT, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(version)
        raise Conflict(
            f"this draft was saved by someone else since you opened it (your copy {lock}, now {version.lock}); "
            "reload it and apply your changes again"
        )
    session.refresh(version)
    row.edited_at = now
    audit(session, actor_of(principal), "draft_saved", now, service_id=row.id, version_id=version.id, lock=version.lock)
    return version


def _move(
    session: Session, principal: Principal, version_id: int, now: datetime, *,
    roles: tuple[str, ...], from_state: str, to_state: str, refusal: str,
) -> tuple[ServiceVersion, Service]:
    """Check role and state, then move a version on (its lock moves too: open editors see a 409)."""
    version = get_version(session, version_id)
    row = get_service_row(session, version.service_id)
    require(principal, roles, row.organisation_id)
    if version.state != from_state:
        raise Conflict(f"version {version.number} is {version.state}; {refusal}")
    version.state, version.updated_at = to_state, now
    version.lock += 1
    return version, row


def submit(*, session: Session, principal: Principal, version_id: int, now: datetime) -> ServiceVersion:
    version, row = _move(
        session, principal, version_id, now, roles=EDIT_ROLES, from_state=DRAFT, to_state=READY, refusal="only a draft is submitted"
    )
    audit(session, actor_of(principal), "submitted", now, service_id=row.id, version_id=version.id)
    return version


def return_to_draft(*, session: Session, principal: Principal, version_id: int, now: datetime, note: str = "") -> ServiceVersion:
    version, row = _move(
        session, principal, version_id, now,
        roles=APPROVE_ROLES, from_state=READY, to_state=DRAFT, refusal="only a version ready for review is returned",
    )  # fmt: skip
    audit(session, actor_of(principal), "returned", now, service_id=row.id, version_id=version.id, note=note[:2000])
    return version


def _apply_to_live(row: Service, content: dict[str, Any]) -> None:
    row.texts = [
        ServiceTextRow(language=language, **{field: fields.get(field, "") for field in content_model.TEXT_FIELDS})
        for language, fields in sorted(content["texts"].items())
    ]
    row.curated_eligibility = dict(content["eligibility"])
    row.channels = list(content["channels"])
    row.links = dict(content["links"])


def publish(*, session: Session, principal: Principal, version_id: int, now: datetime) -> Service:
    """Make a version ready for review the live content; the previous one is superseded."""
    version, row = _move(
        session, principal, version_id, now,
        roles=APPROVE_ROLES, from_state=READY, to_state=PUBLISHED, refusal="submit it for review first",
    )  # fmt: skip
    version.published_at = now
    session.execute(
        update(ServiceVersion)
        .where(ServiceVersion.service_id == row.id, ServiceVersion.state == PUBLISHED, ServiceVersion.id != version.id)
        .values(state=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    _apply_to_live(row, version.content)
    row.status = repository.PUBLISHED
    row.edited_at = now
    row.source_changed = False  # an approver has now seen the source's change
    _reviewed(session, row, now)
    session.flush()
    record_change(session, "service", row.id, now)
    audit(session, actor_of(principal), "published", now, service_id=row.id, version_id=version.id)
    return row


def _reviewed(session: Session, row: Service, now: datetime) -> None:
    row.reviewed_at = now
    row.freshness_stage = 0
    session.execute(
        update(ContentNotification)
        .where(ContentNotification.service_id == row.id, ContentNotification.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_reviewed(*, session: Session, principal: Principal, service_id: str, now: datetime) -> Service:
    """The content was checked and is still true: restart the freshness clock."""
    row = get_service_row(session, service_id)
    require(principal, (*EDIT_ROLES, *APPROVE_ROLES), row.organisation_id)
    was_outdated = row.status == repository.OUTDATED
    if row.status not in repository.VISIBLE:
        raise Conflict(f"service {service_id} is {row.status}; only published services are reviewed")
    _reviewed(session, row, now)
    if was_outdated:
        row.status = repository.PUBLISHED
        record_change(session, "service", row.id, now)
    audit(session, actor_of(principal), "reviewed", now, service_id=row.id)
    return row


STATUS_ACTIONS = {"archive": "archived", "hold": "on_hold", "restore": "published"}


def set_status(*, session: Session, principal: Principal, service_id: str, action: str, now: datetime) -> Service:
    """Archive, put on hold or restore a service (approver): search follows at once."""
    if action not in STATUS_ACTIONS:
        raise InvalidQuery(f"action must be one of {', '.join(STATUS_ACTIONS)}")
    row = get_service_row(session, service_id)
    require(principal, APPROVE_ROLES, row.organisation_id)
    if action == "restore" and not row.texts:
        raise Conflict(f"service {service_id} was never published; publish a version instead")
    row.status = STATUS_ACTIONS[action]
    if action == "restore":
        _reviewed(session, row, now)
    record_change(session, "service", row.id, now)
    audit(session, actor_of(principal), action, now, service_id=row.id)
    return row


def audit_entries(session: Session, *, service_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if service_id is not None:
        query = query.where(AuditEntry.service_id == service_id)
    return list(session.scalars(query))


def version_diff(session: Session, version: ServiceVersion, against: ServiceVersion | None = None) -> list[str]:
    """The diff of a version against `against`, else the one before it, else the live content."""
    if against is None:
        against = session.scalar(
            select(ServiceVersion)
            .where(ServiceVersion.service_id == version.service_id, ServiceVersion.number < version.number)
            .order_by(ServiceVersion.number.desc())
            .limit(1)
        )
    if against is None:
        base, label = content_model.content_of(get_service_row(session, version.service_id)), "live"
    else:
        base, label = against.content, f"version {against.number}"
    return content_model.diff(base, version.content, label, f"version {version.number}")


def add_synonym(*, session: Session, principal: Principal, service_id: str, language: str, synonym: str,
                municipalities: MunicipalityDirectory, now: datetime) -> ServiceVersion:  # fmt: skip
    """Add a search synonym (e.g. from the unanswered-questions inbox) to the service's
    open draft; an approver publishes it like any other edit."""
    synonym = " ".join(synonym.split())
    if not synonym or len(synonym) > 200:
        raise InvalidQuery("synonym: 1 to 200 characters")
    if language not in content_model.CONTENT_LANGUAGES:
        raise InvalidQuery(f"language must be one of {', '.join(content_model.CONTENT_LANGUAGES)}")
    draft = start_draft(session=session, principal=principal, service_id=service_id, now=now)
    data = {**draft.content, "texts": {k: dict(v) for k, v in draft.content["texts"].items()}}
    fields = data["texts"].setdefault(language, {field: "" for field in content_model.TEXT_FIELDS})
    if not fields.get("name"):
        raise InvalidQuery(f"the service has no name in {language}; add the text in that language first")
    existing = [s.strip() for s in fields.get("synonyms", "").split(",") if s.strip()]
    if synonym.lower() not in {s.lower() for s in existing}:
        fields["synonyms"] = ", ".join([*existing, synonym])
    return save_draft(session=session, principal=principal, version_id=draft.id, lock=draft.lock, content=data,
                      municipalities=municipalities, now=now)  # fmt: skip
