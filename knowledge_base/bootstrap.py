"""Open the catalogue the way every entry point does: migrate the database, import
the bundled catalogue when the store is empty, then build the search service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, exc
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import repository
from knowledge_base.db import make_engine, make_sessionmaker, migrate
from knowledge_base.errors import DataUnavailable
from knowledge_base.embedding import Embedder, make_embedder
from knowledge_base.ingest import ImportReport, import_catalogue
from knowledge_base.organisations import seed_organisations
from knowledge_base.search import SearchService
from knowledge_base.settings import Settings
from knowledge_base.vector_index import limit_search_threads

RecordProgress = Callable[[Iterable[dict[str, Any]], int], Iterable[dict[str, Any]]]


def open_store(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(settings)
    migrate(engine)
    return engine, make_sessionmaker(engine)


def import_bundled(
    sessions: sessionmaker[Session], settings: Settings, progress: RecordProgress | None = None
) -> ImportReport:
    try:
        with sessions() as session:
            report = import_catalogue(
                session=session, data_dir=settings.data_dir, now=datetime.now(UTC), progress=progress
            )
            session.commit()
    except exc.OperationalError as error:
        raise DataUnavailable(f"cannot write the catalogue to the database: {error.orig}") from error
    return report


def ensure_imported(sessions: sessionmaker[Session], settings: Settings) -> ImportReport | None:
    """Import the bundled catalogue into an empty store; leave a filled one alone
    (but bring the organisations and their opening hours up to date)."""
    with sessions() as session:
        if repository.count_services(session=session):
            seed_organisations(session=session, data_dir=settings.data_dir)
            session.commit()
            return None
    return import_bundled(sessions, settings)


def build_search_service(
    sessions: sessionmaker[Session],
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchService:
    limit_search_threads(settings.embedding_threads)
    with sessions() as session:
        return SearchService.from_session(
            session=session, settings=settings, embedder=embedder or make_embedder(settings), progress=progress
        )
