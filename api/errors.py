"""Map knowledge-base errors to HTTP responses in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from knowledge_base.errors import (
    Conflict,
    DataUnavailable,
    IndexNotReady,
    InvalidQuery,
    NotAllowed,
    NotFound,
    OpastinError,
    UpstreamUnavailable,
)

STATUS = {
    InvalidQuery: 422,
    NotFound: 404,
    NotAllowed: 403,
    Conflict: 409,
    DataUnavailable: 503,
    IndexNotReady: 503,
    UpstreamUnavailable: 503,
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpastinError)
    async def _opastin_error(_request: Request, error: OpastinError) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
        return JSONResponse({"detail": str(error)}, status_code=status)
