"""Outcomes end to end with the real bot (Rasa + action server, `bot_stack`): the intent an
action answered is stored with its reply, service cards link through the click route,
and opening one makes the conversation "recommended and opened" in today's figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from api.routes.chat import TOKEN_HEADER
from knowledge_base.models import Message, ServiceClick
from knowledge_base.outcome_rules import HELSINKI, OPENED
from knowledge_base.outcomes import Filters, conversation_outcomes
from tests.bot_stack import BotStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(bot_stack: BotStack) -> Iterator[TestClient]:
    with TestClient(create_app(bot_stack.settings), base_url="https://testserver") as test_client:
        yield test_client


def test_recommended_card_opened_through_the_click_route(client: TestClient, sessions: sessionmaker[Session]) -> None:
    response = client.post(
        "/api/chat",
        json={"text": "jäin työttömäksi viime viikolla, olen 24-vuotias ja asun Helsingissä. mitä nyt pitäisi tehdä?"},
    )
    assert response.status_code == 200
    reply = response.json()
    conversation_id, token = reply["conversation_id"], response.headers[TOKEN_HEADER]
    cards = [card for message in reply["messages"] for card in message["services"] if card["url"]]
    assert cards, reply
    assert all(
        card["url"].startswith("https://testserver/r/") and f"?c={conversation_id}&s=" in card["url"]
        for card in cards
    )
    with sessions() as session:
        payloads = [
            m.payload
            for m in session.scalars(
                select(Message).where(Message.conversation_id == conversation_id, Message.author == "bot")
            )
        ]
    tagged = [p for p in payloads if p.get("key") == "bot.recommend_intro"]
    assert tagged and tagged[0]["intent"] == "describe_situation" and tagged[0]["action"] == "action_recommend"
    # The stored card keeps the catalogue URL; only the view goes through the route.
    assert not tagged[0]["services"][0]["url"].startswith("/r/")

    opened = client.get(cards[0]["url"].removeprefix("https://testserver"), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == tagged[0]["services"][0]["url"]
    assert client.get(f"/api/chat/{conversation_id}/messages", headers={TOKEN_HEADER: token}).status_code == 200
    with sessions() as session:
        clicked = list(
            session.scalars(select(ServiceClick.service_id).where(ServiceClick.conversation_id == conversation_id))
        )
        today = datetime.now(HELSINKI).date()
        outcomes = {
            o.conversation_id: o for o in conversation_outcomes(session, Filters(today, today), now=datetime.now(UTC))
        }
    assert clicked == [cards[0]["id"]]
    mine = outcomes[conversation_id]
    assert mine.outcome == OPENED and mine.opened == [cards[0]["id"]] and "describe_situation" in mine.intents
    assert mine.answered_from == "catalogue"
