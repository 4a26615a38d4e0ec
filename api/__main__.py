"""Serve the API: `python -m api` (what the supervisor starts). Logging goes through
knowledge_base.logging_setup (redacted), uvicorn's own loggers included.

With OPASTIN_API_WORKERS=N > 1 (distributed mode: needs DATABASE_URL on PostgreSQL and
REDIS_URL), uvicorn's process manager runs N workers on one socket and starts a new
worker when one dies. The database is migrated and the catalogue imported once here,
before the workers start, so that they do not race to do it.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from knowledge_base.bootstrap import ensure_imported, open_store
from knowledge_base.logging_setup import configure_logging
from knowledge_base.settings import Settings, get_settings


def distributed_mode_error(settings: Settings) -> str | None:
    """Why these settings cannot run several workers, or None when they can."""
    if settings.api_workers <= 1:
        return None
    missing = []
    if not settings.database_url or settings.sqlalchemy_url.startswith("sqlite"):
        missing.append("DATABASE_URL (PostgreSQL; SQLite with several workers is not supported)")
    if not settings.redis_url:
        missing.append("REDIS_URL")
    if not missing:
        return None
    return f"OPASTIN_API_WORKERS={settings.api_workers} needs " + " and ".join(missing)


def worker_app() -> FastAPI:
    """The app of one worker; a spawned worker process configures its own logging."""
    from api.main import create_app

    configure_logging()
    return create_app()


def prepare_store(settings: Settings) -> None:
    engine, sessions = open_store(settings)
    try:
        ensure_imported(sessions, settings)
    finally:
        engine.dispose()


def main() -> None:
    configure_logging()
    settings = get_settings()
    error = distributed_mode_error(settings)
    if error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2)
    if settings.api_workers > 1:
        prepare_store(settings)
    uvicorn.run(
        "api.__main__:worker_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.api_workers,
        log_config=None,
        # Open event streams (widget, console) must not hold a restart up.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
