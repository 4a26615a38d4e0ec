"""Run synchronous database work from async code: one session, committed, in the
thread pool (the ORM and SQLite block; the event loop must not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


async def in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    def run() -> T:
        with sessions() as session:
            result = work(session)
            session.commit()
            return result

    return await run_in_threadpool(run)
