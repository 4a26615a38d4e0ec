"""The unanswered-questions inbox: what citizens asked that the bot could not answer
(its reply was a no-result or fallback message) or that got negative feedback,
PII-redacted and grouped by meaning so editors can add an FAQ answer or a synonym."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.models import Conversation, Message
from knowledge_base.redaction import redact

# Bot replies that mean "I could not answer this" (actions/search.py, actions/handoff.py).
UNANSWERED_KEYS = frozenset({"bot.no_services", "bot.not_understood"})
# Cosine similarity of e5 query vectors above which two questions join one group.
GROUP_SIMILARITY = 0.88
SCAN_LIMIT = 5_000


@dataclass(frozen=True)
class InboxQuestion:
    message_id: int
    conversation_id: str
    language: str
    text: str  # redacted
    at: datetime
    reason: str  # "unanswered" or "negative_feedback"


@dataclass
class QuestionGroup:
    questions: list[InboxQuestion] = field(default_factory=list)

    @property
    def representative(self) -> InboxQuestion:
        return self.questions[0]

    @property
    def languages(self) -> list[str]:
        return sorted({q.language for q in self.questions})


def negative_feedback(session: Session, since: datetime) -> list[InboxQuestion]:
    """Questions whose answer got a thumbs down. The widget's feedback table is built on
    another branch; point this one function at it when it lands."""
    return []


def unanswered(session: Session, since: datetime) -> list[InboxQuestion]:
    """The user messages the bot answered with a no-result or fallback message."""
    replies = session.execute(
        select(Message.reply_to, Message.payload)
        .where(Message.author == "bot", Message.created_at >= since, Message.reply_to.is_not(None))
        .order_by(Message.id.desc())
        .limit(SCAN_LIMIT)
    ).all()
    asked = sorted({reply_to for reply_to, payload in replies if (payload or {}).get("key") in UNANSWERED_KEYS})
    if not asked:
        return []
    rows = session.execute(
        select(Message, Conversation.language).join(Conversation, Conversation.id == Message.conversation_id).where(Message.id.in_(asked))
    ).all()
    return [
        InboxQuestion(m.id, m.conversation_id, language, redact(m.text), m.created_at, "unanswered")
        for m, language in rows
        if m.author == "user" and m.text.strip() and not m.text.startswith("/")
    ]


def group_questions(questions: list[InboxQuestion], embed: Callable[[list[str]], np.ndarray],
                    threshold: float = GROUP_SIMILARITY) -> list[QuestionGroup]:  # fmt: skip
    """Greedy grouping: each question joins the first group whose first question is
    similar enough. Largest groups first."""
    if not questions:
        return []
    vectors = embed([q.text for q in questions])
    groups: list[QuestionGroup] = []
    heads: list[np.ndarray] = []
    for question, vector in zip(questions, vectors, strict=True):
        for group, head in zip(groups, heads, strict=True):
            if float(head @ vector) >= threshold:
                group.questions.append(question)
                break
        else:
            groups.append(QuestionGroup([question]))
            heads.append(vector)
    return sorted(groups, key=lambda g: (-len(g.questions), -g.representative.message_id))


def inbox(session: Session, since: datetime, embed: Callable[[list[str]], np.ndarray]) -> list[QuestionGroup]:
    questions = unanswered(session, since) + negative_feedback(session, since)
    questions.sort(key=lambda q: -q.message_id)
    return group_questions(questions, embed)
