"""Store of conversations, their messages and handovers. Functions take `session=`
and never commit; the caller owns the transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

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
    # The number comes from an atomic increment that also locks the conversation's row
    # until commit: two API workers adding to one conversation at once (the user's next
    # message while the bot's replies are stored) must not take the same seq.
    session.flush()
    next_seq = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(next_seq=Conversation.next_seq + 1, last_activity_at=now)
        .returning(Conversation.next_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(conversation, "next_seq", next_seq)
    set_committed_value(conversation, "last_activity_at", now)
    message = Message(
        conversation_id=conversation.id,
        seq=next_seq - 1,
        direction=direction,
        author=author,
        text=text,
        payload=payload or {},
        status=status,
        client_message_id=client_message_id,
        reply_to=reply_to,
        created_at=now,
    )
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


def claim_pending(*, session: Session, message_id: int, status: str) -> bool:
    """Move an inbound message from pending to `status`; False when it is no longer
    pending (another worker answered it). The conditional UPDATE locks the row, so of two
    transactions racing for one message exactly one gets True: replies stored under
    this claim are stored once."""
    result = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == PENDING)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


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

