"""The conversation API end to end: real Rasa, real action server, real database.

The questions are written for these tests; Rasa and the action server start once
(tests/conftest.py `bot_stack`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.main import create_app
from api.routes.chat import TOKEN_HEADER
from knowledge_base import rasa_project
from knowledge_base.i18n import Catalogue
from knowledge_base.models import CounsellorProfile, Handover, Message
from tests.bot_stack import BotStack
from tests.queue_factories import staff

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(bot_stack: BotStack) -> Iterator[TestClient]:
    # Opening hours off (the tests must not depend on the clock); tickets wait to be taken.
    settings = bot_stack.settings.model_copy(update={"queue_business_hours": False, "queue_auto_assign": False})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _counsellors(sessions, online: bool) -> None:  # type: ignore[no-untyped-def]
    """Nobody online, or one Finnish-speaking counsellor online now."""
    with sessions() as session:
        session.execute(update(CounsellorProfile).values(status="offline"))
        if online:
            staff(session, [("te", "counsellor")], languages=["fi"], online=True, now=datetime.now(UTC))
        session.commit()


class Chat:
    """One citizen's conversation through the public API."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.id: str | None = None
        self.token: str | None = None

    def say(self, text: str, client_message_id: str | None = None, expect: int = 200) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "channel": "web"}
        if self.id:
            body["conversation_id"] = self.id
        if client_message_id:
            body["client_message_id"] = client_message_id
        headers = {TOKEN_HEADER: self.token} if self.token else {}
        response = self.client.post("/api/chat", json=body, headers=headers)
        assert response.status_code == expect, response.text
        if response.status_code == 200:
            payload = response.json()
            self.id = payload["conversation_id"]
            self.token = response.headers.get(TOKEN_HEADER, self.token)
            return dict(payload)
        return {}

    def history(self, after: int = 0) -> dict[str, Any]:
        response = self.client.get(f"/api/chat/{self.id}/messages", params={"after": after}, headers={TOKEN_HEADER: self.token or ""})
        assert response.status_code == 200
        return dict(response.json())


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def texts(reply: dict[str, Any]) -> str:
    return "\n".join(message["text"] for message in reply["messages"])


def test_situation_with_age_and_place_gets_recommendations(client: TestClient) -> None:
    chat = Chat(client)
    reply = chat.say("jäin työttömäksi viime viikolla, olen 24-vuotias ja asun Helsingissä. mitä nyt pitäisi tehdä?")
    assert chat.token and reply["language"] == "fi" and reply["state"] == "bot"
    first = reply["messages"][0]
    assert first["seq"] == 2 and first["text"] == Catalogue.load().text("bot.privacy_notice", "fi")
    cards = [card for message in reply["messages"] for card in message["services"]]
    assert 1 <= len(cards) <= 3
    assert all(card["id"].startswith(("hel-tpr:", "ptv-gd:")) and card["why"] for card in cards)


def test_follow_up_questions_then_national_results_outside_helsinki(client: TestClient) -> None:
    chat = Chat(client)
    reply = chat.say("I need a day care place for my daughter, she turns two in the spring")
    asked = texts(reply)
    assert "municipality" in asked or "old" in asked  # one follow-up, with a skip button
    assert any(button["payload"] == "/deny" for m in reply["messages"] for button in m["buttons"])
    if "old" in asked:
        reply = chat.say("/deny")  # skip the age question
    reply = chat.say("Espoo")
    cards = [card for message in reply["messages"] for card in message["services"]]
    assert cards and all(card["id"].startswith("ptv-gd:") for card in cards)
    assert "Helsinki" in texts(reply)  # local contact details exist only for Helsinki


def test_token_is_required_and_checked(client: TestClient) -> None:
    chat = Chat(client)
    chat.say("hei")
    for headers in ({}, {TOKEN_HEADER: "wrong"}):
        response = client.post("/api/chat", json={"conversation_id": chat.id, "text": "moi"}, headers=headers)
        assert response.status_code == 404
        assert client.get(f"/api/chat/{chat.id}/messages", headers=headers).status_code == 404
    unknown = client.post("/api/chat", json={"conversation_id": "nope", "text": "moi"}, headers={TOKEN_HEADER: chat.token})
    assert unknown.status_code == 404


def test_repeated_client_message_id_gets_the_earlier_result(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(client)
    first = chat.say("hello there", client_message_id="m-1")
    again = chat.say("hello there", client_message_id="m-1")
    assert again["messages"] == first["messages"]
    with sessions() as session:
        inbound = session.scalars(select(Message).where(Message.conversation_id == chat.id, Message.direction == "in")).all()
    assert len(inbound) == 1


@pytest.mark.parametrize(("text", "status"), [("x" * 4001, 422), ("   ", 422)])
def test_bad_text_is_refused(client: TestClient, text: str, status: int) -> None:
    response = client.post("/api/chat", json={"text": text})
    assert response.status_code == status
    assert "detail" in response.json()


@pytest.mark.parametrize("text", ["🙂🙂", "<script>alert('x')</script> apua"])
def test_odd_text_still_gets_an_answer(client: TestClient, sessions, text: str) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(client)
    reply = chat.say(text)
    assert reply["messages"]
    with sessions() as session:
        stored = session.scalars(select(Message.text).where(Message.conversation_id == chat.id, Message.direction == "in")).one()
    assert stored == text  # kept as text, exactly


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("en jaksa enää, ajattelen itsemurhaa", "fi"),
        ("أفكر في إنهاء حياتي ولا أريد أن أعيش", "ar"),
        ("I have nowhere to sleep tonight and it is freezing outside", "en"),
    ],
)
def test_safety_gets_emergency_numbers_first(client: TestClient, text: str, language: str) -> None:
    reply = Chat(client).say(text)
    bot = [m for m in reply["messages"] if "112" in m["text"]]
    assert bot, texts(reply)
    assert "09 2525 0111" in bot[0]["text"]
    assert reply["language"] == language


def test_handover_queues_and_later_messages_go_to_the_counsellor(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    _counsellors(sessions, online=True)
    chat = Chat(client)
    chat.say("olen 30 ja haluaisin vaihtaa alaa, mistä saisin neuvoa?")
    reply = chat.say("haluan puhua ihmisen kanssa")
    assert reply["state"] == "queued"
    queued = client.get(f"/api/chat/{chat.id}/queue", headers={TOKEN_HEADER: chat.token or ""}).json()
    assert queued["state"] == "waiting" and queued["position"] >= 1 and "jonossa" in queued["text"]
    later = chat.say("onko ketään paikalla?")
    assert later["state"] == "queued" and later["messages"] == []
    danger = chat.say("haluan kuolla")
    assert any("112" in m["text"] for m in danger["messages"])  # danger words: in the same reply
    # Danger without the listed words: Rasa's NLU checks it after the message reached the
    # counsellor, and the numbers follow on the conversation's stream.
    unlisted = chat.say("en jaksa enää elää")
    assert unlisted["messages"] == []
    assert wait_for(lambda: any("112" in m["text"] for m in chat.history()["messages"][-1:]), seconds=30)
    with sessions() as session:
        handover = session.scalars(select(Handover).where(Handover.conversation_id == chat.id)).one()
        statuses = session.scalars(
            select(Message.status).where(Message.conversation_id == chat.id, Message.direction == "in").order_by(Message.seq)
        ).all()
    assert handover.status == "waiting" and handover.safety is True and handover.priority == 0  # safety first
    assert handover.summary["situation"] and handover.summary["language"] == "fi"
    assert handover.topic == "work" and handover.channel == "web"
    assert handover.age == (int(handover.summary["age"]) if handover.summary.get("age") else None)
    assert statuses[-3:] == ["forwarded", "forwarded", "forwarded"]


def test_nobody_online_offers_to_leave_a_message_never_live_chat(client: TestClient, sessions) -> None:  # type: ignore[no-untyped-def]
    _counsellors(sessions, online=False)
    chat = Chat(client)
    chat.say("olen 30 ja haluaisin vaihtaa alaa, mistä saisin neuvoa?")
    offer = chat.say("haluan puhua ihmisen kanssa")
    assert offer["state"] == "leave_offer"
    text = texts(offer)
    assert "jättää viestin" in text and "vastaa tähän keskusteluun" not in text
    assert Catalogue.load().text("bot.handover_queued", "fi") not in text  # no promise of live chat
    assert any(b["payload"] == "/leave_message" for m in offer["messages"] for b in m["buttons"])
    saved = chat.say("/leave_message")
    assert saved["state"] == "offline" and "Kirjoita viestisi" in texts(saved)
    left = chat.say("Voisiko joku soittaa minulle huomenna työnhausta?")
    assert left["state"] == "offline" and left["messages"] == []
    with sessions() as session:
        ticket = session.scalars(select(Handover).where(Handover.conversation_id == chat.id)).one()
        assert ticket.status == "offline" and ticket.offline and ticket.summary["situation"]

    declined = Chat(client)
    declined.say("haluan puhua ihmisen kanssa")
    back = declined.say("/deny")
    assert back["state"] == "bot" and "viestiä ei jätetty" in texts(back)


def test_language_switch_by_request_and_command(client: TestClient) -> None:
    chat = Chat(client)
    reply = chat.say("can you speak Arabic please?")
    assert reply["language"] == "ar"
    assert any("\u0600" <= ch <= "\u06ff" for ch in texts(reply))
    reply = chat.say("/language sv")
    assert reply["language"] == "sv"
    reply = chat.say("/language xx")
    assert reply["language"] == "sv" and "fi" in texts(reply)


def test_event_stream_resumes_after_last_event_id(client: TestClient) -> None:
    chat = Chat(client)
    chat.say("hei, mitä kuuluu?")
    chat.say("kiitos")
    headers = {TOKEN_HEADER: chat.token or "", "Last-Event-ID": "2"}
    seen: list[int] = []
    with client.stream("GET", f"/api/chat/{chat.id}/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id: "):
                seen.append(int(line[4:]))
            if len(seen) >= 3:
                break
    assert seen[0] == 3 and seen == sorted(seen)


def test_stopped_action_server_gets_an_apology_and_an_offer(client: TestClient, bot_stack: BotStack) -> None:
    bot_stack.stop_actions()
    try:
        reply = Chat(client).say("menetin työpaikkani ja velkaa on paljon, mitä teen")
        assert "tekninen" in texts(reply).lower() or "teknis" in texts(reply).lower()
        assert any(button["payload"] == "/affirm" for m in reply["messages"] for button in m["buttons"])
    finally:
        bot_stack.start_actions()


def test_rasa_restart_mid_conversation_loses_nothing(client: TestClient, bot_stack: BotStack) -> None:
    chat = Chat(client)
    reply = chat.say("I need a day care place for my son who is three")
    assert reply["messages"]
    bot_stack.kill_rasa()
    waiting = chat.say("Helsinki")
    assert [m["text"] for m in waiting["messages"]] and "moment" in texts(waiting).lower()
    last_seq = waiting["messages"][-1]["seq"]
    bot_stack.start_rasa()
    deadline = time.monotonic() + 60
    later: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not later:
        later = chat.history(after=last_seq)["messages"]
        time.sleep(0.5)
    assert later, "the message sent while Rasa was down was never answered"
    # The tracker store kept the conversation: the answer continues the day-care question.
    assert any(card for message in later for card in message["services"])


def test_health_reports_every_part(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body == {"status": "ok", "checks": body["checks"]}
    assert set(body["checks"]) == {"database", "search", "rasa", "action_server"}
    assert json.dumps(body).count("ok") >= 5
    ready = client.get("/api/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["rasa"] == "ok"


def test_one_rasa_server_down_leaves_the_api_ready_but_degraded(bot_stack: BotStack) -> None:
    """Two Rasa servers configured, the second's port closed: conversations of the first go
    on, so the worker stays ready; the status page says what is missing."""
    settings = bot_stack.settings.model_copy(update={"rasa_servers": 2})
    second = rasa_project.rasa_urls(settings)[1]
    with pytest.raises(httpx.ConnectError):
        httpx.get(second, timeout=2)
    with TestClient(create_app(settings)) as two_servers:
        ready = two_servers.get("/api/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["rasa"] == "ok (1 of 2 servers)"
        status = two_servers.get("/api/health")
        assert status.status_code == 503 and status.json()["checks"]["rasa"] == "degraded: 1 of 2 servers"


def test_the_clients_language_decides_only_what_the_text_cannot(client: TestClient) -> None:
    short = client.post("/api/chat", json={"text": "ok", "language": "sv"}).json()
    assert short["language"] == "sv"
    clear = client.post("/api/chat", json={"text": "jäin työttömäksi ja tarvitsen apua työnhakuun", "language": "en"}).json()
    assert clear["language"] == "fi"
    unknown = client.post("/api/chat", json={"text": "hello", "language": "xx"})
    assert unknown.status_code == 422 and "unknown language 'xx'" in unknown.text
