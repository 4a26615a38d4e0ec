"""A known set of conversations for the outcome figures, written through the real store
functions (knowledge_base/conversations.py, knowledge_base/clicks.py), with the values a
person computed by hand from it (EXPECTED). The period is a past week in March 2026
(Finnish time UTC+2), so conversations other tests create "now" never fall into it.

Groups (24 conversations):
  A  6 fi web:  recommended S1+S2, not opened -> answered (the first told the bot
                Espoo 049 and an age of 25-29); 5 of them first asked
                "where can I renew my fishing licence?" and got bot.not_understood
  B  5 sv telegram: recommended S1+S3, opened S1 -> recommended_and_opened
  C  7 fi web:  asked for a person, a counsellor took it -> referred_by_counsellor;
                6 helsinki (waits 1,2,3,4,5,10 min; satisfaction 5,4,4,3,5,2), 1 te (20 min, 1)
  D  2 en web:  offline message -> offline_message
  E  3 en web:  E1 PII-laden question not understood, idle -> abandoned;
                E2 ticket still waiting after 30 min -> abandoned; E3 ticket abandoned
  F  1 en web:  a question 5 minutes ago, no answer yet -> in_progress
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import clicks
from knowledge_base import conversations as store
from knowledge_base.models import Conversation, Service

START, END = date(2026, 3, 2), date(2026, 3, 8)
NOW = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki
MARKER = "outcome-seed"
PII_QUESTION = (
    "Olen Matti, hetu 131052-308T, puh. 040 123 4567, matti.meikalainen@example.com: miten saan kalastusluvan?"
)
PII_FRAGMENTS = ("131052-308T", "040 123 4567", "matti.meikalainen@example.com", "0401234567")
FISHING = [
    "Where can I renew my fishing licence?",
    "where can i renew my fishing   licence?",
    "WHERE CAN I RENEW MY FISHING LICENCE?",
    "Where can I renew my fishing licence?",
    " where can I renew my fishing licence? ",
]
WAITS_HELSINKI = [1, 2, 3, 4, 5, 10]  # minutes
SATISFACTION_HELSINKI = [5, 4, 4, 3, 5, 2]

EXPECTED: dict[str, Any] = {
    "conversations": 24,
    "outcomes": {
        "answered": 6,
        "recommended_and_opened": 5,
        "referred_by_counsellor": 7,
        "offline_message": 2,
        "abandoned": 3,
        "in_progress": 1,
    },
    "self_service_rate": 11 / 23,  # (6 + 5) / 23 final outcomes
    "escalation_rate": 11 / 24,  # C 7 + D 2 + E2 + E3
    # All organisations: waits 1,2,3,4,5,10,20 min -> median 4 min; p90 (inclusive) at 5.4 -> 10 + 0.4 * 10 = 14 min.
    "all": {"waits": 7, "median": 240.0, "p90": 840.0, "csat": 4 / 7, "answers": 7},
    # Helsinki only: 1,2,3,4,5,10 -> median 3.5 min; p90 at 4.5 -> 5 + 0.5 * 5 = 7.5 min; 4 of 6 answered 4-5.
    "helsinki": {"waits": 6, "median": 210.0, "p90": 450.0, "csat": 4 / 6, "answers": 6},
    "languages": [["fi", 13], ["en", 6], ["sv", 5]],
    "channels": [["web", 19], ["telegram", 5]],
    "fallbacks": 6,
    "fishing": ["where can i renew my fishing licence?", 5],
}


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _conversation(session: Session, channel: str, language: str, at: datetime) -> Conversation:
    conversation, _token = store.create_conversation(session=session, channel=channel, language=language, now=at)
    conversation.external_ref = MARKER
    return conversation


def _user(session: Session, conversation: Conversation, text: str, at: datetime) -> int:
    message = store.add_message(
        session=session,
        conversation=conversation,
        direction="in",
        author="user",
        text=text,
        now=at,
        status=store.PROCESSED,
    )
    return message.id


def _bot(session: Session, conversation: Conversation, reply_to: int, at: datetime, **payload: Any) -> None:
    store.add_message(
        session=session,
        conversation=conversation,
        direction="out",
        author="bot",
        text="…",
        now=at,
        payload=payload,
        reply_to=reply_to,
    )


def _cards(*service_ids: str) -> list[dict[str, Any]]:
    return [{"id": sid, "name": sid, "url": None, "why": [], "text_language": "fi"} for sid in service_ids]


def seed(sessions: sessionmaker[Session], services: Sequence[str]) -> None:
    """Write the conversations once (a second call finds them and does nothing)."""
    s1, s2, s3 = services
    with sessions() as session:
        if session.scalar(select(Conversation.id).where(Conversation.external_ref == MARKER).limit(1)):
            return
        for i in range(6):  # A
            c = _conversation(session, "web", "fi", _at(2 + i % 3, 8, i))
            if i < 5:
                asked = _user(session, c, FISHING[i], _at(2 + i % 3, 8, i))
                _bot(
                    session,
                    c,
                    asked,
                    _at(2 + i % 3, 8, i),
                    key="bot.not_understood",
                    intent="out_of_scope",
                    action="action_fallback",
                )
            said = _user(session, c, "jäin työttömäksi", _at(2 + i % 3, 8, i + 1))
            situation = {"municipality": "049", "age_band": "25_29"} if i == 0 else {}
            _bot(
                session,
                c,
                said,
                _at(2 + i % 3, 8, i + 1),
                **situation,
                key="bot.recommend_intro",
                services=_cards(s1, s2),
                intent="describe_situation",
                action="action_recommend",
            )
        for i in range(5):  # B
            c = _conversation(session, "telegram", "sv", _at(3, 9, i))
            said = _user(session, c, "jag förlorade mitt jobb", _at(3, 9, i))
            _bot(
                session,
                c,
                said,
                _at(3, 9, i),
                key="bot.recommend_intro",
                services=_cards(s1, s3),
                intent="describe_situation",
                action="action_recommend",
            )
            clicks.record_click(
                session=session, service_id=s1, link="0123456789ab", conversation_id=c.id, now=_at(3, 9, i + 1)
            )
        waits = [(m, sat, "helsinki") for m, sat in zip(WAITS_HELSINKI, SATISFACTION_HELSINKI, strict=True)] + [
            (20, 1, "te")
        ]
        for i, (minutes, satisfaction, organisation) in enumerate(waits):  # C
            created = _at(4, 7 + i)
            c = _conversation(session, "web", "fi", created)
            said = _user(session, c, "haluan puhua ihmiselle", created)
            _bot(session, c, said, created, key="bot.handover_queued", intent="request_human", action="action_handover")
            h = store.create_handover(
                session=session, conversation=c, reason="requested", summary={}, safety=False, now=created
            )
            h.status, h.organisation_id, h.topic = "closed", organisation, "work"
            h.assigned_at = created + timedelta(minutes=minutes)
            h.closed_at, h.outcome_code, h.satisfaction = (
                created + timedelta(minutes=minutes + 15),
                "referred",
                satisfaction,
            )
            h.municipality, h.age = "091", 24
        for i in range(2):  # D
            created = _at(5, 20, i)
            c = _conversation(session, "web", "en", created)
            said = _user(session, c, "I need help with my studies", created)
            _bot(session, c, said, created, key="bot.handover_queued", intent="request_human", action="action_handover")
            h = store.create_handover(
                session=session, conversation=c, reason="requested", summary={}, safety=False, now=created
            )
            h.status, h.offline, h.topic = "offline", True, "studies"
        c = _conversation(session, "web", "en", _at(6, 10))  # E1
        said = _user(session, c, PII_QUESTION, _at(6, 10))
        _bot(session, c, said, _at(6, 10), key="bot.not_understood", intent="out_of_scope", action="action_fallback")
        for status in ("waiting", "abandoned"):  # E2, E3
            c = _conversation(session, "web", "en", _at(7, 11))
            said = _user(session, c, "can I talk to a person", _at(7, 11))
            _bot(
                session,
                c,
                said,
                _at(7, 11),
                key="bot.handover_queued",
                intent="request_human",
                action="action_handover",
            )
            h = store.create_handover(
                session=session, conversation=c, reason="requested", summary={}, safety=False, now=_at(7, 11)
            )
            h.status = status
        c = _conversation(session, "web", "en", NOW - timedelta(minutes=5))  # F
        _user(session, c, "hello?", NOW - timedelta(minutes=5))
        session.commit()


def mark_outdated(sessions: sessionmaker[Session], service_id: str, status: str) -> str:
    """Set a service's status; returns the one it had."""
    with sessions() as session:
        service = session.get(Service, service_id)
        assert service is not None
        before, service.status = service.status, status
        session.commit()
        return before
