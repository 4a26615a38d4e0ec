"""Build the FastAPI application. Everything it needs is made in the lifespan and
kept on `app.state`; nothing is built at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.routes import about, health, search, services
from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store
from knowledge_base.settings import Settings, get_settings

logger = logging.getLogger(__name__)


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
        yield
        engine.dispose()

    app = FastAPI(title="Opastin", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    for router in (search.router, services.router, about.router, health.router):
        app.include_router(router)
    return app
