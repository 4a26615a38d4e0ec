"""What the counsellor console reads and writes around a ticket: the queue view, one
ticket's row, internal notes, canned replies, a supervisor's figures. Functions take
`session=` and never commit. Who may see what is decided here and in
knowledge_base/queue.py (`can_view`), never in the routes."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base.accounts import Principal
from knowledge_base.counsellors import OFFLINE as PRESENCE_OFFLINE
from knowledge_base.counsellors import available, get_profile, queue_organisations
from knowledge_base.errors import InvalidQuery, NotAllowed, NotFound
from knowledge_base.models import CannedReply, CounsellorProfile, Handover, HandoverNote, HandoverTransfer
from knowledge_base.queue import (
    ASSIGNED,
    CLOSED,
    MAX_TEXT,
    OFFLINE,
    WAITING,
    QueueConfig,
    _aware,
    _speaks,
    get_ticket,
    is_widened,
    require_view,
    transfers_for,
)

LOCAL_TIMEZONE = ZoneInfo("Europe/Helsinki")


def add_note(*, session: Session, handover_id: int, principal: Principal, text: str, now: datetime) -> HandoverNote:
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidQuery(f"a note is 1..{MAX_TEXT} characters")
    ticket = get_ticket(session=session, handover_id=handover_id)
    require_view(session, ticket, principal)
    profile = get_profile(session=session, user_id=principal.user_id)
    organisation = (profile.organisation_id if profile else None) or ticket.organisation_id
    note = HandoverNote(
        handover_id=ticket.id, organisation_id=organisation, author_user_id=principal.user_id, text=text, created_at=now
    )
    session.add(note)
    session.flush()
    return note


def notes_for(*, session: Session, ticket: Handover, principal: Principal) -> list[HandoverNote]:
    """Notes written in the viewer's organisations (all of them for a platform admin)."""
    query = select(HandoverNote).where(HandoverNote.handover_id == ticket.id).order_by(HandoverNote.id)
    if not principal.is_platform_admin:
        query = query.where(HandoverNote.organisation_id.in_(sorted(queue_organisations(principal))))
    return list(session.scalars(query))


def canned_for(*, session: Session, principal: Principal, language: str | None = None) -> list[CannedReply]:
    organisations = sorted(principal.organisations())
    query = select(CannedReply).where(CannedReply.organisation_id.in_(organisations))
    if language:
        query = query.where(CannedReply.language == language)
    return list(session.scalars(query.order_by(CannedReply.organisation_id, CannedReply.title)))


def add_canned(
    *, session: Session, principal: Principal, organisation_id: str, language: str, title: str, text: str, now: datetime
) -> CannedReply:
    if not principal.has_any_role(("supervisor", "org_admin"), organisation_id):
        raise NotAllowed("only supervisors and organisation admins manage canned replies")
    if not title.strip() or not text.strip() or len(text) > MAX_TEXT:
        raise InvalidQuery("a canned reply needs a title and a text")
    row = CannedReply(
        organisation_id=organisation_id, language=language, title=title.strip()[:200], text=text.strip(), created_at=now
    )
    session.add(row)
    session.flush()
    return row


def delete_canned(*, session: Session, principal: Principal, canned_id: int) -> None:
    row = session.get(CannedReply, canned_id)
    if row is None:
        raise NotFound(f"no canned reply {canned_id}")
    if not principal.has_any_role(("supervisor", "org_admin"), row.organisation_id):
        raise NotAllowed("only supervisors and organisation admins manage canned replies")
    session.delete(row)
    session.flush()


def ticket_row(ticket: Handover, now: datetime, principal: Principal | None = None) -> dict[str, Any]:
    created = _aware(ticket.created_at, now) or now
    return {
        "id": ticket.id,
        "status": ticket.status,
        "language": ticket.language,
        "topic": ticket.topic,
        "municipality": ticket.municipality,
        "age": ticket.age,
        "employment_status": ticket.employment_status,
        "safety": ticket.safety,
        "priority": ticket.priority,
        "offline": ticket.offline,
        "channel": ticket.channel,
        "widened": ticket.widened_at is not None,
        "waiting_seconds": max(0, int((now - created).total_seconds())),
        "created_at": created.isoformat(),
        "mine": principal is not None and ticket.assigned_user_id == principal.user_id,
    }


def queue_view(*, session: Session, principal: Principal, now: datetime, config: QueueConfig) -> dict[str, Any]:
    """The console's queue: tickets the counsellor can take (their languages, or widened),
    offline messages, their own open chats, transfers offered to them."""
    profile = get_profile(session=session, user_id=principal.user_id)
    languages = tuple(profile.languages if profile else ())
    open_tickets = session.scalars(
        select(Handover)
        .where(Handover.status.in_((WAITING, OFFLINE)))
        .order_by(Handover.priority, Handover.created_at, Handover.id)
    ).all()
    visible = [t for t in open_tickets if principal.is_platform_admin or _speaks(languages, t, now, config)]
    mine = session.scalars(
        select(Handover)
        .where(Handover.status == ASSIGNED, Handover.assigned_user_id == principal.user_id)
        .order_by(Handover.assigned_at)
    ).all()
    transfers = transfers_for(session=session, principal=principal)
    return {
        "waiting": [ticket_row(t, now, principal) for t in visible if t.status == WAITING],
        "offline": [ticket_row(t, now, principal) for t in visible if t.status == OFFLINE],
        "mine": [ticket_row(t, now, principal) for t in mine],
        "transfers": [
            {
                "id": tr.id,
                "handover_id": tr.handover_id,
                "note": tr.note,
                "to_organisation_id": tr.to_organisation_id,
                "from_organisation_id": tr.from_organisation_id,
            }
            for tr in transfers
        ],
        "presence": profile.status if profile else PRESENCE_OFFLINE,
    }


def _local_midnight(now: datetime) -> datetime:
    """Today's midnight in Finland, as UTC (SQLite compares stored UTC text)."""
    local = now.astimezone(LOCAL_TIMEZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def figures(*, session: Session, organisation_id: str, now: datetime, config: QueueConfig) -> dict[str, Any]:
    """A supervisor's figures for one organisation: waiting now (tickets its online or
    offline counsellors could take, plus transfers offered to it), median wait of the
    tickets it took in the last 7 days, tickets it closed today, satisfaction (30 days)."""
    languages = {
        language
        for profile in session.scalars(select(CounsellorProfile).where(CounsellorProfile.organisation_id == organisation_id))
        for language in profile.languages or []
    }
    waiting = session.scalars(select(Handover).where(Handover.status == WAITING)).all()
    waiting_now = sum(1 for t in waiting if t.language in languages or is_widened(t, now, config))
    transfers = session.scalar(
        select(func.count())
        .select_from(HandoverTransfer)
        .where(HandoverTransfer.status == "pending", HandoverTransfer.to_organisation_id == organisation_id)
    )
    offline_waiting = sum(1 for t in session.scalars(select(Handover).where(Handover.status == OFFLINE)) if t.language in languages)
    taken = session.execute(
        select(Handover.created_at, Handover.assigned_at).where(
            Handover.organisation_id == organisation_id,
            Handover.assigned_at.is_not(None),
            Handover.assigned_at >= now - timedelta(days=7),
            Handover.offline.is_(False),
        )
    ).all()
    waits = [(assigned - created).total_seconds() for created, assigned in taken if assigned >= created]
    handled_today = session.scalar(
        select(func.count())
        .select_from(Handover)
        .where(
            Handover.organisation_id == organisation_id,
            Handover.status == CLOSED,
            Handover.closed_at >= _local_midnight(now),
        )
    )
    ratings = [
        r
        for (r,) in session.execute(
            select(Handover.satisfaction).where(
                Handover.organisation_id == organisation_id,
                Handover.satisfaction.is_not(None),
                Handover.closed_at >= now - timedelta(days=30),
            )
        )
    ]
    return {
        "organisation_id": organisation_id,
        "waiting_now": waiting_now + int(transfers or 0),
        "offline_waiting": offline_waiting,
        "median_wait_seconds": int(statistics.median(waits)) if waits else None,
        "handled_today": int(handled_today or 0),
        "satisfaction_mean": round(statistics.mean(ratings), 2) if ratings else None,
        "satisfaction_count": len(ratings),
        "online_counsellors": sum(
            1
            for c in available(
                session=session, now=now, heartbeat_timeout=config.heartbeat_timeout, business_hours=config.business_hours
            )
            if c.organisation_id == organisation_id
        ),
    }
