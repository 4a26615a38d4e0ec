"""Telegram chats as conversations: the same `conversations` model as the web, with
channel 'telegram' and the chat id as `external_ref`. Telegram proves who the chat is,
so the conversation token is derived by the API from a server secret and the chat id
rather than kept by the citizen."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.models import Conversation

CHANNEL = "telegram"


def open_conversation(*, session: Session, chat_ref: str, token: str, language: str, now: datetime) -> tuple[Conversation, bool]:
    """The chat's open conversation, or a new one; True when it was created. The token
    hash is refreshed, so a rotated server secret does not lock a chat out."""
    conversation = session.scalar(
        select(Conversation)
        .where(Conversation.channel == CHANNEL, Conversation.external_ref == chat_ref, Conversation.state != "closed")
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )
    token_hash = hashlib.sha256(token.encode("utf-8")).hexdigest()
    if conversation is not None:
        conversation.token_hash = token_hash
        return conversation, False
    conversation = Conversation(
        id=str(uuid.uuid4()),
        token_hash=token_hash,
        channel=CHANNEL,
        language=language,
        language_pinned=False,
        state="bot",
        next_seq=1,
        external_ref=chat_ref,
        created_at=now,
        last_activity_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation, True
