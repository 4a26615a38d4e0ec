"""Store of conversations, their messages and handovers. Functions take `session=`
and never commit; the caller owns the transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.errors import NotFound
from knowledge_base.models import Conversation, Handover, Message

PENDING = "pending"
PROCESSED = "processed"
FORWARDED = "forwarded"
# Ticket priority: lower is served first.
PRIORITY_SAFETY = 0
PRIORITY_NORMAL = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_conversation(*, session: Session, channel: str, language: str, now: datetime) -> tuple[Conversation, str]:
    """A new conversation and its secret token (only the hash is stored)."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation(
        id=str(uuid.uuid4()),
        token_hash=_hash(token),
        channel=channel,
        language=language,
        language_pinned=False,
        state="bot",
        next_seq=1,
        created_at=now,
        last_activity_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation, token


def authenticate(*, session: Session, conversation_id: str, token: str | None) -> Conversation:
    """The conversation if the token is its own; otherwise NotFound (never say which part was wrong)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not token or not hmac.compare_digest(conversation.token_hash, _hash(token)):
        raise NotFound("no such conversation")
    return conversation


def get_conversation(*, session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    return conversation


def add_message(
    *,
    session: Session,
    conversation: Conversation,
    direction: str,
    author: str,
    text: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    status: str = "",
    client_message_id: str | None = None,
    reply_to: int | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        seq=conversation.next_seq,
        direction=direction,
        author=author,
        text=text,
        payload=payload or {},
        status=status,
        client_message_id=client_message_id,
        reply_to=reply_to,
        created_at=now,
    )
    conversation.next_seq += 1
    conversation.last_activity_at = now
    session.add(message)
    session.flush()
    return message


def inbound_by_client_id(*, session: Session, conversation_id: str, client_message_id: str) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.client_message_id == client_message_id
        )
    )


def pending_inbound(*, session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.status == PENDING)
            .order_by(Message.seq)
        )
    )


def conversations_with_pending(*, session: Session) -> list[str]:
    return list(session.scalars(select(Message.conversation_id).where(Message.status == PENDING).distinct()))


def messages_after(*, session: Session, conversation_id: str, seq: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.conversation_id == conversation_id, Message.seq > seq).order_by(Message.seq)
        )
    )


def replies_to(*, session: Session, message_id: int) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.reply_to == message_id).order_by(Message.seq)))


def create_handover(
    *, session: Session, conversation: Conversation, reason: str, summary: dict[str, Any], safety: bool, now: datetime
) -> Handover:
    handover = Handover(
        conversation_id=conversation.id,
        reason=reason,
        language=conversation.language,
        summary=summary,
        safety=safety,
        status="waiting",
        channel=conversation.channel,
        priority=PRIORITY_SAFETY if safety else PRIORITY_NORMAL,
        offline=False,
        created_at=now,
        updated_at=now,
    )
    session.add(handover)
    conversation.state = "queued"
    session.flush()
    return handover

