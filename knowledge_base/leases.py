"""Leases: a named job that only one process may run at a time, whatever the number
of API workers (e.g. polling Telegram, which refuses two getUpdates callers). The
holder renews before expiry; a crashed holder's lease lapses and another takes over."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge_base.models import Lease


def acquire(*, session: Session, name: str, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease; True when `holder` has it until now + seconds.
    Commits (a lease is only useful once others can see it)."""
    expires = now + timedelta(seconds=seconds)
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        session.commit()
        return True
    session.rollback()
    if session.get(Lease, name) is not None:
        return False
    session.add(Lease(name=name, holder=holder, expires_at=expires))
    try:
        session.commit()
    except IntegrityError:  # another process inserted it first
        session.rollback()
        return False
    return True


def release(*, session: Session, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at shutdown so another worker need not wait for it to lapse."""
    session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=now))
    session.commit()
