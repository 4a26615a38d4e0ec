"""Health for people and for orchestrators.

- `/api/health/live`: the process answers (no dependency is touched); restart it when this fails.
- `/api/health/ready`: this worker can serve a chat turn: database, search index, at least
  one Rasa server; send it traffic only on 200. The action server is left out: without it Rasa still
  answers (an apology and the offer of a person), so taking the API out would be worse.
- `/api/health`: every part including the action server, for a status page.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from knowledge_base.db import check_connection
from knowledge_base.errors import DataUnavailable

router = APIRouter(prefix="/api", tags=["health"])
logger = logging.getLogger(__name__)


async def _database(request: Request) -> str:
    try:
        await run_in_threadpool(check_connection, request.app.state.engine)
    except DataUnavailable as error:
        # The driver's message names hosts and users: the log gets it, the public answer not.
        logger.warning("health: %s", error)
        return "down"
    return "ok"


def _search(request: Request) -> str:
    search = getattr(request.app.state, "search", None)
    if search is None or not search.service_count:
        return "error: search index not loaded"
    return f"ok ({search.service_count} services)"


async def _rasa(request: Request, enough: str) -> str:
    """"ok" when every Rasa server answers, or with enough="one" when at least one does
    (the others' conversations wait for theirs; taking the API out would stop them all)."""
    up, servers = await request.app.state.rasa.servers_up()
    if up == servers or (enough == "one" and up > 0):
        return "ok" if up == servers else f"ok ({up} of {servers} servers)"
    return "down" if up == 0 else f"degraded: {up} of {servers} servers"


async def _action_server(request: Request) -> str:
    state = request.app.state
    try:
        response = await state.http.get(f"{state.settings.action_server_url}/health", timeout=3)
    except httpx.HTTPError:
        return "down"
    return "ok" if response.status_code == 200 else f"error: HTTP {response.status_code}"


def _report(checks: dict[str, str]) -> JSONResponse:
    healthy = all(value.startswith("ok") for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status_code=200 if healthy else 503)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Database, search, Rasa and the action server; 503 when any is down."""
    return _report(
        {
            "database": await _database(request),
            "search": _search(request),
            "rasa": await _rasa(request, enough="all"),
            "action_server": await _action_server(request),
        }
    )


@router.get("/health/live")
async def live() -> JSONResponse:
    """200 while the process serves requests; checks nothing else."""
    return JSONResponse({"status": "ok"})


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """200 when the database, the search index and a Rasa server are there; else 503 naming
    the missing part."""
    checks = {"database": await _database(request), "search": _search(request), "rasa": await _rasa(request, enough="one")}
    return _report(checks)
