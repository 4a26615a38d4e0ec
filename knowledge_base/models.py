"""ORM tables of the service catalogue. Schema changes go through Alembic
(knowledge_base/migrations); never create tables from here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


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
    """A request for a human counsellor, with what the bot learned."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # requested, offered, safety
    language: Mapped[str] = mapped_column(String(3))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    safety: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="waiting", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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


# --- channels: widget feedback, Telegram outbox, leases (issue 6) ---


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


class Lease(Base):
    """A named job only one process may run at a time (e.g. Telegram polling)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
