"""ORM tables of the service catalogue. Schema changes go through Alembic
(knowledge_base/migrations); never create tables from here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Seeded from knowledge_base/data/organisations.yml: the kind of organisation
    # (employment, youth, integration, school, municipality, national), whether its
    # counsellors take tickets from the shared queue, and its opening hours:
    # {"timezone", "weekly": {"mon": [["08:00", "16:00"]], ...}, "holidays": ["2025-12-24", ...]}.
    kind: Mapped[str | None] = mapped_column(String(30))
    participating: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Service(Base):
    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # source id, e.g. hel-tpr:2773
    source: Mapped[str] = mapped_column(String(60))
    source_id: Mapped[str] = mapped_column(String(80))
    source_url: Mapped[str | None] = mapped_column(String(500))
    licence: Mapped[str] = mapped_column(String(60))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[str] = mapped_column(String(20), default="published", index=True)
    area_type: Mapped[str] = mapped_column(String(20))  # "local" or "national"
    municipality_code: Mapped[str | None] = mapped_column(String(3), index=True)
    general_description_id: Mapped[str | None] = mapped_column(String(80))
    target_groups: Mapped[list[Any]] = mapped_column(default=list)  # PTV codes, e.g. KR1.3
    life_events: Mapped[list[Any]] = mapped_column(default=list)
    service_classes: Mapped[list[Any]] = mapped_column(default=list)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {language: [{title, url}]}
    # Eligibility read from the text: it ranks, it never excludes.
    extracted_age_min: Mapped[int | None] = mapped_column(Integer)
    extracted_age_max: Mapped[int | None] = mapped_column(Integer)
    extracted_immigrants: Mapped[bool] = mapped_column(Boolean, default=False)
    extracted_employment_statuses: Mapped[list[Any]] = mapped_column(default=list)
    # Provenance of the imported record, so re-import can tell what changed.
    source_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Curation (issue 7): curated eligibility is the only eligibility that may exclude.
    curated_eligibility: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    freshness_stage: Mapped[int] = mapped_column(Integer, default=0)  # 0 fresh, 1-2 reminded, 3 outdated

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    texts: Mapped[list[ServiceText]] = relationship(
        back_populates="service", cascade="all, delete-orphan", lazy="selectin"
    )


class ServiceText(Base):
    """The texts of a service in one language."""

    __tablename__ = "service_texts"

    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    synonyms: Mapped[str] = mapped_column(Text, default="")
    # For counsellors only: never serialised by any public route.
    internal_instructions: Mapped[str] = mapped_column(Text, default="")

    service: Mapped[Service] = relationship(back_populates="texts")


class Conversation(Base):
    """One person's conversation on one channel; the token proves it is theirs."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(3))
    language_pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # the user chose it explicitly
    state: Mapped[str] = mapped_column(String(12), default="bot", index=True)
    next_seq: Mapped[int] = mapped_column(Integer, default=1)
    external_ref: Mapped[str | None] = mapped_column(String(80), index=True)  # e.g. a Telegram chat id
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Message(Base):
    """Every message in and out, stored before it is processed, numbered per conversation."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(3))  # in, out
    author: Mapped[str] = mapped_column(String(12))  # user, bot, counsellor, system
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # key, buttons, services
    client_message_id: Mapped[str | None] = mapped_column(String(80))
    # Inbound: pending until the bot has answered it, or forwarded to a counsellor.
    status: Mapped[str] = mapped_column(String(12), default="", index=True)
    reply_to: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Handover(Base):
    """A request for a human counsellor, with what the bot learned: the queue's ticket.

    status: waiting (in the queue), assigned (a counsellor has it), closed (with an
    outcome code), abandoned (the user left before anyone took it), offline (a message
    left outside hours or when nobody could take it; answered later, then closed).
    priority: lower is served first; safety tickets get PRIORITY_SAFETY.
    """

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # requested, offered, safety
    language: Mapped[str] = mapped_column(String(3))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    safety: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="waiting", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What routing and the console need, copied out of the summary.
    channel: Mapped[str] = mapped_column(String(20), default="web")
    topic: Mapped[str | None] = mapped_column(String(40))
    municipality: Mapped[str | None] = mapped_column(String(3))  # municipality code
    age: Mapped[int | None] = mapped_column(Integer)
    employment_status: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=10, index=True)
    # Who handles it: the organisation of the counsellor who took it (or the one it was transferred to).
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_code: Mapped[str | None] = mapped_column(String(30))  # knowledge_base/data/outcomes.yml
    outcome_service_id: Mapped[str | None] = mapped_column(String(80))  # "referred to service X"
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1-5, the user's answer at close
    offline: Mapped[bool] = mapped_column(Boolean, default=False)  # left as a message, not live chat
    widened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # offered to any counsellor
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CounsellorProfile(Base):
    """What a counsellor can take from the shared queue, and whether they are there."""

    __tablename__ = "counsellor_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    languages: Mapped[list[Any]] = mapped_column(default=list)  # ["fi", "en"]
    topics: Mapped[list[Any]] = mapped_column(default=list)  # [] = any topic
    municipalities: Mapped[list[Any]] = mapped_column(default=list)  # codes; [] = any municipality
    status: Mapped[str] = mapped_column(String(10), default="offline", index=True)  # online, away, offline
    max_concurrent: Mapped[int] = mapped_column(Integer, default=3)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HandoverNote(Base):
    """An internal note on a ticket: for the handling organisation's staff, never shown to the user."""

    __tablename__ = "handover_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CannedReply(Base):
    """A ready answer of one organisation in one language."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    language: Mapped[str] = mapped_column(String(3))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HandoverTransfer(Base):
    """A ticket offered to a colleague or another organisation; the receiver accepts or declines."""

    __tablename__ = "handover_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending, accepted, declined
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Lease(Base):
    """A named lease, so a timer runs in one API worker at a time (see knowledge_base/queue.py)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    """A staff account: counsellor, supervisor, editor, approver or admin (roles are per organisation)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ui_language: Mapped[str] = mapped_column(String(3), default="fi")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(Base):
    """One role of one user in one organisation; platform_admin has no organisation."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="memberships")


class WebSession(Base):
    """A server-side login session; the cookie holds a random token, the table its hash."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# --- content curation (issue 7) ---
# The `services` row and its `service_texts` are the live, published copy that search
# reads. Editors work on `service_versions` (content snapshots); publishing one copies
# it into the live rows and writes a `catalogue_changes` row in the same transaction,
# which every searching process polls.


class ServiceVersion(Base):
    """One version of a service's editable content: draft, ready_for_review, published,
    superseded (an older published one) or discarded."""

    __tablename__ = "service_versions"
    __table_args__ = (UniqueConstraint("service_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per service
    state: Mapped[str] = mapped_column(String(20), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)  # see knowledge_base/content_model.py
    lock: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency: bumped on every save
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who did what to which service or FAQ answer, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))  # e-mail, or "system" for jobs and imports
    action: Mapped[str] = mapped_column(String(40))
    service_id: Mapped[str | None] = mapped_column(String(80), index=True)
    version_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CatalogueChange(Base):
    """An increasing id per change of what search may show; searching processes poll it."""

    __tablename__ = "catalogue_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))  # service, faq
    ref: Mapped[str] = mapped_column(String(80))  # service id or FAQ id
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PassageVector(Base):
    """Passage vectors encoded at publish time, so other processes need not encode again."""

    __tablename__ = "passage_vectors"

    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)  # vector_store.fingerprint
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FaqAnswer(Base):
    """A curated question and answer in one language, optionally about one service."""

    __tablename__ = "faq_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(3))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)  # draft, published, archived
    lock: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContentNotification(Base):
    """A message to an organisation's editors (review reminders), shown in the content console."""

    __tablename__ = "content_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    service_id: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))  # review_due, review_overdue, outdated
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- channels: widget feedback, Telegram outbox (issue 6) ---


class ChatFeedback(Base):
    """A citizen's rating: thumbs up/down on one bot answer, or 1-5 for a whole bot-only
    conversation. The content inbox reads these; the answer's key tells which text it was."""

    __tablename__ = "chat_feedback"
    __table_args__ = (UniqueConstraint("conversation_id", "message_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(Integer)  # None for a conversation rating
    kind: Mapped[str] = mapped_column(String(12))  # answer, conversation
    score: Mapped[int] = mapped_column(Integer)  # answer: +1/-1; conversation: 1..5
    message_key: Mapped[str | None] = mapped_column(String(80), index=True)
    language: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class OutboxItem(Base):
    """One outbound message of a messaging-app conversation on its way to the app.
    Retried with back-off on rate limits and server errors, then parked as 'dead'."""

    __tablename__ = "channel_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_ref: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(8), index=True)  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- guidance outcomes (issue 9) ---


class ServiceClick(Base):
    """A service link a user opened through the click-through route `/r/{service_id}/{link_id}`.
    The only outcome fact that cannot be read from messages and handovers; no personal data."""

    __tablename__ = "service_clicks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # None when the link was opened outside a conversation (a shared or bookmarked card).
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[str] = mapped_column(String(80), index=True)
    link_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
