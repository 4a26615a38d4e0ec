"""Server-rendered staff pages: one Jinja2 environment (autoescaping on), the staff
translation catalogue (knowledge_base/messages/console/), no inline scripts."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from knowledge_base.accounts import Principal
from knowledge_base.i18n import MESSAGES_DIR, Catalogue

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
CONSOLE_LANGUAGES = ("fi", "sv", "en")


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(TEMPLATES_DIR))


@lru_cache(maxsize=1)
def console_messages() -> Catalogue:
    return Catalogue.load(MESSAGES_DIR / "console")


def ui_language(request: Request, principal: Principal | None) -> str:
    if principal is not None and principal.ui_language in CONSOLE_LANGUAGES:
        return principal.ui_language
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in CONSOLE_LANGUAGES:
            return code
    return "fi"


def render(request: Request, template: str, *, principal: Principal | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    language = ui_language(request, principal)
    catalogue = console_messages()

    def t(key: str, **params: object) -> str:
        return catalogue.text(key, language, **params)

    return templates().TemplateResponse(
        request,
        template,
        {
            "t": t,
            "lang": language,
            "principal": principal,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            **context,
        },
        status_code=status_code,
    )
