"""Map knowledge-base errors to HTTP responses in one place: JSON for the API, and a page
in the staff member's language when a console page is opened in a browser."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.pages import render

from knowledge_base.errors import (
    Conflict,
    DataUnavailable,
    Forbidden,
    IndexNotReady,
    InvalidQuery,
    NotFound,
    OpastinError,
    UpstreamUnavailable,
)

STATUS = {InvalidQuery: 422, NotFound: 404, Forbidden: 403, Conflict: 409, DataUnavailable: 503, IndexNotReady: 503, UpstreamUnavailable: 503}


PAGE_STATUSES = (403, 404)


def _opens_a_page(request: Request, status: int) -> bool:
    return (
        status in PAGE_STATUSES
        and request.method == "GET"
        and request.url.path.startswith("/console")
        and "text/html" in request.headers.get("accept", "")
    )


def _page(request: Request, status: int) -> Response:
    return render(request, "error.html", principal=None, status_code=status, status=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpastinError)
    async def _opastin_error(request: Request, error: OpastinError) -> Response:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
        if _opens_a_page(request, status):
            return _page(request, status)
        return JSONResponse({"detail": str(error)}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _opens_a_page(request, error.status_code):
            return _page(request, error.status_code)
        return await http_exception_handler(request, error)
