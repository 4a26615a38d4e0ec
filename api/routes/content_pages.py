"""The content console (`/content/...`): server-rendered pages over the same library
calls as the REST API (api/routes/content.py). Forms post back with the CSRF token;
a refused save re-renders the form with the reason and keeps what was typed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.auth import StaffPageDep
from api.deps import SearchDep, SessionDep
from api.pages import render
from api.routes.content import apply_now, list_services, publish_and_index, readable_organisations, require_reader
from knowledge_base import content, content_model, faq, freshness, inbox, live_index
from knowledge_base.accounts import Principal
from knowledge_base.eligibility import EMPLOYMENT_STATUSES
from knowledge_base.errors import Conflict, Forbidden, InvalidQuery, OpastinError
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.models import Organisation, ServiceVersion
from knowledge_base.repository import VISIBLE

router = APIRouter(prefix="/content", tags=["content console"], include_in_schema=False)
STATES = ("draft", "ready_for_review", "published", "on_hold", "outdated", "archived")
KNOWN_NOTICES = ("saved", "published", "submit", "return", "reviewed", "synonym_added",
                 "status.archive", "status.hold", "status.restore")  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _see(path: str, notice: str = "") -> RedirectResponse:
    return RedirectResponse(path + (f"?notice={quote(notice)}" if notice else ""), status_code=303)


def _ctx(principal: Principal) -> dict[str, Any]:
    return {"languages": content_model.CONTENT_LANGUAGES, "fields": content_model.TEXT_FIELDS,
            "can_edit": lambda org: principal.has_role("editor", org),
            "can_approve": lambda org: principal.has_role("approver", org), "known_notices": KNOWN_NOTICES}  # fmt: skip


@router.get("", response_class=HTMLResponse)
def services_page(request: Request, principal: StaffPageDep, session: SessionDep, state: str = "", organisation: str = "",
                  freshness_filter: str = "", q: str = "", notice: str = "") -> Response:  # fmt: skip
    rows = list_services(session, principal, state=state or None, organisation=organisation or None,
                         fresh=freshness_filter or None, text=q or None, limit=500)  # fmt: skip
    allowed = readable_organisations(principal)
    organisations = [o for o in session.query(Organisation).order_by(Organisation.id) if allowed is None or o.id in allowed]
    notifications = freshness.open_notifications(session, allowed)
    return render(request, "content/list.html", principal=principal, rows=rows, states=STATES, organisations=organisations,
                  notifications=notifications[:50], filters={"state": state, "organisation": organisation,
                  "freshness": freshness_filter, "q": q}, notice=notice, **_ctx(principal))  # fmt: skip


@router.get("/services/{service_id}", response_class=HTMLResponse)
def service_page(request: Request, service_id: str, principal: StaffPageDep, session: SessionDep, notice: str = "") -> Response:
    row = content.get_service_row(session, service_id)
    require_reader(principal, row.organisation_id)
    return render(request, "content/service.html", principal=principal, row=row, live=content_model.content_of(row),
                  draft=content.open_draft(session, service_id), notice=notice, **_ctx(principal))  # fmt: skip


@router.get("/services/{service_id}/instructions", response_class=HTMLResponse)
def instructions_page(request: Request, service_id: str, principal: StaffPageDep, session: SessionDep) -> Response:
    """Published internal instructions, for counsellors of any organisation (read only)."""
    row = content.get_service_row(session, service_id)
    if not principal.has_any_role(content.INSTRUCTION_READERS) or row.status not in VISIBLE:
        raise Forbidden("needs a counsellor, editor or approver role; only published services")
    texts = sorted(row.texts, key=lambda t: t.language)
    name = next((t.name for t in texts if t.name), row.id)
    return render(request, "content/instructions.html", principal=principal, row=row, texts=texts, name=name)


@router.post("/services/{service_id}/draft")
def draft_action(service_id: str, principal: StaffPageDep, session: SessionDep) -> Response:
    version = content.start_draft(session=session, principal=principal, service_id=service_id, now=_now())
    session.commit()
    return _see(f"/content/versions/{version.id}")


@router.post("/services/{service_id}/status")
async def status_action(request: Request, service_id: str, principal: StaffPageDep, session: SessionDep, search: SearchDep) -> Response:
    action = str((await request.form()).get("action", ""))

    def work() -> None:
        now = _now()
        content.set_status(session=session, principal=principal, service_id=service_id, action=action, now=now)
        if action == "restore":
            live_index.publish_vectors(session, search, service_id, now)
        session.commit()
        apply_now(request)

    await run_in_threadpool(work)
    return _see(f"/content/services/{service_id}", f"status.{action}")


@router.post("/services/{service_id}/review")
def review_action(request: Request, service_id: str, principal: StaffPageDep, session: SessionDep) -> Response:
    content.mark_reviewed(session=session, principal=principal, service_id=service_id, now=_now())
    session.commit()
    apply_now(request)
    return _see(f"/content/services/{service_id}", "reviewed")


def _version_page(request: Request, principal: Principal, session: SessionDep, version: ServiceVersion, *,
                  form_content: dict[str, Any] | None = None, error: str = "", notice: str = "",
                  status_code: int = 200) -> Response:  # fmt: skip
    row = content.get_service_row(session, version.service_id)
    editable = version.state in content.OPEN_STATES and principal.has_role("editor", row.organisation_id)
    shown = form_content or version.content
    return render(request, "content/version.html", principal=principal, row=row, version=version, data=shown,
                  editable=editable, diff=content.version_diff(session, version), error=error, notice=notice,
                  statuses=EMPLOYMENT_STATUSES, channels_json=json.dumps(shown.get("channels") or [], ensure_ascii=False, indent=1),
                  links_text={lang: "\n".join(f"{l.get('title', '')} | {l.get('url', '')}" for l in (shown.get("links") or {}).get(lang, []))
                              for lang in content_model.CONTENT_LANGUAGES},
                  status_code=status_code, **_ctx(principal))  # fmt: skip


@router.get("/versions/{version_id}", response_class=HTMLResponse)
def version_page(request: Request, version_id: int, principal: StaffPageDep, session: SessionDep, notice: str = "") -> Response:
    version = content.get_version(session, version_id)
    require_reader(principal, content.get_service_row(session, version.service_id).organisation_id)
    return _version_page(request, principal, session, version, notice=notice)


def content_from_form(form: FormData) -> dict[str, Any]:
    """The content document a version form describes (validated by the library)."""
    data = content_model.empty_content()
    for language in content_model.CONTENT_LANGUAGES:
        data["texts"][language] = {f: str(form.get(f"text.{language}.{f}", "")) for f in content_model.TEXT_FIELDS}
        links = []
        for line in str(form.get(f"links.{language}", "")).splitlines():
            if line.strip():
                title, _sep, url = line.rpartition("|") if "|" in line else ("", "", line)
                links.append({"title": title.strip(), "url": url.strip()})
        if links:
            data["links"][language] = links
    eligibility = data["eligibility"]
    eligibility["age_min"] = str(form.get("age_min", "")) or None
    eligibility["age_max"] = str(form.get("age_max", "")) or None
    for name in ("municipalities", "target_groups", "life_events"):
        eligibility[name] = str(form.get(name, ""))
    eligibility["employment_statuses"] = [str(v) for v in form.getlist("employment_statuses")]
    eligibility["immigrants"] = str(form.get("immigrants", "")) or None
    raw_channels = str(form.get("channels", "")).strip()
    try:
        data["channels"] = json.loads(raw_channels) if raw_channels else []
    except json.JSONDecodeError as error:
        raise InvalidQuery(f"channels: not valid JSON ({error.msg})") from error
    return data


@router.post("/versions/{version_id}")
async def save_action(request: Request, version_id: int, principal: StaffPageDep, session: SessionDep, search: SearchDep) -> Response:
    form = await request.form()

    def work() -> Response:
        version = content.get_version(session, version_id)
        try:
            data = content_from_form(form)
            lock = int(str(form.get("lock", "0")))
            content.save_draft(session=session, principal=principal, version_id=version_id, lock=lock, content=data,
                               municipalities=search.municipalities, now=_now())  # fmt: skip
        except (InvalidQuery, Conflict, ValueError) as error:
            session.rollback()
            status = 409 if isinstance(error, Conflict) else 422
            draft = locals().get("data")
            return _version_page(request, principal, session, content.get_version(session, version_id),
                                 form_content=draft, error=str(error), status_code=status)  # fmt: skip
        session.commit()
        return _see(f"/content/versions/{version.id}", "saved")

    return await run_in_threadpool(work)


@router.post("/versions/{version_id}/{step}")
def step_action(request: Request, version_id: int, step: str, principal: StaffPageDep, session: SessionDep, search: SearchDep) -> Response:
    now = _now()
    if step == "submit":
        version = content.submit(session=session, principal=principal, version_id=version_id, now=now)
    elif step == "return":
        version = content.return_to_draft(session=session, principal=principal, version_id=version_id, now=now)
    elif step == "publish":
        row = publish_and_index(request, session, principal, search, version_id)
        return _see(f"/content/services/{row.id}", "published")
    else:
        raise InvalidQuery(f"unknown step {step!r}")
    session.commit()
    return _see(f"/content/versions/{version.id}", step)


@router.get("/services/{service_id}/history", response_class=HTMLResponse)
def history_page(request: Request, service_id: str, principal: StaffPageDep, session: SessionDep) -> Response:
    row = content.get_service_row(session, service_id)
    require_reader(principal, row.organisation_id)
    versions = content.versions(session, service_id)
    diffs = {v.id: content.version_diff(session, v) for v in versions}
    return render(request, "content/history.html", principal=principal, row=row, versions=versions, diffs=diffs,
                  audit=content.audit_entries(session, service_id=service_id), **_ctx(principal))  # fmt: skip


# --- FAQ answers and the inbox ---------------------------------------------------


def _content_staff(principal: Principal) -> frozenset[str] | None:
    allowed = readable_organisations(principal)
    if allowed is not None and not allowed:
        raise Forbidden("needs the role editor or approver in an organisation")
    return allowed


@router.get("/faq", response_class=HTMLResponse)
def faq_page(request: Request, principal: StaffPageDep, session: SessionDep, question: str = "", language: str = "fi",
             notice: str = "", error: str = "") -> Response:  # fmt: skip
    allowed = _content_staff(principal)
    organisations = sorted(principal.organisations("editor")) if not principal.is_platform_admin else sorted(
        o.id for o in session.query(Organisation))  # fmt: skip
    return render(request, "content/faq.html", principal=principal, faqs=faq.list_faqs(session, allowed),
                  organisations=organisations, all_languages=SUPPORTED_LANGUAGES, new_question=question,
                  new_language=language if language in SUPPORTED_LANGUAGES else "fi", notice=notice, error=error,
                  **_ctx(principal))  # fmt: skip


@router.post("/faq")
async def faq_save(request: Request, principal: StaffPageDep, session: SessionDep, search: SearchDep) -> Response:
    form = await request.form()

    def work() -> Response:
        fields = {name: str(form.get(name, "")) for name in ("language", "question", "answer", "service_id", "organisation_id", "id", "lock", "status")}
        now = _now()
        try:
            if fields["status"]:
                faq.set_faq_status(session=session, principal=principal, faq_id=int(fields["id"]), status=fields["status"], now=now)
                if fields["status"] == "published":
                    live_index.publish_vectors(session, search, None, now, faqs_changed=True)
            elif fields["id"]:
                faq.update_faq(session=session, principal=principal, faq_id=int(fields["id"]), lock=int(fields["lock"] or 0),
                               language=fields["language"], question=fields["question"], answer=fields["answer"],
                               service_id=fields["service_id"], now=now)  # fmt: skip
            else:
                faq.create_faq(session=session, principal=principal, organisation_id=fields["organisation_id"],
                               language=fields["language"], question=fields["question"], answer=fields["answer"],
                               service_id=fields["service_id"], now=now)  # fmt: skip
        except (InvalidQuery, Conflict, ValueError) as error:
            session.rollback()
            return RedirectResponse(f"/content/faq?error={quote(str(error)[:500])}", status_code=303)
        session.commit()
        apply_now(request)
        return _see("/content/faq", "saved")

    return await run_in_threadpool(work)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, principal: StaffPageDep, session: SessionDep, search: SearchDep, days: int = 30,
               notice: str = "") -> Response:  # fmt: skip
    _content_staff(principal)
    groups = inbox.inbox(session, _now() - timedelta(days=max(1, min(days, 365))), search.embed_queries)
    return render(request, "content/inbox.html", principal=principal, groups=groups, days=days, notice=notice, **_ctx(principal))


@router.post("/inbox/synonym")
async def inbox_synonym(request: Request, principal: StaffPageDep, session: SessionDep, search: SearchDep) -> Response:
    form = await request.form()

    def work() -> Response:
        try:
            version = content.add_synonym(session=session, principal=principal, service_id=str(form.get("service_id", "")).strip(),
                                          language=str(form.get("language", "")), synonym=str(form.get("synonym", "")),
                                          municipalities=search.municipalities, now=_now())  # fmt: skip
        except (InvalidQuery, Conflict) as error:
            session.rollback()
            return _see("/content/inbox", str(error)[:300])
        except OpastinError:
            session.rollback()
            raise
        session.commit()
        return _see(f"/content/versions/{version.id}", "synonym_added")

    return await run_in_threadpool(work)
