"""Counsellors' view of messages that could not be delivered to a messaging app."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.auth import StaffPageDep, require_role
from api.deps import SessionDep
from api.pages import render
from knowledge_base import outbox

router = APIRouter(tags=["staff"], include_in_schema=False)


@router.get("/console/dead-letters", response_class=HTMLResponse)
def dead_letters(request: Request, principal: StaffPageDep, session: SessionDep) -> Response:
    require_role(principal, "counsellor", "supervisor")
    return render(request, "dead_letters.html", principal=principal, letters=outbox.dead_letters(session=session))


@router.post("/console/dead-letters/{item_id}/retry")
def retry(item_id: int, principal: StaffPageDep, session: SessionDep) -> Response:
    require_role(principal, "counsellor", "supervisor")
    outbox.retry_dead(session=session, item_id=item_id, now=datetime.now(UTC))
    session.commit()
    return RedirectResponse("/console/dead-letters", status_code=303)
