"""The outbox of messaging-app channels (Telegram): every outbound message of such a
conversation, bot or counsellor, gets a row here and is delivered from it. A failed
send is retried with back-off; after the last attempt, or at once when the app refuses
it for good, it is parked as a dead letter that counsellors see. Never dropped, never
retried forever. Functions take `session=` and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, select, true
from sqlalchemy.orm import Session

from knowledge_base.errors import NotFound
from knowledge_base.models import Conversation, Handover, Message, OutboxItem

PENDING = "pending"
SENT = "sent"
DEAD = "dead"
MAX_ERROR_CHARS = 500


def collect(*, session: Session, channel: str, now: datetime) -> int:
    """Give every outbound message of the channel's conversations an outbox row; returns how many were new."""
    missing = session.execute(
        select(Message.id, Conversation.external_ref)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.channel == channel,
            Conversation.external_ref.is_not(None),
            Message.direction == "out",
            ~exists().where(OutboxItem.message_id == Message.id),
        )
        .order_by(Message.id)
    ).all()
    session.add_all(
        OutboxItem(
            message_id=message_id, channel=channel, chat_ref=chat_ref, status=PENDING, attempts=0,
            next_attempt_at=now, last_error="", created_at=now,
        )  # fmt: skip
        for message_id, chat_ref in missing
    )
    session.flush()
    return len(missing)


def due(*, session: Session, channel: str, now: datetime, limit: int = 100) -> list[OutboxItem]:
    """Pending items whose time has come, oldest first; a chat whose earlier message is
    still waiting for its retry is skipped, so messages never arrive out of order."""
    rows = session.execute(
        select(OutboxItem, case((OutboxItem.next_attempt_at <= now, True), else_=False))
        .where(OutboxItem.channel == channel, OutboxItem.status == PENDING)
        .order_by(OutboxItem.id)
        .limit(limit * 5)
    )
    blocked: set[str] = set()
    ready: list[OutboxItem] = []
    for item, is_due in rows:
        if item.chat_ref in blocked:
            continue
        if not is_due:
            blocked.add(item.chat_ref)
            continue
        ready.append(item)
        blocked.add(item.chat_ref)  # one per chat per round keeps the order
        if len(ready) >= limit:
            break
    return ready


def mark_sent(*, item: OutboxItem, now: datetime) -> None:
    item.status = SENT
    item.attempts += 1
    item.sent_at = now
    item.last_error = ""


def mark_failed(
    *, item: OutboxItem, error: str, now: datetime, retry_in: timedelta | None, max_attempts: int
) -> None:
    """Count a failed attempt: retry after `retry_in`, or park it as dead when that is
    None (a permanent refusal) or the attempts are used up."""
    item.attempts += 1
    item.last_error = error[:MAX_ERROR_CHARS]
    if retry_in is None or item.attempts >= max_attempts:
        item.status = DEAD
    else:
        item.next_attempt_at = now + retry_in


@dataclass(frozen=True)
class DeadLetter:
    id: int
    conversation_id: str
    chat_ref: str
    author: str
    text: str
    attempts: int
    last_error: str
    created_at: datetime


def _handled_by(organisations: frozenset[str] | None) -> Any:
    """Messages of conversations whose ticket one of `organisations` handles (None: all)."""
    if organisations is None:
        return true()
    return exists().where(Handover.conversation_id == Message.conversation_id, Handover.organisation_id.in_(organisations))


def dead_letters(*, session: Session, organisations: frozenset[str] | None, limit: int = 200) -> list[DeadLetter]:
    """Undelivered messages a staff member may see: those of conversations their
    organisations handle; every one for a platform admin (`organisations` None)."""
    rows = session.execute(
        select(OutboxItem, Message)
        .join(Message, Message.id == OutboxItem.message_id)
        .where(OutboxItem.status == DEAD, _handled_by(organisations))
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    )
    return [
        DeadLetter(item.id, message.conversation_id, item.chat_ref, message.author, message.text, item.attempts, item.last_error, item.created_at)
        for item, message in rows
    ]


def retry_dead(*, session: Session, item_id: int, organisations: frozenset[str] | None, now: datetime) -> None:
    """A counsellor's 'try again': the dead letter gets a fresh set of attempts."""
    item = session.scalar(
        select(OutboxItem)
        .join(Message, Message.id == OutboxItem.message_id)
        .where(and_(OutboxItem.id == item_id, OutboxItem.status == DEAD, _handled_by(organisations)))
    )
    if item is None:
        raise NotFound("no such dead letter")
    item.status = PENDING
    item.attempts = 0
    item.next_attempt_at = now
