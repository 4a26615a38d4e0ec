"""Counsellors' view of messages that could not be delivered to a messaging app."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.auth import StaffPageDep, require_role
from knowledge_base.accounts import Principal
from api.deps import SessionDep
from api.pages import render
from knowledge_base import outbox

router = APIRouter(tags=["staff"], include_in_schema=False)


def _scope(principal: Principal) -> frozenset[str] | None:
    """A conversation's messages are its handling organisation's business only."""
    return None if principal.is_platform_admin else principal.organisations("counsellor", "supervisor")


@router.get("/console/dead-letters", response_class=HTMLResponse)
def dead_letters(request: Request, principal: StaffPageDep, session: SessionDep) -> Response:
    require_role(principal, "counsellor", "supervisor")
    letters = outbox.dead_letters(session=session, organisations=_scope(principal))
    return render(request, "dead_letters.html", principal=principal, letters=letters)


@router.post("/console/dead-letters/{item_id}/retry")
def retry(item_id: int, principal: StaffPageDep, session: SessionDep) -> Response:
    require_role(principal, "counsellor", "supervisor")
    outbox.retry_dead(session=session, item_id=item_id, organisations=_scope(principal), now=datetime.now(UTC))
    session.commit()
    return RedirectResponse("/console/dead-letters", status_code=303)
