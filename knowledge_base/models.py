"""ORM tables of the service catalogue. Schema changes go through Alembic
(knowledge_base/migrations); never create tables from here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
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
