from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from knowledge_base.db import check_connection
from knowledge_base.errors import DataUnavailable

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(check_connection, request.app.state.engine)
        checks["database"] = "ok"
    except DataUnavailable as error:
        checks["database"] = f"error: {error}"
    checks["search"] = f"ok ({request.app.state.search.service_count} services)"
    healthy = all(value.startswith("ok") for value in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status_code=200 if healthy else 503)
