from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from knowledge_base.db import check_connection
from knowledge_base.errors import DataUnavailable

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Database, search, Rasa and the action server; 503 when any is down."""
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(check_connection, state.engine)
        checks["database"] = "ok"
    except DataUnavailable as error:
        checks["database"] = f"error: {error}"
    checks["search"] = f"ok ({state.search.service_count} services)"
    checks["rasa"] = "ok" if await state.rasa.is_up() else "down"
    try:
        response = await state.http.get(f"{state.settings.action_server_url}/health", timeout=3)
        checks["action_server"] = "ok" if response.status_code == 200 else f"error: HTTP {response.status_code}"
    except httpx.HTTPError:
        checks["action_server"] = "down"
    healthy = all(value.startswith("ok") for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status_code=200 if healthy else 503)
