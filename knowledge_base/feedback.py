"""Citizens' ratings: thumbs up/down on one bot answer, and 1-5 stars for a whole
conversation that never reached a person. The content inbox reads them by message key
(which catalogue text was rated). Functions take `session=` and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base.errors import InvalidQuery, NotFound
from knowledge_base.models import ChatFeedback, Conversation, Handover, Message

ANSWER = "answer"
CONVERSATION = "conversation"
MIN_STARS, MAX_STARS = 1, 5


def rate_answer(*, session: Session, conversation: Conversation, message_id: int, helpful: bool, now: datetime) -> ChatFeedback:
    """Rate one bot message; rating it again replaces the earlier rating."""
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id or message.author != "bot":
        raise NotFound("no such bot answer in this conversation")
    return _upsert(
        session=session,
        conversation=conversation,
        message_id=message_id,
        kind=ANSWER,
        score=1 if helpful else -1,
        key=message.payload.get("key"),
        now=now,
    )


def rate_conversation(*, session: Session, conversation: Conversation, score: int, now: datetime) -> ChatFeedback:
    """Rate a bot-only conversation (a person's help is rated by the satisfaction question)."""
    if not MIN_STARS <= score <= MAX_STARS:
        raise InvalidQuery(f"score must be {MIN_STARS}..{MAX_STARS}")
    handed_over = session.scalar(select(func.count()).select_from(Handover).where(Handover.conversation_id == conversation.id))
    if handed_over:
        raise InvalidQuery("this conversation reached a counsellor; it is rated by the satisfaction question")
    return _upsert(session=session, conversation=conversation, message_id=None, kind=CONVERSATION, score=score, key=None, now=now)


def _upsert(
    *, session: Session, conversation: Conversation, message_id: int | None, kind: str, score: int, key: str | None, now: datetime
) -> ChatFeedback:
    row = session.scalar(
        select(ChatFeedback).where(
            ChatFeedback.conversation_id == conversation.id,
            ChatFeedback.kind == kind,
            ChatFeedback.message_id.is_(None) if message_id is None else ChatFeedback.message_id == message_id,
        )
    )
    if row is None:
        row = ChatFeedback(conversation_id=conversation.id, message_id=message_id, kind=kind)
        session.add(row)
    row.score = score
    row.message_key = key
    row.language = conversation.language
    row.created_at = now
    session.flush()
    return row


@dataclass(frozen=True)
class KeyScore:
    """How one catalogue text was rated: the content inbox lists the worst first."""

    message_key: str
    helpful: int
    not_helpful: int


def answer_scores(*, session: Session, since: datetime | None = None) -> list[KeyScore]:
    query = select(ChatFeedback.message_key, ChatFeedback.score, func.count()).where(
        ChatFeedback.kind == ANSWER, ChatFeedback.message_key.is_not(None)
    )
    if since is not None:
        query = query.where(ChatFeedback.created_at >= since)
    counts: dict[str, list[int]] = {}
    for key, score, count in session.execute(query.group_by(ChatFeedback.message_key, ChatFeedback.score)):
        counts.setdefault(key, [0, 0])[0 if score > 0 else 1] += count
    rows = [KeyScore(key, up, down) for key, (up, down) in counts.items()]
    return sorted(rows, key=lambda r: (r.helpful - r.not_helpful, r.message_key))
