"""The shared counsellor queue: one ticket (a `handovers` row) per handover.

Plain synchronous functions that take `session=` and never commit; the caller owns
the transaction (and retries it when SQLite says the database is busy, see
knowledge_base/leases.py `run_transaction`). Everything two API workers or two
counsellors could do at once is an atomic conditional UPDATE: taking a ticket,
accepting a transfer, closing, requeueing. The timers (`run_timers`) run under a lease
(leases.py `acquire_lease`), so one worker runs them at a time, and each of their steps
is conditional as well. What the console shows around a ticket (queue view, notes,
canned replies, figures) is in knowledge_base/queue_console.py.

Ticket statuses: waiting → assigned → closed; waiting → abandoned; offline (a message
left when live chat was not possible) → assigned → closed. Conversation states:
bot, leave_offer (asked whether to leave a message), queued, offline, counsellor.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from knowledge_base import conversations as store
from knowledge_base.accounts import Principal
from knowledge_base.counsellors import OFFLINE as PRESENCE_OFFLINE
from knowledge_base.counsellors import (
    Available,
    any_organisation_open,
    available,
    ensure_profile,
    get_profile,
    may_use_queue,
    queue_organisations,
    stale_online,
)
from knowledge_base.db import aware
from knowledge_base.errors import Conflict, InvalidQuery, Forbidden, NotFound
from knowledge_base.i18n import Catalogue
from knowledge_base.models import (
    Conversation,
    Handover,
    HandoverTransfer,
    Message,
    Organisation,
    Service,
)
from knowledge_base.organisations import load_outcomes, load_topics
from knowledge_base.settings import PACKAGE_DIR

logger = logging.getLogger(__name__)

WAITING = "waiting"
ASSIGNED = "assigned"
CLOSED = "closed"
ABANDONED = "abandoned"
OFFLINE = "offline"
STATUSES = (WAITING, ASSIGNED, CLOSED, ABANDONED, OFFLINE)
ACTIVE = (WAITING, ASSIGNED, OFFLINE)

# Conversation states.
BOT = "bot"
LEAVE_OFFER = "leave_offer"
QUEUED = "queued"
WITH_COUNSELLOR = "counsellor"
LEFT_MESSAGE = "offline"
ROUTED_STATES = (QUEUED, WITH_COUNSELLOR, LEFT_MESSAGE)  # the user's messages go to the counsellor

# Languages every participating organisation answers in when nobody speaks the user's.
FALLBACK_LANGUAGES = ("fi", "en", "sv")
RETURNED_TO_BOT = "returned_to_bot"
ABANDONED_BY_USER = "abandoned_by_user"
TIMER_LEASE = "queue-timers"
MAX_TEXT = 4000
SATISFACTION_SCALE = range(1, 6)
SATISFACTION_PAYLOAD = "/satisfaction"
LEAVE_MESSAGE_PAYLOAD = "/leave_message"


@dataclass(frozen=True)
class QueueConfig:
    widen_after: timedelta = timedelta(minutes=2)
    heartbeat_timeout: timedelta = timedelta(seconds=60)
    abandon_after: timedelta = timedelta(hours=2)
    estimate_min_history: int = 5
    estimate_window: int = 50
    business_hours: bool = True
    auto_assign: bool = True
    data_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> QueueConfig:
        return cls(
            widen_after=timedelta(seconds=settings.queue_widen_after_seconds),
            heartbeat_timeout=timedelta(seconds=settings.counsellor_heartbeat_timeout_seconds),
            abandon_after=timedelta(seconds=settings.queue_abandon_after_seconds),
            estimate_min_history=settings.queue_estimate_min_history,
            business_hours=settings.queue_business_hours,
            auto_assign=settings.queue_auto_assign,
            data_dir=settings.data_dir,
        )


def _say(
    session: Session,
    conversation: Conversation,
    key: str,
    now: datetime,
    messages: Catalogue | None = None,
    buttons: list[dict[str, str]] | None = None,
    **params: object,
) -> Message:
    """An automated message to the user, in their language."""
    catalogue = messages or Catalogue.load()
    payload: dict[str, Any] = {"key": key}
    if buttons:
        payload["buttons"] = buttons
    text = catalogue.text(key, conversation.language, **params)
    return store.add_message(
        session=session, conversation=conversation, direction="out", author="bot", text=text, payload=payload, now=now
    )


# -- opening a ticket ---------------------------------------------------------------


def availability(*, session: Session, language: str, now: datetime, config: QueueConfig) -> str:
    """'live' when someone who could take a ticket is online in an open organisation;
    'closed' when every participating organisation is closed; else 'nobody'."""
    if config.business_hours and not any_organisation_open(session=session, now=now):
        return "closed"
    counsellors = available(
        session=session, now=now, heartbeat_timeout=config.heartbeat_timeout, business_hours=config.business_hours
    )
    return "live" if counsellors else "nobody"


def _ticket_fields(session: Session, summary: dict[str, Any], data_dir: Path | None) -> dict[str, Any]:
    topics = load_topics(data_dir or PACKAGE_DIR / "data")
    life_events: list[str] = []
    for service_id in summary.get("recommended") or []:
        service = session.get(Service, str(service_id))
        if service is not None:
            life_events.extend(service.life_events or [])
    situation = str(summary.get("situation") or "")
    age = summary.get("age")
    return {
        "topic": summary.get("topic") or topics.topic(life_events, situation),
        "employment_status": summary.get("employment_status") or topics.employment_status(situation),
        "age": int(age) if isinstance(age, (int, float)) and not isinstance(age, bool) else None,
        "municipality": (str(summary["municipality"])[:3] if summary.get("municipality") else None),
    }


def open_ticket(
    *,
    session: Session,
    conversation: Conversation,
    summary: dict[str, Any],
    now: datetime,
    config: QueueConfig,
    offline: bool = False,
) -> Handover:
    """A new ticket for the conversation, with what the bot learned; waiting (live) or
    offline (a message left for later). Live tickets are routed at once."""
    summary = {**summary, "language": summary.get("language") or conversation.language}
    handover = store.create_handover(
        session=session,
        conversation=conversation,
        reason=str(summary.get("reason") or "requested"),
        summary=summary,
        safety=bool(summary.get("safety")),
        now=now,
    )
    for name, value in _ticket_fields(session, summary, config.data_dir).items():
        setattr(handover, name, value)
    if offline:
        handover.status = OFFLINE
        handover.offline = True
        conversation.state = LEFT_MESSAGE
    else:
        conversation.state = QUEUED
    session.flush()
    if not offline:
        dispatch(session=session, now=now, config=config)
    return handover


def active_ticket(*, session: Session, conversation_id: str) -> Handover | None:
    return session.scalar(
        select(Handover)
        .where(Handover.conversation_id == conversation_id, Handover.status.in_(ACTIVE))
        .order_by(Handover.id.desc())
        .limit(1)
    )


def flag_safety(*, session: Session, conversation_id: str, now: datetime) -> None:
    """A message about danger after handover: the ticket goes to the front of the queue."""
    ticket = active_ticket(session=session, conversation_id=conversation_id)
    if ticket is not None:
        ticket.safety = True
        ticket.priority = store.PRIORITY_SAFETY
        ticket.updated_at = now


# -- routing and taking -------------------------------------------------------------


def is_widened(ticket: Handover, now: datetime, config: QueueConfig) -> bool:
    created = aware(ticket.created_at, now)
    return ticket.widened_at is not None or (created is not None and created <= now - config.widen_after)


def _speaks(languages: tuple[str, ...] | list[str], ticket: Handover, now: datetime, config: QueueConfig) -> bool:
    return ticket.language in languages or is_widened(ticket, now, config)


def _rank(counsellor: Available, ticket: Handover) -> tuple[int, int, int, float, int, int]:
    def match(wanted: str | None, offered: tuple[str, ...]) -> int:
        if wanted and wanted in offered:
            return 0
        return 1 if not offered else 2

    return (
        0 if ticket.language in counsellor.languages else 1,
        match(ticket.topic, counsellor.topics),
        match(ticket.municipality, counsellor.municipalities),
        counsellor.load / max(1, counsellor.max_concurrent),
        counsellor.load,
        counsellor.user_id,
    )


def _claim(session: Session, ticket_id: int, user_id: int, organisation_id: str | None, now: datetime) -> bool:
    """Assign the ticket if nobody has it: exactly one of any concurrent claims wins."""
    result = session.execute(
        update(Handover)
        .where(Handover.id == ticket_id, Handover.status.in_((WAITING, OFFLINE)), Handover.assigned_user_id.is_(None))
        .values(status=ASSIGNED, assigned_user_id=user_id, organisation_id=organisation_id, assigned_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _joined(session: Session, ticket: Handover, now: datetime) -> None:
    session.refresh(ticket)
    conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
    conversation.state = WITH_COUNSELLOR
    _say(session, conversation, "queue.counsellor_joined", now)


def dispatch(*, session: Session, now: datetime, config: QueueConfig) -> list[Handover]:
    """Auto-assign waiting tickets (safety first, then oldest) to online counsellors who
    speak the language (after `widen_after`: anyone), best topic and municipality match,
    least loaded first, within their capacity."""
    if not config.auto_assign:
        return []
    counsellors = [
        c
        for c in available(
            session=session, now=now, heartbeat_timeout=config.heartbeat_timeout, business_hours=config.business_hours
        )
        if c.has_capacity
    ]
    if not counsellors:
        return []
    tickets = session.scalars(
        select(Handover)
        .where(Handover.status == WAITING)
        .order_by(Handover.priority, Handover.created_at, Handover.id)
    ).all()
    assigned = []
    for ticket in tickets:
        candidates = [c for c in counsellors if c.has_capacity and _speaks(c.languages, ticket, now, config)]
        if not candidates:
            continue
        best = min(candidates, key=lambda c: _rank(c, ticket))
        if _claim(session, ticket.id, best.user_id, best.organisation_id, now):
            best.load += 1
            _joined(session, ticket, now)
            assigned.append(ticket)
            logger.info("ticket %s assigned to user %s", ticket.id, best.user_id)
    return assigned


def get_ticket(*, session: Session, handover_id: int) -> Handover:
    ticket = session.get(Handover, handover_id)
    if ticket is None:
        raise NotFound(f"no ticket {handover_id}")
    return ticket


def take(*, session: Session, handover_id: int, principal: Principal, now: datetime, config: QueueConfig) -> Handover:
    """The counsellor takes a waiting (or offline) ticket. Conflict when someone else got it first."""
    ticket = get_ticket(session=session, handover_id=handover_id)
    profile = ensure_profile(session=session, principal=principal)
    if ticket.status not in (WAITING, OFFLINE):
        raise Conflict("this ticket has been taken already")
    if not principal.is_platform_admin and not _speaks(profile.languages or [], ticket, now, config):
        raise Forbidden("this ticket waits for a counsellor who speaks its language")
    if not _claim(session, ticket.id, principal.user_id, profile.organisation_id, now):
        raise Conflict("this ticket has been taken already")
    _joined(session, ticket, now)
    logger.info("ticket %s taken by user %s", ticket.id, principal.user_id)
    return ticket


# -- access ------------------------------------------------------------------------


def pending_transfer_to(session: Session, ticket: Handover, principal: Principal) -> HandoverTransfer | None:
    transfers = session.scalars(
        select(HandoverTransfer).where(HandoverTransfer.handover_id == ticket.id, HandoverTransfer.status == "pending")
    ).all()
    organisations = queue_organisations(principal)
    for transfer in transfers:
        if transfer.to_user_id == principal.user_id or (transfer.to_organisation_id in organisations):
            return transfer
    return None


def can_view(session: Session, ticket: Handover, principal: Principal) -> bool:
    """Who may open a ticket: anyone of the queue while it waits; afterwards its counsellor,
    the supervisors of the handling organisation, the receiver of a pending transfer, admins."""
    if principal.is_platform_admin:
        return True
    if not may_use_queue(principal):
        return False
    if ticket.status in (WAITING, OFFLINE):
        return True
    if ticket.assigned_user_id == principal.user_id:
        return True
    if ticket.organisation_id and principal.has_role("supervisor", ticket.organisation_id):
        return True
    return pending_transfer_to(session, ticket, principal) is not None


def require_view(session: Session, ticket: Handover, principal: Principal) -> None:
    if not can_view(session, ticket, principal):
        raise Forbidden("this ticket belongs to another counsellor or organisation")


def _require_handler(ticket: Handover, principal: Principal) -> None:
    """Only the counsellor who has the ticket (or a supervisor of its organisation) acts on it."""
    if ticket.status != ASSIGNED:
        raise Conflict(f"this ticket is {ticket.status}")
    if ticket.assigned_user_id == principal.user_id or principal.is_platform_admin:
        return
    if ticket.organisation_id and principal.has_role("supervisor", ticket.organisation_id):
        return
    raise Forbidden("take the ticket first")


# -- in the conversation ------------------------------------------------------------


def reply(*, session: Session, handover_id: int, principal: Principal, text: str, now: datetime) -> Message:
    """The counsellor's answer: a `messages` row (author counsellor, direction out).
    The caller commits and calls notifier.notify(conversation_id)."""
    text = text.strip()
    if not text:
        raise InvalidQuery("the reply is empty")
    if len(text) > MAX_TEXT:
        raise InvalidQuery(f"the reply is {len(text)} characters; the limit is {MAX_TEXT}")
    ticket = get_ticket(session=session, handover_id=handover_id)
    _require_handler(ticket, principal)
    conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
    message = store.add_message(
        session=session, conversation=conversation, direction="out", author="counsellor", text=text, now=now
    )
    ticket.updated_at = now
    return message


# -- transfer ----------------------------------------------------------------------


def request_transfer(
    *,
    session: Session,
    handover_id: int,
    principal: Principal,
    now: datetime,
    to_user_id: int | None = None,
    to_organisation_id: str | None = None,
    note: str = "",
) -> HandoverTransfer:
    """Offer the ticket to a colleague or another organisation; it stays yours until accepted."""
    ticket = get_ticket(session=session, handover_id=handover_id)
    _require_handler(ticket, principal)
    if (to_user_id is None) == (to_organisation_id is None):
        raise InvalidQuery("transfer to one counsellor or one organisation")
    if to_user_id is not None:
        if to_user_id == ticket.assigned_user_id:
            raise InvalidQuery("the ticket is with that counsellor already")
        if get_profile(session=session, user_id=to_user_id) is None:
            raise NotFound("no such counsellor")
    if to_organisation_id is not None:
        organisation = session.get(Organisation, to_organisation_id)
        if organisation is None or not organisation.participating:
            raise NotFound("no such participating organisation")
    pending = session.scalar(
        select(HandoverTransfer).where(HandoverTransfer.handover_id == ticket.id, HandoverTransfer.status == "pending")
    )
    if pending is not None:
        raise Conflict("a transfer of this ticket is waiting for an answer already")
    transfer = HandoverTransfer(
        handover_id=ticket.id,
        from_user_id=ticket.assigned_user_id,
        from_organisation_id=ticket.organisation_id,
        to_user_id=to_user_id,
        to_organisation_id=to_organisation_id,
        note=note.strip()[:MAX_TEXT],
        status="pending",
        created_at=now,
    )
    session.add(transfer)
    ticket.updated_at = now
    session.flush()
    return transfer


def decide_transfer(
    *, session: Session, transfer_id: int, principal: Principal, accept: bool, now: datetime
) -> HandoverTransfer:
    transfer = session.get(HandoverTransfer, transfer_id)
    if transfer is None:
        raise NotFound(f"no transfer {transfer_id}")
    receiver = transfer.to_user_id == principal.user_id or (
        transfer.to_organisation_id is not None and transfer.to_organisation_id in queue_organisations(principal)
    )
    if not receiver and not principal.is_platform_admin:
        raise Forbidden("this transfer is for someone else")
    if transfer.status != "pending":
        raise Conflict(f"this transfer was {transfer.status} already")
    decided = session.execute(
        update(HandoverTransfer)
        .where(HandoverTransfer.id == transfer.id, HandoverTransfer.status == "pending")
        .values(
            status="accepted" if accept else "declined", decided_at=now, decided_by_user_id=principal.user_id
        )
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:
        raise Conflict("this transfer was answered already")
    if accept:
        profile = ensure_profile(session=session, principal=principal)
        organisation = transfer.to_organisation_id or profile.organisation_id
        moved = session.execute(
            update(Handover)
            .where(
                Handover.id == transfer.handover_id,
                Handover.status == ASSIGNED,
                Handover.assigned_user_id == transfer.from_user_id,
            )
            .values(assigned_user_id=principal.user_id, organisation_id=organisation, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            raise Conflict("the ticket is no longer with the counsellor who offered it")
        ticket = get_ticket(session=session, handover_id=transfer.handover_id)
        session.refresh(ticket)
        conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
        _say(session, conversation, "queue.transferred", now)
    session.refresh(transfer)
    return transfer


def transfers_for(*, session: Session, principal: Principal) -> list[HandoverTransfer]:
    """Pending transfers to the principal or to one of their organisations."""
    organisations = sorted(queue_organisations(principal))
    query = select(HandoverTransfer).where(HandoverTransfer.status == "pending")
    if not principal.is_platform_admin:
        query = query.where(
            or_(HandoverTransfer.to_user_id == principal.user_id, HandoverTransfer.to_organisation_id.in_(organisations))
        )
    return list(session.scalars(query.order_by(HandoverTransfer.id)))


# -- ending ------------------------------------------------------------------------


def _finish(session: Session, ticket: Handover, status: str, outcome: str, now: datetime, from_status: str) -> bool:
    result = session.execute(
        update(Handover)
        .where(Handover.id == ticket.id, Handover.status == from_status)
        .values(status=status, outcome_code=outcome, closed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    return result.rowcount == 1


def _cancel_pending_transfers(session: Session, ticket: Handover, now: datetime) -> None:
    session.execute(
        update(HandoverTransfer)
        .where(HandoverTransfer.handover_id == ticket.id, HandoverTransfer.status == "pending")
        .values(status="declined", decided_at=now)
        .execution_options(synchronize_session=False)
    )


def rating_buttons() -> list[dict[str, str]]:
    return [{"title": str(score), "payload": f'{SATISFACTION_PAYLOAD}{{"score": {score}}}'} for score in SATISFACTION_SCALE]


def close(
    *,
    session: Session,
    handover_id: int,
    principal: Principal,
    outcome_code: str,
    now: datetime,
    config: QueueConfig,
    outcome_service_id: str | None = None,
) -> Handover:
    """Close with an outcome code; the user is asked for a 1-5 rating in their language."""
    # Who first, then what: someone who may not close it learns nothing from the validation.
    ticket = get_ticket(session=session, handover_id=handover_id)
    _require_handler(ticket, principal)
    outcomes = {o.code: o for o in load_outcomes(config.data_dir or PACKAGE_DIR / "data") if not o.system}
    if outcome_code not in outcomes:
        raise InvalidQuery(f"outcome must be one of {', '.join(outcomes)}")
    outcome_service_id = (outcome_service_id or "").strip() or None
    if outcomes[outcome_code].needs_service and not outcome_service_id:
        raise InvalidQuery("say which service the user was referred to")
    if outcome_service_id and session.get(Service, outcome_service_id) is None:
        raise InvalidQuery(f"no service {outcome_service_id!r}")
    if not _finish(session, ticket, CLOSED, outcome_code, now, ASSIGNED):
        raise Conflict("this ticket was closed already")
    ticket.outcome_service_id = outcome_service_id
    _cancel_pending_transfers(session, ticket, now)
    conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
    conversation.state = BOT
    _say(session, conversation, "queue.closed", now, buttons=rating_buttons())
    return ticket


def hand_back(*, session: Session, handover_id: int, principal: Principal, now: datetime) -> Handover:
    """Give the conversation back to the bot: the ticket closes as returned_to_bot."""
    ticket = get_ticket(session=session, handover_id=handover_id)
    _require_handler(ticket, principal)
    if not _finish(session, ticket, CLOSED, RETURNED_TO_BOT, now, ASSIGNED):
        raise Conflict("this ticket was closed already")
    _cancel_pending_transfers(session, ticket, now)
    conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
    conversation.state = BOT
    _say(session, conversation, "queue.back_to_bot", now)
    return ticket


def abandon(*, session: Session, ticket: Handover, now: datetime) -> bool:
    """The user left before anyone took the ticket."""
    if not _finish(session, ticket, ABANDONED, ABANDONED_BY_USER, now, WAITING):
        return False
    conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
    if conversation.state in ROUTED_STATES:
        conversation.state = BOT
    return True


def parse_satisfaction(text: str) -> int | None:
    """The score of a `/satisfaction{"score": N}` payload; None when it is not one."""
    stripped = text.strip()
    if not stripped.startswith(SATISFACTION_PAYLOAD):
        return None
    try:
        score = json.loads(stripped[len(SATISFACTION_PAYLOAD) :] or "{}").get("score")
    except (ValueError, AttributeError):
        return None
    return score if isinstance(score, int) and score in SATISFACTION_SCALE else None


def record_satisfaction(*, session: Session, conversation_id: str, score: int, now: datetime) -> bool:
    """Store the rating on the conversation's latest closed ticket that has none yet."""
    ticket = session.scalar(
        select(Handover)
        .where(
            Handover.conversation_id == conversation_id,
            Handover.status == CLOSED,
            Handover.satisfaction.is_(None),
            Handover.outcome_code != RETURNED_TO_BOT,
        )
        .order_by(Handover.id.desc())
        .limit(1)
    )
    if ticket is None or score not in SATISFACTION_SCALE:
        return False
    ticket.satisfaction = score
    ticket.updated_at = now
    return True


# -- what the citizen sees --------------------------------------------------------------


def position(*, session: Session, ticket: Handover) -> int:
    """1 + the live tickets ahead in the shared queue (safety first, then oldest)."""
    ahead = session.scalar(
        select(func.count())
        .select_from(Handover)
        .where(
            Handover.status == WAITING,
            or_(
                Handover.priority < ticket.priority,
                and_(
                    Handover.priority == ticket.priority,
                    or_(
                        Handover.created_at < ticket.created_at,
                        and_(Handover.created_at == ticket.created_at, Handover.id < ticket.id),
                    ),
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


def handling_minutes(*, session: Session, config: QueueConfig) -> float | None:
    """Median minutes a counsellor spent on one of the recent closed tickets; None
    until there are `estimate_min_history` of them."""
    rows = session.execute(
        select(Handover.assigned_at, Handover.closed_at)
        .where(Handover.status == CLOSED, Handover.assigned_at.is_not(None), Handover.closed_at.is_not(None))
        .order_by(Handover.closed_at.desc())
        .limit(config.estimate_window)
    ).all()
    durations = [(closed - assigned).total_seconds() / 60 for assigned, closed in rows if closed >= assigned]
    if len(durations) < config.estimate_min_history:
        return None
    return statistics.median(durations)


def estimate_minutes(*, session: Session, ticket: Handover, place: int, now: datetime, config: QueueConfig) -> int | None:
    median = handling_minutes(session=session, config=config)
    if median is None:
        return None
    counsellors = [
        c
        for c in available(
            session=session, now=now, heartbeat_timeout=config.heartbeat_timeout, business_hours=config.business_hours
        )
        if _speaks(c.languages, ticket, now, config)
    ]
    free = sum(1 for c in counsellors if c.has_capacity)
    if free >= place:
        return 1
    slots = max(1, sum(c.max_concurrent for c in counsellors))
    return max(1, math.ceil(place * median / slots))


def queue_status(
    *, session: Session, conversation: Conversation, now: datetime, config: QueueConfig, messages: Catalogue | None = None
) -> dict[str, Any]:
    """What the widget shows: {"state", "position", "estimate_minutes", "text"}.
    state: bot, leave_offer, waiting, assigned, offline."""
    catalogue = messages or Catalogue.load()
    language = conversation.language

    def status(state: str, key: str, place: int | None = None, estimate: int | None = None) -> dict[str, Any]:
        params = {"position": place, "minutes": estimate}
        return {"state": state, "position": place, "estimate_minutes": estimate, "text": catalogue.text(key, language, **params)}

    if conversation.state == LEAVE_OFFER:
        return status(LEAVE_OFFER, "queue.status_leave_offer")
    ticket = active_ticket(session=session, conversation_id=conversation.id)
    if ticket is None:
        return status(BOT, "queue.status_bot")
    if ticket.status == ASSIGNED:
        return status(ASSIGNED, "queue.status_with_counsellor")
    if ticket.status == OFFLINE:
        return status(OFFLINE, "queue.status_offline")
    place = position(session=session, ticket=ticket)
    minutes = estimate_minutes(session=session, ticket=ticket, place=place, now=now, config=config)
    result = (
        status(WAITING, "queue.position_no_estimate", place)
        if minutes is None
        else status(WAITING, "queue.position", place, minutes)
    )
    if ticket.widened_at is not None and language not in FALLBACK_LANGUAGES:
        result["text"] += " " + catalogue.text("queue.other_languages", language)
    return result


# -- timers ------------------------------------------------------------------------


def requeue_tickets_of(*, session: Session, user_id: int, now: datetime) -> list[Handover]:
    """A counsellor who is gone: their open tickets go back to the queue (offline ones to the messages)."""
    tickets = session.scalars(
        select(Handover).where(Handover.status == ASSIGNED, Handover.assigned_user_id == user_id)
    ).all()
    returned = []
    for ticket in tickets:
        back = OFFLINE if ticket.offline else WAITING
        result = session.execute(
            update(Handover)
            .where(Handover.id == ticket.id, Handover.status == ASSIGNED, Handover.assigned_user_id == user_id)
            .values(status=back, assigned_user_id=None, organisation_id=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        session.refresh(ticket)
        conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
        conversation.state = LEFT_MESSAGE if ticket.offline else QUEUED
        if not ticket.offline:
            _say(session, conversation, "queue.counsellor_left", now)
        returned.append(ticket)
        logger.info("ticket %s back in the queue: user %s disconnected", ticket.id, user_id)
    return returned


def go_offline(*, session: Session, principal: Principal, now: datetime) -> list[Handover]:
    """The counsellor signs off: status offline, their live tickets back to the queue."""
    profile = ensure_profile(session=session, principal=principal)
    profile.status = PRESENCE_OFFLINE
    profile.last_seen_at = now
    return requeue_tickets_of(session=session, user_id=principal.user_id, now=now)


def run_timers(*, session: Session, now: datetime, config: QueueConfig) -> set[str]:
    """One round of the queue's timers; returns the conversations that changed.

    Disconnected counsellors (no heartbeat within `heartbeat_timeout`) go offline and
    their tickets back to the queue; tickets waiting longer than `widen_after` are
    offered to any online counsellor (the user is told the answer may come in fi/en/sv);
    tickets whose user has been silent for `abandon_after` are abandoned; then waiting
    tickets are routed."""
    changed: set[str] = set()
    for profile in stale_online(session=session, now=now, heartbeat_timeout=config.heartbeat_timeout):
        profile.status = PRESENCE_OFFLINE
        changed.update(t.conversation_id for t in requeue_tickets_of(session=session, user_id=profile.user_id, now=now))

    due = session.scalars(
        select(Handover).where(
            Handover.status == WAITING, Handover.widened_at.is_(None), Handover.created_at <= now - config.widen_after
        )
    ).all()
    for ticket in due:
        widened = session.execute(
            update(Handover)
            .where(Handover.id == ticket.id, Handover.widened_at.is_(None), Handover.status == WAITING)
            .values(widened_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if widened.rowcount != 1:
            continue
        session.refresh(ticket)
        if ticket.language not in FALLBACK_LANGUAGES:
            conversation = store.get_conversation(session=session, conversation_id=ticket.conversation_id)
            _say(session, conversation, "queue.other_languages", now)
        changed.add(ticket.conversation_id)

    silent = session.scalars(
        select(Handover)
        .join(Conversation, Conversation.id == Handover.conversation_id)
        .where(Handover.status == WAITING, Conversation.last_activity_at < now - config.abandon_after)
    ).all()
    for ticket in silent:
        if abandon(session=session, ticket=ticket, now=now):
            changed.add(ticket.conversation_id)

    changed.update(t.conversation_id for t in dispatch(session=session, now=now, config=config))
    return changed
