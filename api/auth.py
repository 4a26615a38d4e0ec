"""Staff sign-in: server-side sessions in a secure cookie, CSRF tokens on every
state-changing request, and role checks as route dependencies.

Pages use `StaffPageDep` (an anonymous visitor is sent to the login page); JSON
routes use `StaffDep` (401); event streams `StaffStreamDep` (401, holds no database
session while the stream is open). Both verify the CSRF token on POST/PUT/PATCH/DELETE:
forms send it in the `csrf_token` field, scripts in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, SettingsDep
from api.pages import render
from knowledge_base import accounts
from knowledge_base.accounts import Principal

SESSION_COOKIE = "opastin_session"
LOGIN_CSRF_COOKIE = "opastin_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """Raised by page dependencies; turned into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def _check_csrf(request: Request, expected: str) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get("csrf_token", ""))
    if not sent or not hmac.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


def _resolve(request: Request, session: SessionDep) -> tuple[Principal, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return accounts.resolve_session(session, token, now=datetime.now(UTC))


async def current_staff(request: Request, session: SessionDep) -> Principal:
    resolved = _resolve(request, session)
    if resolved is None:
        raise HTTPException(status_code=401, detail="sign in first")
    principal, csrf = resolved
    await _check_csrf(request, csrf)
    request.state.csrf_token = csrf
    return principal


async def current_staff_page(request: Request, session: SessionDep) -> Principal:
    resolved = _resolve(request, session)
    if resolved is None:
        raise LoginRequired(request.url.path)
    principal, csrf = resolved
    await _check_csrf(request, csrf)
    request.state.csrf_token = csrf
    return principal


def _resolve_briefly(request: Request) -> tuple[Principal, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with request.app.state.sessions() as session:
        return accounts.resolve_session(session, token, now=datetime.now(UTC))


async def current_staff_stream(request: Request) -> Principal:
    """For event streams (GET only): the session is resolved with a database session that
    is closed at once, so a stream open for hours holds no pooled connection."""
    resolved = await run_in_threadpool(_resolve_briefly, request)
    if resolved is None:
        raise HTTPException(status_code=401, detail="sign in first")
    return resolved[0]


StaffDep = Annotated[Principal, Depends(current_staff)]
StaffPageDep = Annotated[Principal, Depends(current_staff_page)]
StaffStreamDep = Annotated[Principal, Depends(current_staff_stream)]


def require_role(principal: Principal, *roles: str, organisation_id: str | None = None) -> None:
    """403 unless the principal holds one of `roles` (in `organisation_id` when given)."""
    if not principal.has_any_role(roles, organisation_id):
        raise HTTPException(status_code=403, detail="your role does not allow this")


def set_session_cookie(response: Response, token: str, settings_secure: bool, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=settings_secure, samesite="strict", path="/"
    )


def _safe_next(next_path: str) -> str:
    # Only local paths: never an open redirect.
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/console"
    return next_path


router = APIRouter(tags=["staff"], include_in_schema=False)


@router.get("/console/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, next: str = "/console", error: str = "") -> Response:
    login_csrf = secrets.token_urlsafe(24)
    response = render(request, "login.html", principal=None, next=_safe_next(next), error=error, login_csrf=login_csrf)
    response.set_cookie(LOGIN_CSRF_COOKIE, login_csrf, httponly=True, secure=settings.cookie_secure, samesite="strict")
    return response


@router.post("/console/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=500)],
    csrf_token: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=500)] = "/console",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    principal = accounts.authenticate(session, email, password)
    if principal is None:
        session.commit()
        return RedirectResponse(f"/console/login?error=1&next={quote(_safe_next(next))}", status_code=303)
    lifetime = timedelta(hours=settings.staff_session_hours)
    token, _csrf = accounts.start_session(session, principal.user_id, now=datetime.now(UTC), lifetime=lifetime)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, token, settings.cookie_secure, int(lifetime.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/console/logout")
def logout(request: Request, principal: StaffPageDep, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    accounts.end_session(session, token)
    session.commit()
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/console", response_class=HTMLResponse)
def console_home(request: Request, principal: StaffPageDep) -> Response:
    return render(request, "home.html", principal=principal)


def install_login_redirect(app) -> None:  # type: ignore[no-untyped-def]
    @app.exception_handler(LoginRequired)
    async def _to_login(_request: Request, error: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/console/login?next={quote(_safe_next(error.next_path))}", status_code=303)
