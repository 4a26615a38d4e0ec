"""The widget's API side through the real application and database (Rasa unreachable:
the bot says "one moment", which is a bot answer like any other for these checks)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from api.routes.chat import TOKEN_HEADER
from knowledge_base import conversations as store
from knowledge_base import feedback
from knowledge_base.conversation_end import end_idle
from knowledge_base.i18n import Catalogue
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.models import ChatFeedback, Conversation, Handover
from knowledge_base.settings import Settings

ALLOWED = "https://www.example-city.fi"


@pytest.fixture(scope="module")
def client(settings: Settings, sessions) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(
        update={"rasa_url": "http://127.0.0.1:9", "rasa_timeout_seconds": 2.0, "widget_allowed_origins": [ALLOWED]}
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def start(client: TestClient, text: str = "hei") -> tuple[str, str, dict]:  # type: ignore[type-arg]
    response = client.post("/api/chat", json={"text": text, "client_message_id": "c1"})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["conversation_id"], response.headers[TOKEN_HEADER], body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_widget_strings_come_from_the_catalogue(client: TestClient, language: str) -> None:
    response = client.get(f"/api/widget/messages/{language}")
    assert response.status_code == 200
    body = response.json()
    catalogue = Catalogue.load()
    widget_keys = {k for k in catalogue.keys() if k.startswith("widget.")}
    assert len(widget_keys) >= 25 and widget_keys <= set(body["messages"])
    assert body["messages"]["widget.send"] == catalogue.template("widget.send", language)
    assert body["messages"]["widget.rate_score"].count("{score}") == 1  # placeholders are filled by the widget
    assert body["direction"] == ("rtl" if language in ("ar", "fa", "ckb") else "ltr")
    assert set(body["languages"]) == set(SUPPORTED_LANGUAGES)


def test_unknown_widget_language_is_refused(client: TestClient) -> None:
    assert client.get("/api/widget/messages/xx").status_code == 422


def test_cors_allows_only_configured_origins_and_exposes_the_token_header(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": f"content-type,{TOKEN_HEADER.lower()}"}
    allowed = client.options("/api/chat", headers={"Origin": ALLOWED, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert TOKEN_HEADER.lower() in allowed.headers["access-control-allow-headers"].lower()
    other = client.options("/api/chat", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    response = client.post("/api/chat", json={"text": "hei"}, headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert TOKEN_HEADER.lower() in response.headers["access-control-expose-headers"].lower()


def test_thumbs_are_stored_per_answer_and_replaced_when_changed(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    conversation_id, token, body = start(client)
    bot_message = next(m for m in body["messages"] if m["author"] == "bot")
    url = f"/api/chat/{conversation_id}/feedback"
    assert client.post(url, json={"message_id": bot_message["id"], "helpful": True}, headers={TOKEN_HEADER: token}).status_code == 204
    assert client.post(url, json={"message_id": bot_message["id"], "helpful": False}, headers={TOKEN_HEADER: token}).status_code == 204
    with sessions() as session:
        rows = list(session.scalars(select(ChatFeedback).where(ChatFeedback.conversation_id == conversation_id)))
        assert [(r.kind, r.score, r.message_key) for r in rows] == [("answer", -1, bot_message_key(session, bot_message["id"]))]
        scores = {s.message_key: s for s in feedback.answer_scores(session=session)}
        assert scores[rows[0].message_key].not_helpful >= 1
    history = client.get(f"/api/chat/{conversation_id}/messages", headers={TOKEN_HEADER: token}).json()
    user_message = next(m for m in history["messages"] if m["author"] == "user")
    assert client.post(url, json={"message_id": user_message["id"], "helpful": True}, headers={TOKEN_HEADER: token}).status_code == 404
    assert client.post(url, json={"message_id": bot_message["id"], "helpful": True}, headers={TOKEN_HEADER: "wrong"}).status_code == 404
    assert client.post(url, json={"helpful": True}, headers={TOKEN_HEADER: token}).status_code == 422


def bot_message_key(session, message_id: int) -> str:  # type: ignore[no-untyped-def]
    from knowledge_base.models import Message

    message = session.get(Message, message_id)
    return str(message.payload["key"])


def test_end_rating_only_for_bot_only_conversations(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    conversation_id, token, _ = start(client)
    url = f"/api/chat/{conversation_id}/feedback"
    assert client.post(url, json={"score": 6}, headers={TOKEN_HEADER: token}).status_code == 422
    assert client.post(url, json={"score": 4}, headers={TOKEN_HEADER: token}).status_code == 204
    assert client.post(url, json={"score": 5}, headers={TOKEN_HEADER: token}).status_code == 204
    with sessions() as session:
        rows = list(session.scalars(select(ChatFeedback).where(ChatFeedback.conversation_id == conversation_id)))
        assert [(r.kind, r.score) for r in rows] == [("conversation", 5)]
        conversation = session.get(Conversation, conversation_id)
        store.create_handover(session=session, conversation=conversation, reason="requested", summary={}, safety=False, now=datetime.now(UTC))
        session.commit()
    assert client.post(url, json={"score": 3}, headers={TOKEN_HEADER: token}).status_code == 422


def test_end_and_forget_kills_the_token_and_withdraws_the_queue(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    conversation_id, token, _ = start(client)
    with sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        store.create_handover(session=session, conversation=conversation, reason="requested", summary={}, safety=False, now=datetime.now(UTC))
        session.commit()
    assert client.post(f"/api/chat/{conversation_id}/end", headers={TOKEN_HEADER: "wrong"}).status_code == 404
    assert client.post(f"/api/chat/{conversation_id}/end", headers={TOKEN_HEADER: token}).status_code == 204
    assert client.get(f"/api/chat/{conversation_id}/messages", headers={TOKEN_HEADER: token}).status_code == 404
    again = client.post("/api/chat", json={"conversation_id": conversation_id, "text": "hei"}, headers={TOKEN_HEADER: token})
    assert again.status_code == 404
    with sessions() as session:
        assert session.get(Conversation, conversation_id).state == "closed"
        handover = session.scalar(select(Handover).where(Handover.conversation_id == conversation_id))
        assert handover is not None and handover.status == "withdrawn"


def test_idle_web_conversations_end_but_people_waiting_for_a_person_do_not(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    idle_id, idle_token, _ = start(client)
    queued_id, queued_token, _ = start(client)
    fresh_id, fresh_token, _ = start(client)
    old = datetime.now(UTC) - timedelta(minutes=45)
    with sessions() as session:
        for conversation_id in (idle_id, queued_id):
            session.get(Conversation, conversation_id).last_activity_at = old
        store.create_handover(
            session=session, conversation=session.get(Conversation, queued_id), reason="requested", summary={}, safety=False, now=old
        )
        session.commit()
        ended = end_idle(session=session, channel="web", idle=timedelta(minutes=30), now=datetime.now(UTC))
        session.commit()
    assert ended >= 1
    assert client.get(f"/api/chat/{idle_id}/messages", headers={TOKEN_HEADER: idle_token}).status_code == 404
    assert client.get(f"/api/chat/{queued_id}/messages", headers={TOKEN_HEADER: queued_token}).status_code == 200
    assert client.get(f"/api/chat/{fresh_id}/messages", headers={TOKEN_HEADER: fresh_token}).status_code == 200


def test_demo_page_embeds_the_widget_with_one_script_tag_and_nothing_inline(client: TestClient) -> None:
    page = client.get("/demo?lang=ar")
    assert page.status_code == 200
    html = page.text
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags == ['<script src="/static/widget/widget.js" data-lang="ar" defer>']
    assert re.search(r"<script\b(?![^>]*\bsrc=)", html) is None
    assert " style=" not in html and re.search(r"\son[a-z]+=", html) is None
    assert "https://" not in html and "http://" not in html  # nothing from third parties
    script = client.get("/static/widget/widget.js")
    assert script.status_code == 200 and "sessionStorage" in script.text
    assert "innerHTML" not in script.text  # text is always set as text
    assert client.get("/static/widget/widget.css").status_code == 200
    assert client.get("/demo?lang=zz").text.count('data-lang="fi"') == 1
