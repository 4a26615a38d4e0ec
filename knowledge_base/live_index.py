"""Keep every searching process's index in step with the catalogue, without restarts.

A change to what search may show (publish, archive, hold, restore, outdated, an FAQ
answer) writes a `catalogue_changes` row in the same transaction. Each process that
searches (API, action server) runs one `CatalogueWatcher` thread, started by its
owner, that polls the table about once a second and applies the changed services to
its `SearchService`. The publisher encodes the new passages once and stores their
vectors in `passage_vectors`, so the other processes read them instead of encoding.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import faq, repository
from knowledge_base.catalogue_changes import latest_change, record_change
from knowledge_base.contracts import ServiceRecord
from knowledge_base.embedding import Embedder
from knowledge_base.models import CatalogueChange, PassageVector

from knowledge_base.search import SearchService
from knowledge_base.settings import Settings

__all__ = ["CatalogueWatcher", "latest_change", "load_vectors", "open_live_search", "publish_vectors", "record_change", "store_vectors"]

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def store_vectors(session: Session, vectors: dict[str, np.ndarray], now: datetime) -> int:
    """Keep vectors encoded here for the other processes; returns how many were new."""
    if not vectors:
        return 0
    known = set(session.scalars(select(PassageVector.fingerprint).where(PassageVector.fingerprint.in_(list(vectors)))))
    new = 0
    for key, vector in vectors.items():
        if key not in known:
            session.add(PassageVector(fingerprint=key, vector=np.asarray(vector, dtype=np.float32).tobytes(), created_at=now))
            new += 1
    session.flush()
    return new


def load_vectors(session: Session, keys: list[str]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(keys), 500):
        rows = session.execute(
            select(PassageVector.fingerprint, PassageVector.vector).where(PassageVector.fingerprint.in_(keys[start : start + 500]))
        )
        found.update({key: np.frombuffer(blob, dtype=np.float32).copy() for key, blob in rows})
    return found


def publish_vectors(session: Session, search: SearchService, service_id: str | None, now: datetime,
                    faqs_changed: bool = False) -> int:  # fmt: skip
    """Encode what a change makes searchable (in this process, once) and store it."""
    record = None
    if service_id is not None:
        record = repository.visible_services(session=session, service_ids=[service_id])[service_id]
    entries = faq.published_entries(session) if faqs_changed else None
    return store_vectors(session, search.encode_for_publish(record, entries), now)


class CatalogueWatcher:
    """Applies catalogue changes to one SearchService; `start()` runs it in a thread."""

    def __init__(self, sessions: sessionmaker[Session], search: SearchService, after: int,
                 interval: float = POLL_SECONDS) -> None:  # fmt: skip
        self._sessions = sessions
        self._search = search
        self._last = after
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The thread polls, and the publishing request applies its own change at once.
        self._lock = threading.Lock()

    @property
    def last_applied(self) -> int:
        return self._last

    def poll_once(self) -> int:
        """Apply the changes since the last poll; returns how many change rows were read."""
        with self._lock:
            return self._poll()

    def _poll(self) -> int:
        started = time.monotonic()
        with self._sessions() as session:
            rows = session.execute(
                select(CatalogueChange.id, CatalogueChange.kind, CatalogueChange.ref)
                .where(CatalogueChange.id > self._last)
                .order_by(CatalogueChange.id)
            ).all()
            if not rows:
                return 0
            service_ids = sorted({ref for _id, kind, ref in rows if kind == "service"})
            changed: dict[str, ServiceRecord | None] = (
                repository.visible_services(session=session, service_ids=service_ids) if service_ids else {}
            )
            entries = faq.published_entries(session) if any(kind == "faq" for _id, kind, _ref in rows) else None
            texts = [t for record in changed.values() if record is not None for t in SearchService.passage_texts(record)]
            texts += SearchService.faq_key_texts(entries or [])
            missing = self._search.store.missing_keys(texts)
            if missing:
                self._search.store.put(load_vectors(session, missing))
        self._search.apply(changed, entries)
        self._last = rows[-1][0]
        logger.info("applied %d catalogue changes (%d services) up to change %d in %.2f s",
                    len(rows), len(changed), self._last, time.monotonic() - started)  # fmt: skip
        return len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad round; the error is logged
                logger.exception("applying catalogue changes failed; retrying")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="catalogue-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def open_live_search(sessions: sessionmaker[Session], settings: Settings, embedder: Embedder | None = None) -> tuple[SearchService, CatalogueWatcher]:
    """The search service and its (not yet started) watcher. The change id is read
    before the index is built, so a change made meanwhile is applied, never lost."""
    from knowledge_base.bootstrap import build_search_service

    with sessions() as session:
        after = latest_change(session)
    search = build_search_service(sessions, settings, embedder)
    return search, CatalogueWatcher(sessions, search, after)
