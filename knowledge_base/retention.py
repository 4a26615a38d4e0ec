"""Retention: delete conversations past their retention period, and one person's
conversations on request, everywhere they are kept — the product's database (messages,
handovers and every table that references a conversation, by ON DELETE CASCADE) and
Rasa's tracker store (its own database; events keyed by sender id = conversation id).

Logs never hold message text (knowledge_base.logging_setup redacts and the code logs
ids only) nor client addresses (uvicorn's access lines get "-"); Redis holds no conversation data beyond short-lived events.

A conversation identifies a person when it came from Telegram (a chat id) or left an
offline message (which may carry contact details); it is kept for
`retention_identified_days`, every other one for `retention_anonymous_days`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, create_engine, delete, func, inspect, not_, or_, select, text
from sqlalchemy.orm import Session

from knowledge_base.errors import InvalidQuery
from knowledge_base.models import Conversation, Handover, Message
from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)
IDENTIFIED_CHANNELS = ("telegram",)


@dataclass
class PurgeReport:
    dry_run: bool
    conversations: int = 0
    messages: int = 0
    handovers: int = 0
    tracker_events: int = 0
    conversation_ids: list[str] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, int | bool]:
        return {
            "dry_run": self.dry_run,
            "conversations": self.conversations,
            "messages": self.messages,
            "handovers": self.handovers,
            "tracker_events": self.tracker_events,
        }


def expired_conversations(session: Session, *, settings: Settings, now: datetime) -> list[str]:
    offline = select(Handover.conversation_id).where(Handover.status == "offline")
    identified = or_(Conversation.channel.in_(IDENTIFIED_CHANNELS), Conversation.id.in_(offline))
    anonymous_cutoff = now - timedelta(days=settings.retention_anonymous_days)
    identified_cutoff = now - timedelta(days=settings.retention_identified_days)
    rows = session.scalars(
        select(Conversation.id).where(
            or_(
                and_(identified, Conversation.last_activity_at < identified_cutoff),
                and_(not_(identified), Conversation.last_activity_at < anonymous_cutoff),
            )
        )
    )
    return list(rows)


def conversations_of(session: Session, *, conversation_id: str | None = None, telegram_chat: str | None = None) -> list[str]:
    """The conversations of one person: by conversation id or by Telegram chat id."""
    if (conversation_id is None) == (telegram_chat is None):
        raise InvalidQuery("give exactly one of a conversation id or a Telegram chat id")
    query = select(Conversation.id)
    if conversation_id is not None:
        query = query.where(Conversation.id == conversation_id)
    else:
        query = query.where(Conversation.channel == "telegram", Conversation.external_ref == str(telegram_chat))
    return list(session.scalars(query))


def delete_conversations(
    session: Session, conversation_ids: Sequence[str], *, tracker_url: str | None, dry_run: bool
) -> PurgeReport:
    """Delete (or with `dry_run` only count) the conversations and all that hangs on them.
    The caller commits the product's session; the tracker store is committed here."""
    report = PurgeReport(dry_run=dry_run, conversation_ids=list(conversation_ids))
    ids = list(conversation_ids)
    if not ids:
        return report
    report.conversations = len(ids)
    report.messages = session.scalar(select(func.count()).select_from(Message).where(Message.conversation_id.in_(ids))) or 0
    report.handovers = session.scalar(select(func.count()).select_from(Handover).where(Handover.conversation_id.in_(ids))) or 0
    report.tracker_events = _tracker_events(tracker_url, ids, dry_run)
    if not dry_run:
        session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
        logger.info("retention: deleted %d conversations", len(ids))
    return report


def _tracker_events(tracker_url: str | None, ids: list[str], dry_run: bool) -> int:
    if tracker_url is None:
        return 0
    engine = create_engine(tracker_url)
    try:
        if "events" not in inspect(engine).get_table_names():
            return 0
        params = {f"id{i}": value for i, value in enumerate(ids)}
        where = f"sender_id IN ({', '.join(':' + name for name in params)})"
        with engine.begin() as connection:
            count = connection.execute(text(f"SELECT count(*) FROM events WHERE {where}"), params).scalar_one()
            if not dry_run:
                connection.execute(text(f"DELETE FROM events WHERE {where}"), params)
        return int(count)
    finally:
        engine.dispose()
