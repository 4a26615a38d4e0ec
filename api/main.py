"""Build the FastAPI application. Everything it needs is made in the lifespan and
kept on `app.state`; nothing is built at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import auth
from api.chat import ChatService, Notifier
from api.errors import install_error_handlers
from api.pages import STATIC_DIR
from api.rasa_client import RasaClient
from api.channels import allow_widget_origins, end_idle_web_conversations, start_telegram
from api.routes import about, chat, dead_letters, health, search, services, telegram, widget
from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store
from knowledge_base.i18n import Catalogue
from knowledge_base.safety import SafetyTerms
from knowledge_base.settings import Settings, get_settings
from knowledge_base.sources import load_safety_contacts

logger = logging.getLogger(__name__)


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
        app.state.search = await run_in_threadpool(build_search_service, sessions, settings)
        logger.info("search ready over %d services", app.state.search.service_count)
        http = httpx.AsyncClient()
        app.state.http = http
        app.state.rasa = RasaClient(http, settings.rasa_url, settings.rasa_token, settings.rasa_timeout_seconds)
        app.state.notifier = Notifier()
        app.state.chat = ChatService(
            sessions=sessions,
            rasa=app.state.rasa,
            messages=Catalogue.load(),
            safety_contacts=load_safety_contacts(settings.data_dir),
            safety_terms=SafetyTerms.load(settings.data_dir),
            notifier=app.state.notifier,
        )
        retry = asyncio.create_task(_retry_backlog(app.state.chat, settings.retry_interval_seconds))
        idle = asyncio.create_task(end_idle_web_conversations(sessions, settings.widget_idle_minutes))
        app.state.telegram = await start_telegram(settings, sessions, app.state.chat, app.state.notifier)
        yield
        if app.state.telegram is not None:
            await app.state.telegram.stop()
        for task in (retry, idle):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await http.aclose()
        engine.dispose()

    app = FastAPI(title="Opastin", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    auth.install_login_redirect(app)
    for router in (chat.router, search.router, services.router, about.router, health.router, auth.router):
        app.include_router(router)
    for router in (widget.router, telegram.router, dead_letters.router):
        app.include_router(router)
    allow_widget_origins(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
