"""Build the FastAPI application. Everything it needs is made in the lifespan and
kept on `app.state`; nothing is built at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api import auth
from api.chat import ChatService
from api.conversation_locks import make_locks
from api.notifier import Notifier, make_notifier
from api.errors import install_error_handlers
from api.metrics import Metrics, MetricsMiddleware
from api.metrics import router as metrics_router
from api.pages import STATIC_DIR
from api.rasa_client import RasaClient
from api.channels import allow_widget_origins, end_idle_web_conversations, start_telegram
from api.security import RateLimit, RequestSizeLimit, SecurityHeaders, TokenBuckets
from api.worker_id import WorkerHeader
from api.routes import about, chat, console, content, content_pages, dead_letters, health, search, services, telegram, widget
from knowledge_base import leases, queue, rasa_project
from knowledge_base.bootstrap import ensure_imported, open_store
from knowledge_base.clicks import ClickLinks
from knowledge_base.freshness import run_freshness_job
from knowledge_base.live_index import open_live_search
from knowledge_base.i18n import Catalogue
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.kept_secrets import kept_secret
from knowledge_base.safety import SafetyTerms
from knowledge_base.settings import Settings, get_settings
from knowledge_base.sources import load_safety_contacts

logger = logging.getLogger(__name__)


async def _freshness_job(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Review reminders and outdated marks; the lease makes one worker run it per interval."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while True:
        try:
            await run_in_threadpool(run_freshness_job, sessions, settings, holder)
        except Exception:  # noqa: BLE001 - the loop must outlive one bad round; the error is logged
            logger.exception("freshness job failed")
        await asyncio.sleep(settings.freshness_interval_seconds)


def _timer_round(sessions: sessionmaker[Session], holder: str, config: queue.QueueConfig, lease: timedelta) -> set[str]:
    """One round of the queue's timers, if this worker holds the lease."""

    def work(session: Session) -> set[str]:
        now = datetime.now(UTC)
        if not leases.acquire_lease(session=session, name=queue.TIMER_LEASE, holder=holder, now=now, ttl=lease):
            return set()
        return queue.run_timers(session=session, now=now, config=config)

    return leases.run_transaction(sessions, work)


async def _queue_timers(
    sessions: sessionmaker[Session], notifier: Notifier, config: queue.QueueConfig, interval: float
) -> None:
    """Timeouts of the counsellor queue: one API worker at a time runs them (a lease row)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease = timedelta(seconds=max(3 * interval, 15.0))
    while True:
        await asyncio.sleep(interval)
        try:
            changed = await run_in_threadpool(_timer_round, sessions, holder, config, lease)
        except Exception:  # noqa: BLE001 - the loop must outlive one bad round; the error is logged
            logger.exception("queue timer round failed")
            continue
        for conversation_id in changed:
            notifier.notify(conversation_id)
        if changed:
            notifier.notify_queue()


async def _retry_backlog(chat_service: ChatService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await chat_service.process_backlog()
        except Exception:  # noqa: BLE001 - the loop must outlive one bad round; the error is logged
            logger.exception("backlog round failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine, sessions = await run_in_threadpool(open_store, settings)
        await run_in_threadpool(ensure_imported, sessions, settings)
        app.state.engine = engine
        app.state.sessions = sessions
        app.state.search, watcher = await run_in_threadpool(open_live_search, sessions, settings)
        app.state.watcher = watcher
        watcher.start()  # published changes reach this process's search within about a second
        # Before the port opens: a new worker's first search or chat turn would otherwise
        # load the query encoder, the lemmatizer and the tokenizers (3.7 s measured).
        await run_in_threadpool(app.state.search.warm_up, SUPPORTED_LANGUAGES)
        logger.info("search ready over %d services", app.state.search.service_count)
        http = httpx.AsyncClient()
        app.state.http = http
        app.state.rasa = RasaClient(http, rasa_project.rasa_urls(settings), settings.rasa_token, settings.rasa_timeout_seconds)
        # Embedded: in-process events and locks; with REDIS_URL, shared by every worker.
        app.state.notifier = make_notifier(settings)
        await app.state.notifier.start()
        app.state.locks = make_locks(settings)
        app.state.queue_config = queue.QueueConfig.from_settings(settings)
        app.state.links = ClickLinks(kept_secret(settings.link_signing_key, settings.state_dir / "link_signing_key").encode())
        app.state.chat = ChatService(
            sessions=sessions,
            rasa=app.state.rasa,
            messages=Catalogue.load(),
            safety_contacts=load_safety_contacts(settings.data_dir),
            safety_terms=SafetyTerms.load(settings.data_dir),
            notifier=app.state.notifier,
            links=app.state.links,
            locks=app.state.locks,
            queue_config=app.state.queue_config,
        )
        background = [
            asyncio.create_task(_retry_backlog(app.state.chat, settings.retry_interval_seconds)),
            asyncio.create_task(
                _queue_timers(sessions, app.state.notifier, app.state.queue_config, settings.queue_timer_interval_seconds)
            ),
            asyncio.create_task(_freshness_job(sessions, settings)),
            asyncio.create_task(end_idle_web_conversations(sessions, settings.widget_idle_minutes)),
        ]
        app.state.telegram = await start_telegram(settings, sessions, app.state.chat, app.state.notifier, app.state.links)
        yield
        await app.state.chat.close()
        if app.state.telegram is not None:
            await app.state.telegram.stop()
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await run_in_threadpool(watcher.stop)
        await app.state.notifier.close()
        await app.state.locks.close()
        await http.aclose()
        engine.dispose()

    app = FastAPI(title="Opastin", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.conversation_limits = TokenBuckets(settings.conversation_rate_limit_per_minute)
    # Outermost last: every response, refusals included, gets the security headers.
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RateLimit, buckets=TokenBuckets(settings.rate_limit_per_minute))
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(WorkerHeader)
    install_error_handlers(app)
    auth.install_login_redirect(app)
    for router in (
        chat.router, search.router, services.router, about.router, health.router, auth.router, metrics_router,
        content.router, content_pages.router, console.router,
    ):  # fmt: skip
        app.include_router(router)
    from api.routes import clickthrough, outcomes  # guidance outcomes (issue 9): one block, easy to merge

    for router in (clickthrough.router, outcomes.router):
        app.include_router(router)
    for router in (widget.router, telegram.router, dead_letters.router):
        app.include_router(router)
    allow_widget_origins(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
