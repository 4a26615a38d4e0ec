"""The counsellor console: the shared queue (live over SSE), one ticket's conversation,
presence and heartbeat, canned replies, a supervisor's figures. Server-rendered pages
(StaffPageDep); the scripts in api/static/ only add live updates and quick replies.

Who sees what (knowledge_base/queue.py decides): tickets waiting in the shared queue,
and the internal instructions of published services, are visible to counsellors of
every participating organisation; a taken ticket only to its counsellor, the
supervisors of the handling organisation and the receiver of a transfer; notes,
canned replies and figures only within their organisation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import SESSION_COOKIE, StaffDep, StaffPageDep, StaffStreamDep
from api.deps import NotifierDep, SessionDep
from api.notifier import QUEUE_CHANNEL
from api.pages import console_messages, render, ui_language
from knowledge_base import accounts, counsellors, leases, queue, queue_console
from knowledge_base import conversations as store
from knowledge_base.accounts import Principal
from knowledge_base.errors import Conflict, Forbidden
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.models import CannedReply, CounsellorProfile, Handover, Message, Organisation, Service, User
from knowledge_base.municipalities import MunicipalityDirectory
from knowledge_base.organisations import load_outcomes, load_topics

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
STREAM_POLL_SECONDS = 1.0
KEEPALIVE_EVERY = 15


def _now() -> datetime:
    return datetime.now(UTC)


def _config(request: Request) -> queue.QueueConfig:
    return request.app.state.queue_config  # type: ignore[no-any-return]


def _require_queue(principal: Principal) -> None:
    if not counsellors.may_use_queue(principal):
        raise Forbidden("only counsellors and supervisors use the queue")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _back(request: Request, path: str, payload: dict[str, Any] | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse(payload or {"ok": True})
    return RedirectResponse(path, status_code=303)


def _commit(session: Session, notifier: Any, conversation_id: str | None = None) -> None:
    session.commit()
    if conversation_id:
        notifier.notify(conversation_id)
    notifier.notify_queue()


# -- queue -------------------------------------------------------------------------------


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, principal: StaffPageDep, session: SessionDep, taken: int = 0) -> Response:
    _require_queue(principal)
    profile = counsellors.ensure_profile(session=session, principal=principal)
    session.commit()
    view = queue_console.queue_view(session=session, principal=principal, now=_now(), config=_config(request))
    return render(request, "queue.html", principal=principal, view=view, profile=profile, taken=taken)


def _staff_still_signed_in(request: Request, session: Session) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    resolved = accounts.resolve_session(session, token, now=_now()) if token else None
    return resolved[0] if resolved else None


Poll = Callable[[Session, Principal], list[tuple[str, Any]]]


def _stream(request: Request, notifier: Any, channel: str, poll: Poll) -> StreamingResponse:
    """An SSE stream of the events `poll` returns (it sends only what changed), woken by
    the notifier (changes in this worker) or every second (changes by another worker).
    The staff session is checked on every round; a signed-out user's stream ends."""
    sessions = request.app.state.sessions

    def read() -> list[tuple[str, Any]] | None:
        with sessions() as session:
            principal = _staff_still_signed_in(request, session)
            return None if principal is None else poll(session, principal)

    async def stream() -> AsyncIterator[str]:
        quiet = 0
        while not await request.is_disconnected():
            event = notifier.event(channel)
            events = await run_in_threadpool(read)
            if events is None:
                yield "event: signed-out\ndata: {}\n\n"
                return
            for name, data in events:
                yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            quiet = 0 if events else quiet + 1
            if quiet >= KEEPALIVE_EVERY:
                yield ": keep-alive\n\n"
                quiet = 0
            try:
                await asyncio.wait_for(event.wait(), timeout=STREAM_POLL_SECONDS)
            except TimeoutError:
                pass

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/queue/events")
def queue_events(request: Request, principal: StaffStreamDep, notifier: NotifierDep) -> StreamingResponse:
    """`event: queue` with the queue view whenever it changes (the page counts waiting times up)."""
    _require_queue(principal)
    config = _config(request)
    last: dict[str, Any] = {}

    def poll(session: Session, current: Principal) -> list[tuple[str, Any]]:
        view = queue_console.queue_view(session=session, principal=current, now=_now(), config=config)
        stable = json.dumps(
            {k: [{**r, "waiting_seconds": 0} for r in v] if k in ("waiting", "offline", "mine") else v for k, v in view.items()},
            sort_keys=True,
        )
        if last.get("view") == stable:
            return []
        last["view"] = stable
        return [("queue", view)]

    return _stream(request, notifier, QUEUE_CHANNEL, poll)


# -- presence ----------------------------------------------------------------------------


@router.post("/presence")
def set_presence(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    notifier: NotifierDep,
    status: Annotated[str, Form(max_length=10)],
    next: Annotated[str, Form(max_length=200)] = "/console/queue",
) -> Response:
    """online / away / offline; going offline returns your open chats to the queue."""
    _require_queue(principal)
    now = _now()
    if status == counsellors.OFFLINE:
        returned = queue.go_offline(session=session, principal=principal, now=now)
    else:
        counsellors.set_presence(session=session, principal=principal, status=status, now=now)
        returned = []
        if status == counsellors.ONLINE:
            returned = queue.dispatch(session=session, now=now, config=_config(request))
    session.commit()
    for ticket in returned:
        notifier.notify(ticket.conversation_id)
    notifier.notify_queue()
    target = next if next.startswith("/console/") and "//" not in next else "/console/queue"
    return _back(request, target, {"status": status})


@router.post("/heartbeat")
def heartbeat(request: Request, principal: StaffDep, session: SessionDep) -> JSONResponse:
    _require_queue(principal)
    profile = counsellors.heartbeat(session=session, principal=principal, now=_now())
    session.commit()
    return JSONResponse({"status": profile.status})


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, principal: StaffPageDep, session: SessionDep, saved: int = 0) -> Response:
    _require_queue(principal)
    profile = counsellors.ensure_profile(session=session, principal=principal)
    session.commit()
    topics = load_topics(request.app.state.settings.data_dir).codes
    organisations = sorted(counsellors.queue_organisations(principal))
    return render(
        request, "profile.html", principal=principal, profile=profile, languages=SUPPORTED_LANGUAGES,
        topics=topics, organisations=organisations, saved=saved,
    )  # fmt: skip


@router.post("/profile")
def save_profile(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    languages: Annotated[list[str], Form()],
    max_concurrent: Annotated[int, Form(ge=1, le=counsellors.MAX_CONCURRENT_LIMIT)],
    topics: Annotated[list[str] | None, Form()] = None,
    municipalities: Annotated[str, Form(max_length=500)] = "",
    organisation_id: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    _require_queue(principal)
    counsellors.update_profile(
        session=session,
        principal=principal,
        languages=languages,
        topics=topics or [],
        municipalities=[m.strip() for m in municipalities.replace(";", ",").split(",")],
        max_concurrent=max_concurrent,
        organisation_id=organisation_id or None,
    )
    session.commit()
    return _back(request, "/console/profile?saved=1")


# -- one ticket ---------------------------------------------------------------------------


@router.post("/tickets/{ticket_id}/take")
def take_ticket(request: Request, ticket_id: int, principal: StaffPageDep, notifier: NotifierDep) -> Response:
    """Take a ticket; when someone else was first, back to the queue with a notice (409 for scripts)."""
    _require_queue(principal)
    config = _config(request)

    def work(session: Session) -> str:
        ticket = queue.take(session=session, handover_id=ticket_id, principal=principal, now=_now(), config=config)
        return ticket.conversation_id

    try:
        # Its own short transaction, retried if SQLite is busy with another taker.
        conversation_id = leases.run_transaction(request.app.state.sessions, work)
    except Conflict:
        if _wants_json(request):
            raise
        return RedirectResponse("/console/queue?taken=1", status_code=303)
    notifier.notify(conversation_id)
    notifier.notify_queue()
    return _back(request, f"/console/tickets/{ticket_id}", {"ticket": ticket_id})


def _service_cards(session: Session, ids: list[str], language: str) -> list[dict[str, Any]]:
    """Recommended services for the counsellor, with internal instructions of published ones only."""
    cards = []
    order = (language, "fi", "sv", "en")
    for service_id in ids:
        service = session.get(Service, str(service_id))
        if service is None:
            continue
        texts = {text.language: text for text in service.texts}
        name = next((texts[l].name for l in order if l in texts and texts[l].name), service.id)
        published = service.status == "published"
        instructions = ""
        if published:
            instructions = next((texts[l].internal_instructions for l in order if l in texts and texts[l].internal_instructions), "")
        cards.append({"id": service.id, "name": name, "published": published, "instructions": instructions, "url": service.source_url})
    return cards


def _transcript(session: Session, conversation_id: str) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)))


def _message_row(message: Message) -> dict[str, Any]:
    return {
        "seq": message.seq,
        "author": message.author,
        "text": message.text,
        "at": message.created_at.isoformat(timespec="seconds"),
        "buttons": [b.get("title", "") for b in (message.payload or {}).get("buttons", [])],
    }


def _colleagues(session: Session, principal: Principal, ticket: Handover) -> list[dict[str, Any]]:
    """Counsellors of the principal's own organisations (never another organisation's user list)."""
    organisations = sorted(counsellors.queue_organisations(principal))
    rows = session.execute(
        select(User.id, User.name, CounsellorProfile.organisation_id, CounsellorProfile.status)
        .join(CounsellorProfile, CounsellorProfile.user_id == User.id)
        .where(CounsellorProfile.organisation_id.in_(organisations), User.active.is_(True), User.id != principal.user_id)
        .order_by(User.name)
    )
    return [{"id": r[0], "name": r[1], "organisation_id": r[2], "status": r[3]} for r in rows if r[0] != ticket.assigned_user_id]


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(request: Request, ticket_id: int, principal: StaffPageDep, session: SessionDep) -> Response:
    _require_queue(principal)
    ticket = queue.get_ticket(session=session, handover_id=ticket_id)
    queue.require_view(session, ticket, principal)
    conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
    language = ui_language(request, principal)
    municipality = MunicipalityDirectory.load().by_code(ticket.municipality) if ticket.municipality else None
    data_dir = request.app.state.settings.data_dir
    organisations = session.scalars(select(Organisation).where(Organisation.participating.is_(True)).order_by(Organisation.id)).all()
    handler = ticket.status == queue.ASSIGNED and (
        ticket.assigned_user_id == principal.user_id
        or principal.is_platform_admin
        or bool(ticket.organisation_id and principal.has_role("supervisor", ticket.organisation_id))
    )
    summary = dict(ticket.summary or {})
    return render(
        request,
        "ticket.html",
        principal=principal,
        ticket=ticket,
        row=queue_console.ticket_row(ticket, _now(), principal),
        conversation=conversation,
        summary=summary,
        slots={k: v for k, v in summary.items() if k not in ("recommended",) and v not in (None, "", [])},
        municipality_name=(municipality.name_sv if language == "sv" else municipality.name_fi) if municipality else None,
        services=_service_cards(session, list(summary.get("recommended") or []), language),
        transcript=[_message_row(m) for m in _transcript(session, conversation.id)],
        notes=queue_console.notes_for(session=session, ticket=ticket, principal=principal),
        canned=queue_console.canned_for(session=session, principal=principal, language=ticket.language)
        or queue_console.canned_for(session=session, principal=principal),
        outcomes=[o for o in load_outcomes(data_dir) if not o.system],
        colleagues=_colleagues(session, principal, ticket),
        organisations=[o for o in organisations if o.id != ticket.organisation_id],
        transfer=queue.pending_transfer_to(session, ticket, principal),
        handler=handler,
        can_take=ticket.status in (queue.WAITING, queue.OFFLINE),
    )


@router.get("/tickets/{ticket_id}/events")
def ticket_events(request: Request, ticket_id: int, principal: StaffStreamDep, notifier: NotifierDep) -> StreamingResponse:
    """The conversation as it goes: `event: message` per new message (after Last-Event-ID
    or ?after=SEQ), `event: ticket` when the ticket's status changes."""
    _require_queue(principal)
    with request.app.state.sessions() as session:
        ticket = queue.get_ticket(session=session, handover_id=ticket_id)
        queue.require_view(session, ticket, principal)
        conversation_id = ticket.conversation_id
    resume = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    state: dict[str, Any] = {"seq": int(resume) if resume.isdigit() else 0, "ticket": None}

    def poll(db: Session, current: Principal) -> list[tuple[str, Any]]:
        row = queue.get_ticket(session=db, handover_id=ticket_id)
        if not queue.can_view(db, row, current):
            return [("ticket", {"status": "gone"})]
        fresh = db.scalars(
            select(Message).where(Message.conversation_id == conversation_id, Message.seq > state["seq"]).order_by(Message.seq)
        ).all()
        events: list[tuple[str, Any]] = [("message", _message_row(m)) for m in fresh]
        if fresh:
            state["seq"] = fresh[-1].seq
        status = {"status": row.status, "mine": row.assigned_user_id == current.user_id, "safety": row.safety}
        if status != state["ticket"]:
            state["ticket"] = status
            events.append(("ticket", status))
        return events

    return _stream(request, notifier, conversation_id, poll)


@router.post("/tickets/{ticket_id}/reply")
def reply(
    request: Request,
    ticket_id: int,
    principal: StaffPageDep,
    session: SessionDep,
    notifier: NotifierDep,
    text: Annotated[str, Form(max_length=queue.MAX_TEXT)],
) -> Response:
    message = queue.reply(session=session, handover_id=ticket_id, principal=principal, text=text, now=_now())
    row = _message_row(message)
    conversation_id = message.conversation_id
    session.commit()
    notifier.notify(conversation_id)
    return _back(request, f"/console/tickets/{ticket_id}", {"message": row})


@router.post("/tickets/{ticket_id}/notes")
def add_note(
    request: Request,
    ticket_id: int,
    principal: StaffPageDep,
    session: SessionDep,
    text: Annotated[str, Form(max_length=queue.MAX_TEXT)],
) -> Response:
    _require_queue(principal)
    note = queue_console.add_note(session=session, handover_id=ticket_id, principal=principal, text=text, now=_now())
    session.commit()
    return _back(request, f"/console/tickets/{ticket_id}#notes", {"note": note.id})


@router.post("/tickets/{ticket_id}/transfer")
def transfer(
    request: Request,
    ticket_id: int,
    principal: StaffPageDep,
    session: SessionDep,
    notifier: NotifierDep,
    target: Annotated[str, Form(max_length=80)],
    note: Annotated[str, Form(max_length=queue.MAX_TEXT)] = "",
) -> Response:
    """target: `user:<id>` (a colleague) or `org:<id>` (another organisation)."""
    kind, _, value = target.partition(":")
    to_user = int(value) if kind == "user" and value.isdigit() else None
    to_org = value if kind == "org" and value else None
    queue.request_transfer(
        session=session, handover_id=ticket_id, principal=principal, to_user_id=to_user, to_organisation_id=to_org, note=note, now=_now()
    )
    _commit(session, notifier)
    return _back(request, f"/console/tickets/{ticket_id}")


@router.post("/transfers/{transfer_id}/{decision}")
def decide_transfer(
    request: Request, transfer_id: int, decision: str, principal: StaffPageDep, session: SessionDep, notifier: NotifierDep
) -> Response:
    if decision not in ("accept", "decline"):
        raise Forbidden("accept or decline")
    transfer = queue.decide_transfer(
        session=session, transfer_id=transfer_id, principal=principal, accept=decision == "accept", now=_now()
    )
    ticket = queue.get_ticket(session=session, handover_id=transfer.handover_id)
    _commit(session, notifier, ticket.conversation_id)
    target = f"/console/tickets/{ticket.id}" if decision == "accept" else "/console/queue"
    return _back(request, target, {"status": transfer.status})


@router.post("/tickets/{ticket_id}/close")
def close_ticket(
    request: Request,
    ticket_id: int,
    principal: StaffPageDep,
    session: SessionDep,
    notifier: NotifierDep,
    outcome_code: Annotated[str, Form(max_length=30)],
    outcome_service_id: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    ticket = queue.close(
        session=session, handover_id=ticket_id, principal=principal, outcome_code=outcome_code,
        outcome_service_id=outcome_service_id, now=_now(), config=_config(request),
    )  # fmt: skip
    _commit(session, notifier, ticket.conversation_id)
    return _back(request, "/console/queue")


@router.post("/tickets/{ticket_id}/hand-back")
def hand_back(request: Request, ticket_id: int, principal: StaffPageDep, session: SessionDep, notifier: NotifierDep) -> Response:
    ticket = queue.hand_back(session=session, handover_id=ticket_id, principal=principal, now=_now())
    _commit(session, notifier, ticket.conversation_id)
    return _back(request, "/console/queue")


@router.get("/tickets/{ticket_id}/transcript")
def transcript(request: Request, ticket_id: int, principal: StaffPageDep, session: SessionDep) -> PlainTextResponse:
    """The conversation as plain text: what the user and the bot and counsellors said.
    Never the internal notes or the services' internal instructions."""
    _require_queue(principal)
    ticket = queue.get_ticket(session=session, handover_id=ticket_id)
    queue.require_view(session, ticket, principal)
    t = console_messages().text
    language = ui_language(request, principal)
    lines = [
        f"{t('console.ticket.title', language, id=ticket.id)}",
        f"{t('console.field.language', language)}: {ticket.language}",
        f"{t('console.field.status', language)}: {ticket.status}",
        f"{t('console.field.created', language)}: {ticket.created_at.isoformat(timespec='seconds')}",
        f"{t('console.field.outcome', language)}: {ticket.outcome_code or '-'}",
        "",
    ]
    for message in _transcript(session, ticket.conversation_id):
        author = t(f"console.author.{message.author}", language)
        lines.append(f"[{message.created_at.isoformat(timespec='seconds')}] {author}: {message.text}")
    return PlainTextResponse(
        "\n".join(lines) + "\n",
        headers={"Content-Disposition": f'attachment; filename="ticket-{ticket.id}.txt"', "Cache-Control": "no-store"},
    )


# -- canned replies -------------------------------------------------------------------------


def _managed_organisations(session: Session, principal: Principal) -> list[str]:
    if principal.is_platform_admin:
        return list(session.scalars(select(Organisation.id).where(Organisation.participating.is_(True)).order_by(Organisation.id)))
    return sorted(principal.organisations("supervisor", "org_admin"))


@router.get("/canned", response_class=HTMLResponse)
def canned_page(request: Request, principal: StaffPageDep, session: SessionDep) -> Response:
    managed = _managed_organisations(session, principal)
    if not managed:
        raise Forbidden("only supervisors and organisation admins manage canned replies")
    rows = session.scalars(
        select(CannedReply).where(CannedReply.organisation_id.in_(managed)).order_by(CannedReply.organisation_id, CannedReply.language, CannedReply.title)
    ).all()
    return render(request, "canned.html", principal=principal, rows=rows, managed=managed, languages=SUPPORTED_LANGUAGES)


@router.post("/canned")
def add_canned(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    organisation_id: Annotated[str, Form(max_length=64)],
    language: Annotated[str, Form(max_length=3)],
    title: Annotated[str, Form(max_length=200)],
    text: Annotated[str, Form(max_length=queue.MAX_TEXT)],
) -> Response:
    if language not in SUPPORTED_LANGUAGES:
        raise Forbidden("unsupported language")
    queue_console.add_canned(session=session, principal=principal, organisation_id=organisation_id, language=language, title=title, text=text, now=_now())
    session.commit()
    return _back(request, "/console/canned")


@router.post("/canned/{canned_id}/delete")
def delete_canned(request: Request, canned_id: int, principal: StaffPageDep, session: SessionDep) -> Response:
    queue_console.delete_canned(session=session, principal=principal, canned_id=canned_id)
    session.commit()
    return _back(request, "/console/canned")


# -- supervisor's figures --------------------------------------------------------------------


@router.get("/figures", response_class=HTMLResponse)
def figures_page(
    request: Request, principal: StaffPageDep, session: SessionDep, organisation: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    own = sorted(principal.organisations("supervisor"))
    if principal.is_platform_admin:
        own = list(session.scalars(select(Organisation.id).where(Organisation.participating.is_(True)).order_by(Organisation.id)))
    organisation = organisation or (own[0] if own else None)
    if organisation is None or organisation not in own:
        raise Forbidden("supervisors see the figures of their own organisation only")
    numbers = queue_console.figures(session=session, organisation_id=organisation, now=_now(), config=_config(request))
    return render(request, "figures.html", principal=principal, figures=numbers, organisation=organisation, organisations=own)


@router.get("/figures.json")
def figures_json(
    request: Request, principal: StaffDep, session: SessionDep, organisation: Annotated[str, Query(max_length=64)]
) -> JSONResponse:
    if not principal.is_platform_admin and organisation not in principal.organisations("supervisor"):
        raise Forbidden("supervisors see the figures of their own organisation only")
    return JSONResponse(queue_console.figures(session=session, organisation_id=organisation, now=_now(), config=_config(request)))

