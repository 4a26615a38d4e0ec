"""REST API of the content workflow (`/api/content/...`). Every route needs a staff
session (StaffDep: 401 without one, CSRF on writes); the library checks the role in
the service's organisation on every call (403)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.auth import StaffDep
from api.deps import SearchDep, SessionDep
from knowledge_base import content, content_io, faq, freshness, inbox, live_index
from knowledge_base.accounts import Principal
from knowledge_base.errors import Forbidden, InvalidQuery
from knowledge_base.models import AuditEntry, FaqAnswer, Service, ServiceVersion
from knowledge_base.repository import VISIBLE

router = APIRouter(prefix="/api/content", tags=["content"])
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


def readable_organisations(principal: Principal) -> frozenset[str] | None:
    """Organisations whose content the principal may read in the console (None: all)."""
    if principal.is_platform_admin:
        return None
    return principal.organisations(*content.READ_ROLES)


def require_reader(principal: Principal, organisation_id: str) -> None:
    if not content.may_read(principal, organisation_id):
        raise Forbidden(f"needs the role editor or approver in organisation {organisation_id}")


def freshness_of(row: Service) -> str:
    if row.status == "outdated":
        return "outdated"
    return "review_due" if row.freshness_stage > 0 else "fresh"


def service_summary(row: Service, draft: ServiceVersion | None) -> dict[str, Any]:
    names = {t.language: t.name for t in row.texts}
    return {
        "id": row.id, "organisation_id": row.organisation_id, "status": row.status,
        "name": names.get("fi") or names.get("en") or names.get("sv") or next(iter(names.values()), row.id),
        "freshness": freshness_of(row), "source_changed": row.source_changed,
        "source_as_of": row.imported_at.date().isoformat() if row.imported_at else None,
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
        "draft": None if draft is None else {"id": draft.id, "number": draft.number, "state": draft.state},
    }  # fmt: skip


def list_services(session: SessionDep, principal: Principal, *, state: str | None, organisation: str | None,
                  fresh: str | None, text: str | None, limit: int) -> list[dict[str, Any]]:  # fmt: skip
    """The list behind both the REST route and the console page."""
    allowed = readable_organisations(principal)
    if allowed is not None and not allowed:
        raise Forbidden("needs the role editor or approver in an organisation")
    query = select(Service).order_by(Service.id)
    if allowed is not None:
        query = query.where(Service.organisation_id.in_(sorted(allowed)))
    if organisation:
        query = query.where(Service.organisation_id == organisation)
    drafts = {v.service_id: v for v in session.scalars(select(ServiceVersion).where(ServiceVersion.state.in_(content.OPEN_STATES)))}
    if state in content.OPEN_STATES:
        query = query.where(Service.id.in_([sid for sid, v in drafts.items() if v.state == state]))
    elif state:
        query = query.where(Service.status == state)
    if fresh == "outdated":
        query = query.where(Service.status == "outdated")
    elif fresh == "review_due":
        query = query.where(Service.freshness_stage > 0, Service.status != "outdated")
    elif fresh == "fresh":
        query = query.where(Service.freshness_stage == 0)
    rows = []
    needle = (text or "").strip().lower()
    for row in session.scalars(query):
        if needle and needle not in row.id.lower() and not any(needle in t.name.lower() for t in row.texts):
            continue
        rows.append(service_summary(row, drafts.get(row.id)))
        if len(rows) >= limit:
            break
    return rows


@router.get("/services")
def get_services(
    session: SessionDep, principal: StaffDep, state: str | None = None, organisation: str | None = None,
    freshness: Literal["fresh", "review_due", "outdated"] | None = None, q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[dict[str, Any]]:  # fmt: skip
    return list_services(session, principal, state=state, organisation=organisation, fresh=freshness, text=q, limit=limit)


class NewService(BaseModel):
    organisation_id: str = Field(max_length=64)
    id: str = Field(max_length=80)
    content: dict[str, Any]


@router.post("/services", status_code=201)
def create_service(body: NewService, session: SessionDep, principal: StaffDep, search: SearchDep) -> dict[str, Any]:
    version = content.create_service(session=session, principal=principal, organisation_id=body.organisation_id,
                                     service_id=body.id, content=body.content, municipalities=search.municipalities,
                                     now=_now())  # fmt: skip
    session.commit()
    return version_json(version)


def service_json(session: SessionDep, row: Service) -> dict[str, Any]:
    from knowledge_base.content_model import content_of

    return {**service_summary(row, content.open_draft(session, row.id)), "content": content_of(row)}


@router.get("/services/{service_id}")
def get_service(service_id: str, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    row = content.get_service_row(session, service_id)
    require_reader(principal, row.organisation_id)
    return service_json(session, row)


@router.get("/services/{service_id}/instructions")
def get_instructions(service_id: str, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    """Published internal instructions, for counsellors of any organisation and for content staff."""
    row = content.get_service_row(session, service_id)
    if not (principal.has_any_role(content.INSTRUCTION_READERS) and (row.status in VISIBLE or content.may_read(principal, row.organisation_id))):
        raise Forbidden("needs a counsellor, editor or approver role; only published services")
    return {"id": row.id, "instructions": {t.language: t.internal_instructions for t in row.texts}}


@router.post("/services/{service_id}/drafts")
def open_draft(service_id: str, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    version = content.start_draft(session=session, principal=principal, service_id=service_id, now=_now())
    session.commit()
    return version_json(version)


def version_json(version: ServiceVersion) -> dict[str, Any]:
    return {"id": version.id, "service_id": version.service_id, "number": version.number, "state": version.state,
            "lock": version.lock, "content": version.content, "created_by": version.created_by,
            "updated_at": version.updated_at.isoformat(),
            "published_at": version.published_at.isoformat() if version.published_at else None}  # fmt: skip


@router.get("/services/{service_id}/versions")
def get_versions(service_id: str, session: SessionDep, principal: StaffDep) -> list[dict[str, Any]]:
    row = content.get_service_row(session, service_id)
    require_reader(principal, row.organisation_id)
    return [version_json(v) for v in content.versions(session, service_id)]


def _readable_version(session: SessionDep, principal: Principal, version_id: int) -> ServiceVersion:
    version = content.get_version(session, version_id)
    require_reader(principal, content.get_service_row(session, version.service_id).organisation_id)
    return version


@router.get("/versions/{version_id}")
def get_version(version_id: int, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    return version_json(_readable_version(session, principal, version_id))


@router.get("/versions/{version_id}/diff", response_class=PlainTextResponse)
def get_diff(version_id: int, session: SessionDep, principal: StaffDep, against: int | None = None) -> str:
    version = _readable_version(session, principal, version_id)
    other = _readable_version(session, principal, against) if against is not None else None
    if other is not None and other.service_id != version.service_id:
        raise InvalidQuery("both versions must belong to the same service")
    return "\n".join(content.version_diff(session, version, other)) + "\n"


class DraftSave(BaseModel):
    lock: int
    content: dict[str, Any]


@router.put("/versions/{version_id}")
def save_version(version_id: int, body: DraftSave, session: SessionDep, principal: StaffDep, search: SearchDep) -> dict[str, Any]:
    version = content.save_draft(session=session, principal=principal, version_id=version_id, lock=body.lock,
                                 content=body.content, municipalities=search.municipalities, now=_now())  # fmt: skip
    session.commit()
    return version_json(version)


@router.post("/versions/{version_id}/submit")
def submit_version(version_id: int, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    version = content.submit(session=session, principal=principal, version_id=version_id, now=_now())
    session.commit()
    return version_json(version)


@router.post("/versions/{version_id}/return")
def return_version(version_id: int, session: SessionDep, principal: StaffDep,
                   note: Annotated[str, Body(embed=True, max_length=2000)] = "") -> dict[str, Any]:  # fmt: skip
    version = content.return_to_draft(session=session, principal=principal, version_id=version_id, now=_now(), note=note)
    session.commit()
    return version_json(version)


def apply_now(request: Request) -> None:
    """Apply a committed change to this process's search at once; the other processes'
    watchers pick it up within their poll interval."""
    watcher = getattr(request.app.state, "watcher", None)
    if watcher is not None:
        watcher.poll_once()


def publish_and_index(request: Request, session: SessionDep, principal: Principal, search: SearchDep, version_id: int) -> Service:
    """Publish, and store the new passage vectors in the same transaction (encoded once, here)."""
    now = _now()
    row = content.publish(session=session, principal=principal, version_id=version_id, now=now)
    live_index.publish_vectors(session, search, row.id, now)
    session.commit()
    apply_now(request)
    return row


@router.post("/versions/{version_id}/publish")
def publish_version(request: Request, version_id: int, session: SessionDep, principal: StaffDep, search: SearchDep) -> dict[str, Any]:
    row = publish_and_index(request, session, principal, search, version_id)
    return service_summary(row, None)


class StatusChange(BaseModel):
    action: Literal["archive", "hold", "restore"]


@router.post("/services/{service_id}/status")
def change_status(request: Request, service_id: str, body: StatusChange, session: SessionDep, principal: StaffDep,
                  search: SearchDep) -> dict[str, Any]:  # fmt: skip
    now = _now()
    row = content.set_status(session=session, principal=principal, service_id=service_id, action=body.action, now=now)
    if body.action == "restore":
        live_index.publish_vectors(session, search, row.id, now)
    session.commit()
    apply_now(request)
    return service_summary(row, content.open_draft(session, row.id))


@router.post("/services/{service_id}/review")
def mark_reviewed(request: Request, service_id: str, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    row = content.mark_reviewed(session=session, principal=principal, service_id=service_id, now=_now())
    session.commit()
    apply_now(request)
    return service_summary(row, content.open_draft(session, row.id))


class SynonymAdd(BaseModel):
    language: str = Field(max_length=3)
    synonym: str = Field(max_length=200)


@router.post("/services/{service_id}/synonyms")
def add_synonym(service_id: str, body: SynonymAdd, session: SessionDep, principal: StaffDep, search: SearchDep) -> dict[str, Any]:
    version = content.add_synonym(session=session, principal=principal, service_id=service_id, language=body.language,
                                  synonym=body.synonym, municipalities=search.municipalities, now=_now())  # fmt: skip
    session.commit()
    return version_json(version)


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action, "service_id": entry.service_id,
            "version_id": entry.version_id, "detail": entry.detail}  # fmt: skip


@router.get("/audit")
def get_audit(session: SessionDep, principal: StaffDep, service_id: str | None = None) -> list[dict[str, Any]]:
    if service_id is None:
        if not principal.is_platform_admin:
            raise Forbidden("the whole audit log is for platform admins; ask for one service_id")
    else:
        require_reader(principal, content.get_service_row(session, service_id).organisation_id)
    return [audit_json(e) for e in content.audit_entries(session, service_id=service_id)]


# --- FAQ answers ----------------------------------------------------------------


def faq_json(row: FaqAnswer) -> dict[str, Any]:
    return {"id": row.id, "organisation_id": row.organisation_id, "service_id": row.service_id, "language": row.language,
            "question": row.question, "answer": row.answer, "status": row.status, "lock": row.lock,
            "updated_at": row.updated_at.isoformat()}  # fmt: skip


@router.get("/faq")
def get_faqs(session: SessionDep, principal: StaffDep) -> list[dict[str, Any]]:
    allowed = readable_organisations(principal)
    if allowed is not None and not allowed:
        raise Forbidden("needs the role editor or approver in an organisation")
    return [faq_json(row) for row in faq.list_faqs(session, allowed)]


class FaqIn(BaseModel):
    organisation_id: str = Field(max_length=64)
    language: str = Field(max_length=3)
    question: str = Field(max_length=10_000)
    answer: str = Field(max_length=100_000)
    service_id: str | None = Field(default=None, max_length=80)


@router.post("/faq", status_code=201)
def create_faq(body: FaqIn, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    row = faq.create_faq(session=session, principal=principal, organisation_id=body.organisation_id, language=body.language,
                         question=body.question, answer=body.answer, service_id=body.service_id, now=_now())  # fmt: skip
    session.commit()
    return faq_json(row)


class FaqUpdate(BaseModel):
    lock: int
    language: str = Field(max_length=3)
    question: str = Field(max_length=10_000)
    answer: str = Field(max_length=100_000)
    service_id: str | None = Field(default=None, max_length=80)


@router.put("/faq/{faq_id}")
def update_faq(faq_id: int, body: FaqUpdate, session: SessionDep, principal: StaffDep) -> dict[str, Any]:
    row = faq.update_faq(session=session, principal=principal, faq_id=faq_id, lock=body.lock, language=body.language,
                         question=body.question, answer=body.answer, service_id=body.service_id, now=_now())  # fmt: skip
    session.commit()
    return faq_json(row)


class FaqStatus(BaseModel):
    status: Literal["draft", "published", "archived"]


@router.post("/faq/{faq_id}/status")
def set_faq_status(request: Request, faq_id: int, body: FaqStatus, session: SessionDep, principal: StaffDep,
                   search: SearchDep) -> dict[str, Any]:  # fmt: skip
    now = _now()
    row = faq.set_faq_status(session=session, principal=principal, faq_id=faq_id, status=body.status, now=now)
    if body.status == "published":
        live_index.publish_vectors(session, search, None, now, faqs_changed=True)
    session.commit()
    apply_now(request)
    return faq_json(row)


# --- inbox, notifications, import and export -------------------------------------


def require_content_staff(principal: Principal) -> None:
    if not principal.has_any_role(content.READ_ROLES):
        raise Forbidden("needs the role editor or approver")


@router.get("/inbox")
def get_inbox(session: SessionDep, principal: StaffDep, search: SearchDep,
              days: Annotated[int, Query(ge=1, le=365)] = 30) -> list[dict[str, Any]]:  # fmt: skip
    require_content_staff(principal)
    groups = inbox.inbox(session, _now() - timedelta(days=days), search.embed_queries)
    return [
        {"size": len(g.questions), "languages": g.languages,
         "questions": [{"text": q.text, "language": q.language, "at": q.at.isoformat(), "reason": q.reason} for q in g.questions]}
        for g in groups
    ]  # fmt: skip


@router.get("/notifications")
def get_notifications(session: SessionDep, principal: StaffDep) -> list[dict[str, Any]]:
    require_content_staff(principal)
    return [
        {"id": n.id, "organisation_id": n.organisation_id, "service_id": n.service_id, "kind": n.kind,
         "created_at": n.created_at.isoformat()}
        for n in freshness.open_notifications(session, readable_organisations(principal))
    ]  # fmt: skip


@router.get("/export")
def export(session: SessionDep, principal: StaffDep, format: Literal["jsonl", "csv"] = "jsonl") -> Response:
    require_content_staff(principal)
    records = content_io.export_records(session, readable_organisations(principal))
    if format == "csv":
        return Response(content_io.to_csv(records), media_type="text/csv; charset=utf-8")
    return Response(content_io.to_jsonl(records), media_type="application/x-ndjson")


@router.post("/import")
async def import_content(request: Request, session: SessionDep, principal: StaffDep, search: SearchDep,
                         format: Literal["jsonl", "csv"] = "jsonl", dry_run: bool = True) -> dict[str, Any]:  # fmt: skip
    """Import edited content (the request body, JSONL or CSV) as drafts; `dry_run` (the
    default) only reports what would change."""
    require_content_staff(principal)
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidQuery(f"the import is {len(raw):,} bytes; the limit is {MAX_IMPORT_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidQuery("the import must be UTF-8 text") from error

    def work() -> dict[str, Any]:
        incoming = content_io.parse(text, format)
        plan = content_io.plan_import(session, incoming, search.municipalities,
                                      lambda org: principal.has_role("editor", org))  # fmt: skip
        if not dry_run:
            content_io.apply_import(session, plan, principal, search.municipalities, _now())
            session.commit()
        return {"dry_run": dry_run, **plan.summary()}

    return await run_in_threadpool(work)
