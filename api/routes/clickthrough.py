"""`GET /r/{service_id}/{link_id}`: open a service's link from a card and record it.

Redirects only to a URL the catalogue holds for that service (knowledge_base/clicks.py);
an unknown service or link id is a 404, never a redirect. With `?c=<conversation id>&s=`
and the signature the card's link carries (knowledge_base.clicks.ClickLinks), the click is
counted for that conversation's outcome; without a right signature it counts for none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from knowledge_base import clicks

router = APIRouter(tags=["chat"])


@router.get("/r/{service_id}/{link_id}", response_class=RedirectResponse, status_code=303)
def open_link(
    service_id: str,
    link_id: str,
    session: SessionDep,
    request: Request,
    c: Annotated[str | None, Query(max_length=36, description="The conversation the card was shown in.")] = None,
    s: Annotated[str | None, Query(max_length=64, description="The link's signature of c.")] = None,
) -> RedirectResponse:
    url = clicks.resolve(session=session, service_id=service_id, link=link_id)
    conversation_id = request.app.state.links.conversation(service_id, c, s)
    clicks.record_click(
        session=session, service_id=service_id, link=link_id, conversation_id=conversation_id, now=datetime.now(UTC)
    )
    session.commit()
    # The destination is the service's own site: send no referrer with the conversation id in it.
    return RedirectResponse(
        url, status_code=303, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    )
