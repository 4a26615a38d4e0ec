"""Ending conversations: on the citizen's request ("end and forget", for shared
computers) or after inactivity. An ended conversation is closed, its token stops
working and a request still waiting for a counsellor is withdrawn. Messages stay for
the retention rules; nothing in the browser can reach them any more."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.models import Conversation, Handover

CLOSED = "closed"
WITHDRAWN = "withdrawn"


def end_conversation(*, session: Session, conversation: Conversation, now: datetime) -> None:
    conversation.state = CLOSED
    # A hash of a random secret nobody keeps: the old token can never match again.
    conversation.token_hash = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
    conversation.last_activity_at = now
    for handover in session.scalars(
        select(Handover).where(Handover.conversation_id == conversation.id, Handover.status == "waiting")
    ):
        handover.status = WITHDRAWN
    session.flush()


def end_idle(*, session: Session, channel: str, idle: timedelta, now: datetime) -> int:
    """End the channel's conversations without activity for `idle`; returns how many.
    Conversations with a person (queued or talking) are left alone: waiting is not idling."""
    idle_ones = list(
        session.scalars(
            select(Conversation).where(
                Conversation.channel == channel,
                Conversation.state == "bot",
                Conversation.last_activity_at < now - idle,
            )
        )
    )
    for conversation in idle_ones:
        end_conversation(session=session, conversation=conversation, now=now)
    return len(idle_ones)
