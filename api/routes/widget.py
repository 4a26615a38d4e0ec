"""What the embeddable web chat widget needs besides the conversation API: its UI
strings from the one translation catalogue, ratings, "end and forget", and the demo page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import SessionDep, SettingsDep
from api.pages import templates
from api.routes.chat import TokenHeader
from knowledge_base import conversations as store
from knowledge_base import feedback
from knowledge_base.conversation_end import end_conversation
from knowledge_base.errors import InvalidQuery
from knowledge_base.i18n import Catalogue
from knowledge_base.language import SUPPORTED_LANGUAGES, check_language

router = APIRouter(tags=["widget"])
RTL_SCRIPTS = {"Arab", "Hebr"}
# Catalogue keys the widget shows, besides its own widget.* keys.
SHARED_KEYS = ("button.talk_to_person", "bot.contact_phone", "bot.contact_email", "bot.contact_address", "bot.contact_hours")


def direction(catalogue: Catalogue, language: str) -> str:
    return "rtl" if catalogue.meta(language).get("script") in RTL_SCRIPTS else "ltr"


class WidgetStrings(BaseModel):
    language: str
    direction: str
    idle_minutes: float
    messages: dict[str, str]
    languages: dict[str, str]


@router.get("/api/widget/messages/{language}", response_model=WidgetStrings)
def widget_strings(language: str, settings: SettingsDep, response: Response) -> WidgetStrings:
    language = check_language(language)
    catalogue = Catalogue.load()
    keys = sorted(k for k in catalogue.keys() if k.startswith("widget.")) + list(SHARED_KEYS)
    # Templates stay raw ({score}); the widget fills the placeholders.
    texts = {key: catalogue.template(key, language) or catalogue.text(key, "en") for key in keys if _has(catalogue, key)}
    response.headers["Cache-Control"] = "public, max-age=300"
    return WidgetStrings(
        language=language,
        direction=direction(catalogue, language),
        idle_minutes=settings.widget_idle_minutes,
        messages=texts,
        languages={code: catalogue.text(f"language.name.{code}", code) for code in SUPPORTED_LANGUAGES},
    )


def _has(catalogue: Catalogue, key: str) -> bool:
    return catalogue.template(key, "en") is not None


class FeedbackRequest(BaseModel):
    message_id: int | None = Field(default=None, description="The bot answer rated; none rates the whole conversation.")
    helpful: bool | None = Field(default=None, description="Thumbs up (true) or down (false) for one answer.")
    score: int | None = Field(default=None, ge=1, le=5, description="1-5 for a whole bot-only conversation.")


@router.post("/api/chat/{conversation_id}/feedback", status_code=204)
def rate(conversation_id: str, body: FeedbackRequest, session: SessionDep, token: TokenHeader = None) -> Response:
    conversation = store.authenticate(session=session, conversation_id=conversation_id, token=token)
    now = datetime.now(UTC)
    if body.message_id is not None and body.helpful is not None:
        feedback.rate_answer(session=session, conversation=conversation, message_id=body.message_id, helpful=body.helpful, now=now)
    elif body.message_id is None and body.score is not None:
        feedback.rate_conversation(session=session, conversation=conversation, score=body.score, now=now)
    else:
        raise InvalidQuery("give message_id and helpful, or score alone")
    session.commit()
    return Response(status_code=204)


@router.post("/api/chat/{conversation_id}/end", status_code=204)
def end(conversation_id: str, session: SessionDep, token: TokenHeader = None) -> Response:
    """End the conversation and make its token useless ("end and forget" on shared computers)."""
    conversation = store.authenticate(session=session, conversation_id=conversation_id, token=token)
    end_conversation(session=session, conversation=conversation, now=datetime.now(UTC))
    session.commit()
    return Response(status_code=204)


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
def demo(request: Request, lang: Annotated[str, Query(max_length=3)] = "fi") -> Response:
    """A city's service page with the widget embedded, as a host site would do it."""
    language = lang if lang in SUPPORTED_LANGUAGES else "fi"
    context: dict[str, Any] = {"widget_language": language}
    return templates().TemplateResponse(request, "demo.html", context)
