"""The `catalogue_changes` log: one row per change of what search may show, written in
the changing transaction and polled by every searching process (live_index.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from knowledge_base.models import CatalogueChange


def record_change(session: Session, kind: str, ref: str, now: datetime) -> None:
    """Note a change (`kind` "service" or "faq") for the watchers, in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        # Ids must become visible in order, or a watcher could skip a lower id that
        # commits after a higher one; the lock lasts until this transaction ends.
        session.execute(text("LOCK TABLE catalogue_changes IN EXCLUSIVE MODE"))
    session.add(CatalogueChange(kind=kind, ref=ref, at=now))
    session.flush()


def latest_change(session: Session) -> int:
    return session.scalar(select(func.max(CatalogueChange.id))) or 0
