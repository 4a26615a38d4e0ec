"""The counsellor console through the real application and database (every route for
every role: tests/test_route_matrix.py): what each organisation may see, the internal-instructions canary
on every citizen route and export, and the chat's queue contracts (queue status, the
counsellor's reply as a message, the satisfaction payload)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.auth import SESSION_COOKIE
from api.main import create_app
from api.routes.chat import TOKEN_HEADER
from knowledge_base import accounts, queue, queue_console
from knowledge_base.models import Conversation, Handover, HandoverNote, Message, Service, ServiceText
from knowledge_base.settings import Settings
from tests.queue_factories import citizen, staff

CANARY = "CANARY-7f3a-internal-only"
DRAFT_CANARY = "DRAFT-CANARY-91c2"
NOTE = "NOTE-SECRET-soita maanantaina"
RECOMMENDED = ["hel-tpr:8971", "hel-tpr:2773"]


@dataclass
class Person:
    name: str
    principal: accounts.Principal | None
    token: str = ""
    csrf: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def canary(sessions) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A canary in every internal-instructions field of the test data."""
    with sessions() as session:
        for row in session.scalars(select(ServiceText)):
            row.internal_instructions = f"{CANARY} {row.service_id}/{row.language}"
        session.commit()
    yield


@pytest.fixture(scope="module")
def console_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rasa_url": "http://127.0.0.1:9",
            "action_server_url": "http://127.0.0.1:9",
            "queue_business_hours": False,
            "queue_auto_assign": False,
        }
    )


@pytest.fixture(scope="module")
def client(console_settings: Settings, sessions, canary) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(console_settings), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def people(sessions, client) -> dict[str, Person]:  # type: ignore[no-untyped-def]
    now = _now()
    made: dict[str, Person] = {"anonymous": Person("anonymous", None)}
    with sessions() as session:
        for name, roles in {
            "counsellor_a": [("te", "counsellor")],
            "counsellor_b": [("ohjaamo", "counsellor")],
            "supervisor_a": [("te", "supervisor")],
            "org_admin_a": [("te", "org_admin")],
            "editor_a": [("te", "editor")],
            "admin": [(None, "platform_admin")],
        }.items():
            queue_user = name not in ("editor_a", "org_admin_a")
            principal = staff(session, roles, now=now, languages=["fi"] if queue_user else None, online=name.startswith("counsellor"), name=name)
            token, csrf = accounts.start_session(session, principal.user_id, now=now, lifetime=timedelta(hours=1))
            made[name] = Person(name, principal, token, csrf)
        session.commit()
    return made


@dataclass
class World:
    assigned: Handover  # taken by counsellor_a (te)
    waiting: Handover
    conversation_token: str
    transfer_id: int


@pytest.fixture(scope="module")
def world(sessions, people, console_settings) -> World:  # type: ignore[no-untyped-def]
    config = queue.QueueConfig.from_settings(console_settings)
    now = _now()
    with sessions() as session:
        conversation, token = citizen(session, now=now)
        assigned = queue.open_ticket(
            session=session,
            conversation=conversation,
            summary={"reason": "requested", "language": "fi", "situation": "jäin työttömäksi", "recommended": RECOMMENDED, "age": 24},
            now=now,
            config=config,
        )
        queue.take(session=session, handover_id=assigned.id, principal=people["counsellor_a"].principal, now=now, config=config)  # type: ignore[arg-type]
        queue_console.add_note(session=session, handover_id=assigned.id, principal=people["counsellor_a"].principal, text=NOTE, now=now)  # type: ignore[arg-type]
        other, _ = citizen(session, now=now)
        waiting = queue.open_ticket(session=session, conversation=other, summary={"reason": "requested", "language": "fi"}, now=now, config=config)
        third, _ = citizen(session, now=now)
        offered = queue.open_ticket(session=session, conversation=third, summary={"reason": "requested", "language": "fi"}, now=now, config=config)
        queue.take(session=session, handover_id=offered.id, principal=people["counsellor_a"].principal, now=now, config=config)  # type: ignore[arg-type]
        transfer = queue.request_transfer(
            session=session, handover_id=offered.id, principal=people["counsellor_a"].principal,  # type: ignore[arg-type]
            to_organisation_id="ohjaamo", note="nuori", now=now,
        )  # fmt: skip
        session.commit()
        return World(assigned, waiting, token, transfer.id)


def _as(client: TestClient, person: Person) -> dict[str, str]:
    client.cookies.clear()
    if person.token:
        client.cookies.set(SESSION_COOKIE, person.token)
    return {"X-CSRF-Token": person.csrf} if person.csrf else {}


def _request(client: TestClient, person: Person, method: str, path: str, data: dict[str, Any] | None = None) -> int:
    headers = _as(client, person)
    if path.endswith("/events"):
        with client.stream(method, path, headers=headers) as response:
            status = response.status_code
            if status == 200:
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        break
        return status
    response = client.request(method, path, headers=headers, data=data, follow_redirects=False)
    return response.status_code


def test_transfer_decision_only_by_the_receiver(client: TestClient, people: dict[str, Person], world: World) -> None:
    path = f"/console/transfers/{world.transfer_id}/accept"
    assert _request(client, people["anonymous"], "POST", path) == 303  # to the login page
    for role in ("counsellor_a", "supervisor_a", "editor_a"):
        assert _request(client, people[role], "POST", path) == 403, role
    assert _request(client, people["counsellor_b"], "POST", path) == 303  # ohjaamo counsellor accepts
    assert _request(client, people["counsellor_b"], "POST", path) == 409  # once


def test_post_without_csrf_is_refused(client: TestClient, people: dict[str, Person], world: World) -> None:
    _as(client, people["counsellor_a"])
    response = client.post(f"/console/tickets/{world.assigned.id}/reply", data={"text": "x"}, follow_redirects=False)
    assert response.status_code == 403


def test_ticket_page_shows_instructions_of_published_services_and_own_notes(
    client: TestClient, people: dict[str, Person], world: World, sessions  # type: ignore[no-untyped-def]
) -> None:
    with sessions() as session:
        draft = session.get(Service, RECOMMENDED[1])
        assert draft is not None
        draft.status = "draft"
        for text in draft.texts:
            text.internal_instructions = DRAFT_CANARY
        session.commit()
    try:
        _as(client, people["counsellor_a"])
        page = client.get(f"/console/tickets/{world.assigned.id}").text
        assert CANARY in page  # published service: its instructions are there for the counsellor
        assert DRAFT_CANARY not in page  # a draft's are not
        assert NOTE in page and "jäin työttömäksi" in page
        _as(client, people["supervisor_a"])
        assert NOTE in client.get(f"/console/tickets/{world.assigned.id}").text  # same organisation
        _as(client, people["counsellor_a"])
        export = client.get(f"/console/tickets/{world.assigned.id}/transcript")
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        assert CANARY not in export.text and NOTE not in export.text and DRAFT_CANARY not in export.text
    finally:
        with sessions() as session:
            session.execute(update(Service).where(Service.id == RECOMMENDED[1]).values(status="published"))
            session.commit()


def test_queue_stream_shows_a_new_ticket(client: TestClient, people: dict[str, Person], sessions, console_settings) -> None:  # type: ignore[no-untyped-def]
    headers = _as(client, people["counsellor_a"])
    config = queue.QueueConfig.from_settings(console_settings)
    seen: list[dict[str, Any]] = []
    new_id = None
    with client.stream("GET", "/console/queue/events", headers=headers) as response:
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "queue":
                seen.append(json.loads(line[6:]))
                if new_id is None:
                    with sessions() as session:
                        conversation, _ = citizen(session, now=_now())
                        new_id = queue.open_ticket(
                            session=session, conversation=conversation, summary={"language": "fi", "safety": True}, now=_now(), config=config
                        ).id
                        session.commit()
                elif any(row["id"] == new_id for row in seen[-1]["waiting"]):
                    break
    row = next(r for r in seen[-1]["waiting"] if r["id"] == new_id)
    assert row["safety"] is True and seen[-1]["waiting"][0]["safety"] is True  # safety first
    assert set(row) >= {"waiting_seconds", "language", "topic", "municipality", "safety"}


# -- the citizen side: contracts and the canary -----------------------------------------------


def test_citizen_routes_never_show_internal_instructions_or_notes(
    client: TestClient, people: dict[str, Person], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conversation_id, token = world.assigned.conversation_id, world.conversation_token
    _as(client, people["counsellor_a"])
    assert client.post(
        f"/console/tickets/{world.assigned.id}/reply", data={"text": "Tässä ohjeet palveluun."}, headers={"X-CSRF-Token": people["counsellor_a"].csrf}, follow_redirects=False
    ).status_code == 303
    client.cookies.clear()
    headers = {TOKEN_HEADER: token}
    bodies = [
        client.get(f"/api/chat/{conversation_id}/messages", headers=headers).text,
        client.get(f"/api/chat/{conversation_id}/queue", headers=headers).text,
        client.get("/api/search", params={"q": "työttömyys neuvonta nuori", "top": 10}).text,
        client.get("/api/about").text,
        *(client.get(f"/api/services/{service_id}").text for service_id in RECOMMENDED),
    ]
    with client.stream("GET", f"/api/chat/{conversation_id}/events", headers=headers) as response:
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("event: queue"):
                break
        bodies.append("\n".join(lines))
    everything = "\n".join(bodies)
    assert "Tässä ohjeet palveluun." in everything  # the reply did reach the citizen
    assert CANARY not in everything and DRAFT_CANARY not in everything and NOTE not in everything
    assert CANARY not in caplog.text and NOTE not in caplog.text


def test_counsellor_reply_is_a_counsellor_message(client: TestClient, people: dict[str, Person], world: World, sessions) -> None:  # type: ignore[no-untyped-def]
    headers = _as(client, people["counsellor_a"])
    response = client.post(f"/console/tickets/{world.assigned.id}/reply", data={"text": "Ajan voi varata huomiselle."}, headers={**headers, "Accept": "application/json"})
    assert response.status_code == 200 and response.json()["message"]["author"] == "counsellor"
    with sessions() as session:
        row = session.scalars(select(Message).where(Message.conversation_id == world.assigned.conversation_id).order_by(Message.seq.desc())).first()
    assert row is not None and (row.author, row.direction, row.text) == ("counsellor", "out", "Ajan voi varata huomiselle.")


def test_queue_status_route(client: TestClient, world: World, sessions) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    with sessions() as session:
        conversation = session.get(Conversation, world.waiting.conversation_id)
        assert conversation is not None
    assert client.get(f"/api/chat/{world.waiting.conversation_id}/queue").status_code == 404  # token needed
    body = client.get(f"/api/chat/{world.assigned.conversation_id}/queue", headers={TOKEN_HEADER: world.conversation_token}).json()
    assert body["state"] == "assigned" and body["position"] is None and body["text"] == "Keskustelet neuvojan kanssa."


def test_close_asks_for_rating_and_the_payload_is_stored_not_forwarded(
    client: TestClient, people: dict[str, Person], world: World, sessions  # type: ignore[no-untyped-def]
) -> None:
    headers = _as(client, people["counsellor_a"])
    closed = client.post(f"/console/tickets/{world.assigned.id}/close", data={"outcome_code": "referred", "outcome_service_id": RECOMMENDED[0]}, headers=headers, follow_redirects=False)
    assert closed.status_code == 303
    client.cookies.clear()
    token = {TOKEN_HEADER: world.conversation_token}
    history = client.get(f"/api/chat/{world.assigned.conversation_id}/messages", headers=token).json()
    rating = history["messages"][-1]
    assert [b["payload"] for b in rating["buttons"]] == [f'/satisfaction{{"score": {n}}}' for n in range(1, 6)]
    assert "1" in rating["text"] and "5" in rating["text"] and history["state"] == "bot"
    # Rasa is not running in this module: a payload that reached it would get "one moment".
    reply = client.post("/api/chat", json={"conversation_id": world.assigned.conversation_id, "text": '/satisfaction{"score": 4}'}, headers=token).json()
    assert [m["text"] for m in reply["messages"]] == ["Kiitos palautteestasi! Se auttaa meitä parantamaan palvelua."]
    with sessions() as session:
        row = session.get(Handover, world.assigned.id)
        assert row is not None and (row.satisfaction, row.outcome_code, row.outcome_service_id) == (4, "referred", RECOMMENDED[0])
        notes = session.scalars(select(HandoverNote.text).where(HandoverNote.handover_id == world.assigned.id)).all()
    assert NOTE in notes


def test_second_taker_is_told_someone_was_first(client: TestClient, people: dict[str, Person], sessions, console_settings) -> None:  # type: ignore[no-untyped-def]
    config = queue.QueueConfig.from_settings(console_settings)
    with sessions() as session:
        conversation, _ = citizen(session, now=_now())
        ticket_id = queue.open_ticket(session=session, conversation=conversation, summary={"language": "fi"}, now=_now(), config=config).id
        session.commit()
    first = client.post(f"/console/tickets/{ticket_id}/take", headers=_as(client, people["counsellor_b"]), follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == f"/console/tickets/{ticket_id}"
    second = client.post(f"/console/tickets/{ticket_id}/take", headers=_as(client, people["counsellor_a"]), follow_redirects=False)
    assert second.status_code == 303 and second.headers["location"] == "/console/queue?taken=1"
    again = client.post(f"/console/tickets/{ticket_id}/take", headers={**_as(client, people["counsellor_a"]), "Accept": "application/json"})
    assert again.status_code == 409
    assert "Someone else took that ticket first." in client.get("/console/queue?taken=1").text


def test_chat_stream_sends_queue_events_as_the_position_moves(client: TestClient, people: dict[str, Person], sessions, console_settings) -> None:  # type: ignore[no-untyped-def]
    config = queue.QueueConfig.from_settings(console_settings)
    with sessions() as session:
        ahead_conversation, _ = citizen(session, now=_now())
        ahead = queue.open_ticket(session=session, conversation=ahead_conversation, summary={"language": "fi"}, now=_now(), config=config).id
        conversation, token = citizen(session, now=_now() + timedelta(seconds=1))
        queue.open_ticket(session=session, conversation=conversation, summary={"language": "fi"}, now=_now() + timedelta(seconds=1), config=config)
        conversation_id = conversation.id
        session.commit()
    client.cookies.clear()
    positions: list[int] = []
    with client.stream("GET", f"/api/chat/{conversation_id}/events", headers={TOKEN_HEADER: token}) as response:
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "queue":
                status = json.loads(line[6:])
                assert status["state"] == "waiting" and "jonossa" in status["text"]
                positions.append(status["position"])
                if len(positions) == 1:
                    # The ticket ahead is taken: the waiting citizen's stream moves up at once.
                    taken = client.post(f"/console/tickets/{ahead}/take", headers={**_as(client, people["counsellor_a"]), "Accept": "application/json"})
                    assert taken.status_code == 200
                    client.cookies.clear()
                else:
                    break
    assert positions[1] == positions[0] - 1


def test_a_refused_page_is_a_page_in_the_staff_language_and_the_api_stays_json(
    client: TestClient, people: dict[str, Person]
) -> None:
    headers = _as(client, people["counsellor_a"])
    page = client.get("/console/figures", headers={**headers, "Accept": "text/html", "Accept-Language": "sv"})
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "Ingen behörighet" in page.text and 'href="/console"' in page.text
    missing = client.get("/console/tickets/999999", headers={**headers, "Accept": "text/html", "Accept-Language": "fi"})
    assert missing.status_code == 404 and "Ei löytynyt" in missing.text
    api = client.get("/console/figures.json?organisation=te", headers={**headers, "Accept": "*/*"})  # the console's scripts
    assert api.status_code == 403 and api.headers["content-type"] == "application/json"
