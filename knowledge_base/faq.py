"""Curated FAQ answers: a question and its answer in one language, optionally about one
service. Editors write them (as drafts), approvers publish them; the bot answers with a
published one when the user's question is close enough (SearchService.faq_match).
Editing a published answer takes it back to draft, so the bot only says approved text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge_base.accounts import Principal
from knowledge_base.catalogue_changes import record_change
from knowledge_base.contracts import FaqEntry
from knowledge_base.errors import Conflict, Forbidden, InvalidQuery, NotFound
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.models import AuditEntry, FaqAnswer, Service

FAQ_STATUSES = ("draft", "published", "archived")
MAX_QUESTION = 500
MAX_ANSWER = 4_000


def published_entries(session: Session) -> list[FaqEntry]:
    rows = session.scalars(select(FaqAnswer).where(FaqAnswer.status == "published").order_by(FaqAnswer.id))
    return [FaqEntry(row.id, row.language, row.question, row.answer, row.service_id) for row in rows]


def list_faqs(session: Session, organisation_ids: frozenset[str] | None) -> list[FaqAnswer]:
    """Every FAQ answer of the organisations (all when None)."""
    query = select(FaqAnswer).order_by(FaqAnswer.id.desc())
    if organisation_ids is not None:
        query = query.where(FaqAnswer.organisation_id.in_(sorted(organisation_ids)))
    return list(session.scalars(query))


def get_faq(session: Session, faq_id: int) -> FaqAnswer:
    row = session.get(FaqAnswer, faq_id)
    if row is None:
        raise NotFound(f"no FAQ answer {faq_id}")
    return row


def _require(principal: Principal, role: str, organisation_id: str) -> None:
    if not principal.has_role(role, organisation_id):
        raise Forbidden(f"needs the role {role} in organisation {organisation_id}")


def _validate(session: Session, language: str, question: str, answer: str, service_id: str | None) -> tuple[str, str, str | None]:
    problems = []
    if language not in SUPPORTED_LANGUAGES:
        problems.append(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    question, answer = question.strip(), answer.strip()
    if not 3 <= len(question) <= MAX_QUESTION:
        problems.append(f"question: 3 to {MAX_QUESTION} characters")
    if not 1 <= len(answer) <= MAX_ANSWER:
        problems.append(f"answer: 1 to {MAX_ANSWER:,} characters")
    service_id = (service_id or "").strip() or None
    if service_id is not None and session.get(Service, service_id) is None:
        problems.append(f"no service {service_id!r}")
    if problems:
        raise InvalidQuery("; ".join(problems))
    return question, answer, service_id


def _audit(session: Session, principal: Principal, action: str, row: FaqAnswer, now: datetime) -> None:
    session.add(AuditEntry(at=now, user_id=principal.user_id, actor=principal.email, action=action,
                           service_id=row.service_id, detail={"faq_id": row.id}))  # fmt: skip


def create_faq(*, session: Session, principal: Principal, organisation_id: str, language: str, question: str,
               answer: str, service_id: str | None, now: datetime) -> FaqAnswer:  # fmt: skip
    _require(principal, "editor", organisation_id)
    question, answer, service_id = _validate(session, language, question, answer, service_id)
    row = FaqAnswer(organisation_id=organisation_id, service_id=service_id, language=language, question=question,
                    answer=answer, status="draft", lock=1, updated_by=principal.user_id, updated_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    _audit(session, principal, "faq_created", row, now)
    return row


def update_faq(*, session: Session, principal: Principal, faq_id: int, lock: int, language: str, question: str,
               answer: str, service_id: str | None, now: datetime) -> FaqAnswer:  # fmt: skip
    row = get_faq(session, faq_id)
    _require(principal, "editor", row.organisation_id)
    if row.lock != lock:
        raise Conflict(f"this FAQ answer was saved by someone else since you opened it (your copy {lock}, now {row.lock}); reload it")
    question, answer, service_id = _validate(session, language, question, answer, service_id)
    was_published = row.status == "published"
    row.language, row.question, row.answer, row.service_id = language, question, answer, service_id
    row.status = "draft"
    row.lock += 1
    row.updated_by, row.updated_at = principal.user_id, now
    if was_published:
        record_change(session, "faq", str(row.id), now)
    _audit(session, principal, "faq_saved", row, now)
    return row


def set_faq_status(*, session: Session, principal: Principal, faq_id: int, status: str, now: datetime) -> FaqAnswer:
    if status not in FAQ_STATUSES:
        raise InvalidQuery(f"status must be one of {', '.join(FAQ_STATUSES)}")
    row = get_faq(session, faq_id)
    _require(principal, "approver", row.organisation_id)
    if status != row.status:
        row.status = status
        row.lock += 1
        row.updated_at = now
        record_change(session, "faq", str(row.id), now)
        _audit(session, principal, f"faq_{status}", row, now)
    return row
