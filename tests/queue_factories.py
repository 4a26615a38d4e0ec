"""Factories for the counsellor queue tests: staff with profiles, citizens with tickets.
They go through the library functions, never raw rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from knowledge_base import accounts, counsellors, queue
from knowledge_base import conversations as store
from knowledge_base.accounts import Principal
from knowledge_base.models import Conversation, Handover

PASSWORD = "correct horse battery staple"
# A Wednesday at 10:00 in Helsinki: every participating organisation is open.
OPEN_NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
# The same Wednesday at 21:00 in Helsinki: all closed.
CLOSED_NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def staff(
    session: Session,
    roles: list[tuple[str | None, str]],
    *,
    now: datetime = OPEN_NOW,
    languages: list[str] | None = None,
    topics: list[str] | None = None,
    municipalities: list[str] | None = None,
    max_concurrent: int = 3,
    online: bool = False,
    email: str | None = None,
    name: str = "Staff",
) -> Principal:
    user = accounts.add_user(
        session,
        email=email or f"{uuid.uuid4().hex[:10]}@example.fi",
        name=name,
        password=PASSWORD,
        roles=roles,
        now=now,
        ui_language="en",
    )
    principal = accounts.principal_of(user)
    if counsellors.queue_organisations(principal) or languages:
        counsellors.update_profile(
            session=session,
            principal=principal,
            languages=languages or ["fi"],
            topics=topics or [],
            municipalities=municipalities or [],
            max_concurrent=max_concurrent,
        )
        if online:
            counsellors.set_presence(session=session, principal=principal, status="online", now=now)
    return principal


def citizen(session: Session, *, language: str = "fi", channel: str = "web", now: datetime = OPEN_NOW) -> tuple[Conversation, str]:
    conversation, token = store.create_conversation(session=session, channel=channel, language=language, now=now)
    store.add_message(session=session, conversation=conversation, direction="in", author="user", text="hei", now=now, status="processed")
    return conversation, token


def ticket(
    session: Session,
    config: queue.QueueConfig,
    *,
    language: str = "fi",
    now: datetime = OPEN_NOW,
    offline: bool = False,
    **summary: Any,
) -> Handover:
    conversation, _token = citizen(session, language=language, now=now)
    return queue.open_ticket(
        session=session,
        conversation=conversation,
        summary={"reason": "requested", "language": language, "situation": "", "recommended": [], **summary},
        now=now,
        config=config,
        offline=offline,
    )


def later(seconds: float, start: datetime = OPEN_NOW) -> datetime:
    return start + timedelta(seconds=seconds)
