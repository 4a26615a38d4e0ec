"""Transactions that survive a busy SQLite, and named leases so that a timer runs in one
API worker at a time. Shared by the queue's timers and anything else periodic."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import exc, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base.models import Lease

T = TypeVar("T")


def acquire_lease(*, session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Hold the named lease until now + ttl, unless another holder's lease is still valid."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    created = session.execute(
        insert(Lease).values(name=name, holder=holder, expires_at=now + ttl).on_conflict_do_nothing(index_elements=["name"])
    )
    if created.rowcount == 1:
        return True
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1


def run_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 5) -> T:
    """Run `work` in a transaction and commit; retry when SQLite reports the database busy
    (two writers at once). The conditional UPDATEs make a retry safe."""
    for attempt in range(attempts):
        with sessions() as session:
            try:
                result = work(session)
                session.commit()
                return result
            except exc.OperationalError as error:
                session.rollback()
                if "locked" not in str(error.orig) and "busy" not in str(error.orig).lower():
                    raise
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def release(*, session: Session, name: str, holder: str, now: datetime) -> None:
    """Give the lease up (at shutdown) so another worker need not wait for it to lapse."""
    session.execute(
        update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=now).execution_options(synchronize_session=False)
    )
