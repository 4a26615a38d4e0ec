"""Every route of the application × every kind of caller, through the real app and a
database of its own.

The table below has an entry for each (method, route template) the app serves: a route
added without an entry fails `test_every_route_has_an_entry`, and an entry whose route
is gone fails it too. Callers: anonymous, a citizen holding another conversation's
token, the citizen holding the conversation's own token, and staff: a counsellor,
supervisor and organisation admin of organisation A (`te`), an editor and an approver
of content organisation A (`helsinki`), and a platform admin. Resources of organisation
B (an `ohjaamo` ticket and canned reply, a `suomi-fi` service) have rows of their own.

A refused request (401, 403, 404, 409 or the redirect to the login page) must not carry
any canary: internal instructions, internal notes, another organisation's canned reply,
or the text a citizen wrote. Requests that change something get a fresh resource for
each caller (a new ticket, draft, conversation...), so no row depends on the order of
the callers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import SESSION_COOKIE
from api.main import create_app
from api.routes.chat import TOKEN_HEADER
from knowledge_base import accounts, clicks, content, faq, outbox, queue, queue_console
from knowledge_base import conversations as store
from knowledge_base.accounts import Principal
from knowledge_base.bootstrap import ensure_imported, open_store
from knowledge_base.models import FaqAnswer, Handover, Service, ServiceText, ServiceVersion
from knowledge_base.settings import Settings
from tests.queue_factories import citizen, staff

INSTRUCTIONS = "CANARY-instructions-5d1e"
NOTE_A = "CANARY-note-te-77a0"
NOTE_B = "CANARY-note-ohjaamo-41bc"
CANNED_B = "CANARY-canned-ohjaamo-9e02"
CITIZEN_TEXT = "CANARY-citizen-wrote-c3f8 minulla on kysymys"
CANARIES = (INSTRUCTIONS, NOTE_A, NOTE_B, CANNED_B, CITIZEN_TEXT)

CITIZENS = ("anonymous", "citizen_other", "citizen_own")
STAFF: dict[str, list[tuple[str | None, str]]] = {
    "counsellor": [("te", "counsellor")],
    "supervisor": [("te", "supervisor")],
    "org_admin": [("te", "org_admin")],
    "editor": [("helsinki", "editor")],
    "approver": [("helsinki", "approver")],
    "admin": [(None, "platform_admin")],
}
ROLES = (*CITIZENS, *STAFF)
REFUSED = frozenset({401, 403, 404, 409})


def _now() -> datetime:
    return datetime.now(UTC)


# -- expectations ------------------------------------------------------------------------------


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def page(**allowed: int) -> dict[str, int]:
    """A staff page: citizens go to the login page (303), staff not listed get 403."""
    return {role: 303 if role in CITIZENS else allowed.get(role, 403) for role in ROLES}


def staff_api(**allowed: int) -> dict[str, int]:
    """A staff JSON route or event stream: citizens get 401, staff not listed 403."""
    return {role: 401 if role in CITIZENS else allowed.get(role, 403) for role in ROLES}


def own_conversation(status: int) -> dict[str, int]:
    """A conversation route: only its own token opens it; everyone else gets 404."""
    return {role: status if role == "citizen_own" else 404 for role in ROLES}


QUEUE = {"counsellor", "supervisor", "admin"}
CONTENT = {"editor", "approver", "admin"}


def only(roles: set[str], status: int) -> dict[str, int]:
    return dict.fromkeys(roles, status)


# -- the world the requests act on ---------------------------------------------------------------


@dataclass
class Person:
    principal: Principal | None
    cookie: str = ""
    csrf: str = ""


@dataclass
class World:
    sessions: sessionmaker[Session]
    people: dict[str, Person]
    counsellor_b: Principal
    config: queue.QueueConfig
    ids: dict[str, Any] = field(default_factory=dict)
    helsinki_services: Iterator[str] = field(default_factory=lambda: iter(()))
    counter: Iterator[int] = field(default_factory=itertools.count)

    def run(self, work: Callable[[Session], dict[str, Any]]) -> dict[str, Any]:
        with self.sessions() as session:
            made = work(session)
            session.commit()
            return made

    @property
    def admin(self) -> Principal:
        principal = self.people["admin"].principal
        assert principal is not None
        return principal

    # Fresh resources, one per caller, for requests that change what they act on.
    def conversation(self) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            conversation, token = citizen(session, now=_now())
            return {"conversation": conversation.id, "token": token}

        return self.run(work)

    def waiting_ticket(self) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            conversation, _ = citizen(session, now=_now())
            ticket = queue.open_ticket(session=session, conversation=conversation, summary={"language": "fi"}, now=_now(), config=self.config)
            return {"ticket": ticket.id}

        return self.run(work)

    def ticket_of(self, principal: Principal) -> dict[str, Any]:
        ticket = self.waiting_ticket()["ticket"]

        def work(session: Session) -> dict[str, Any]:
            queue.take(session=session, handover_id=ticket, principal=principal, now=_now(), config=self.config)
            return {"ticket": ticket}

        return self.run(work)

    def counsellor_ticket(self) -> dict[str, Any]:
        principal = self.people["counsellor"].principal
        assert principal is not None
        return self.ticket_of(principal)

    def transfer_to_te(self) -> dict[str, Any]:
        ticket = self.ticket_of(self.counsellor_b)["ticket"]

        def work(session: Session) -> dict[str, Any]:
            offer = queue.request_transfer(
                session=session, handover_id=ticket, principal=self.counsellor_b, to_organisation_id="te", note="", now=_now()
            )
            return {"transfer": offer.id}

        return self.run(work)

    def canned(self, organisation: str) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            row = queue_console.add_canned(
                session=session, principal=self.admin, organisation_id=organisation, language="fi",
                title=f"t{next(self.counter)}", text="Hei!", now=_now(),
            )  # fmt: skip
            return {"canned": row.id}

        return self.run(work)

    def service(self) -> dict[str, Any]:
        return {"service": next(self.helsinki_services)}

    def draft(self) -> dict[str, Any]:
        service_id = next(self.helsinki_services)

        def work(session: Session) -> dict[str, Any]:
            version = content.start_draft(session=session, principal=self.admin, service_id=service_id, now=_now())
            return {"version": version.id, "service": service_id}

        return self.run(work)

    def submitted(self) -> dict[str, Any]:
        made = self.draft()

        def work(session: Session) -> dict[str, Any]:
            content.submit(session=session, principal=self.admin, version_id=made["version"], now=_now())
            return made

        return self.run(work)

    def held(self) -> dict[str, Any]:
        service_id = next(self.helsinki_services)

        def work(session: Session) -> dict[str, Any]:
            content.set_status(session=session, principal=self.admin, service_id=service_id, action="hold", now=_now())
            return {"service": service_id}

        return self.run(work)

    def faq(self) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            row = faq.create_faq(
                session=session, principal=self.admin, organisation_id="helsinki", language="fi",
                question=f"Kysymys {next(self.counter)}?", answer="Vastaus.", service_id=None, now=_now(),
            )  # fmt: skip
            return {"faq": row.id}

        return self.run(work)

    def dead_letter(self) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            conversation, _ = store.create_conversation(session=session, channel="telegram", language="fi", now=_now())
            conversation.external_ref = f"chat-{next(self.counter)}"
            store.add_message(session=session, conversation=conversation, direction="out", author="bot", text="Hei", now=_now())
            outbox.collect(session=session, channel="telegram", now=_now())
            item = next(i for i in outbox.due(session=session, channel="telegram", now=_now()) if i.chat_ref == conversation.external_ref)
            outbox.mark_failed(item=item, error="403 blocked", now=_now(), retry_in=None, max_attempts=1)
            # Handled by the callers' organisation: dead letters are scoped to it.
            session.add(Handover(conversation_id=conversation.id, reason="requested", language="fi", status="assigned",
                                 organisation_id="te", created_at=_now(), updated_at=_now()))  # fmt: skip
            return {"item": item.id}

        return self.run(work)

    def login(self, role: str) -> dict[str, Any]:
        """A second session of the caller (logout ends it)."""
        person = self.people[role]
        if person.principal is None:
            return {}

        def work(session: Session) -> dict[str, Any]:
            assert person.principal is not None
            token, csrf = accounts.start_session(session, person.principal.user_id, now=_now(), lifetime=timedelta(hours=1))
            return {"cookie": token, "csrf": csrf}

        return self.run(work)

    # Bodies that read the current lock number at send time.
    def version_lock(self, version_id: int) -> int:
        with self.sessions() as session:
            row = session.get(ServiceVersion, version_id)
            assert row is not None
            return row.lock

    def version_content(self, version_id: int) -> dict[str, Any]:
        with self.sessions() as session:
            row = session.get(ServiceVersion, version_id)
            assert row is not None
            return dict(row.content)

    def faq_lock(self, faq_id: int) -> int:
        with self.sessions() as session:
            row = session.get(FaqAnswer, faq_id)
            assert row is not None
            return row.lock


@pytest.fixture(scope="module")
def matrix_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        state_dir=tmp_path_factory.mktemp("matrix-state"),
        database_url=None,
        rasa_url="http://127.0.0.1:9",
        action_server_url="http://127.0.0.1:9",
        queue_business_hours=False,
        queue_auto_assign=False,
        rate_limit_per_minute=1_000_000.0,
    )


@pytest.fixture(scope="module")
def matrix_sessions(matrix_settings: Settings) -> sessionmaker[Session]:
    engine, made = open_store(matrix_settings)
    ensure_imported(made, matrix_settings)
    with made() as session:
        for row in session.scalars(select(ServiceText)):
            row.internal_instructions = f"{INSTRUCTIONS} {row.service_id}"
        session.commit()
    return made


@pytest.fixture(scope="module")
def client(matrix_settings: Settings, matrix_sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(matrix_settings), base_url="https://testserver") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def world(matrix_sessions: sessionmaker[Session], matrix_settings: Settings, client: TestClient) -> World:
    now = _now()
    config = queue.QueueConfig.from_settings(matrix_settings)
    people: dict[str, Person] = {role: Person(None) for role in CITIZENS}
    with matrix_sessions() as session:
        for role, roles in STAFF.items():
            queue_user = role in ("counsellor", "supervisor", "admin")
            principal = staff(session, roles, now=now, languages=["fi"] if queue_user else None, online=role == "counsellor", name=role)
            cookie, csrf = accounts.start_session(session, principal.user_id, now=now, lifetime=timedelta(hours=2))
            people[role] = Person(principal, cookie, csrf)
        counsellor_b = staff(session, [("ohjaamo", "counsellor")], now=now, languages=["fi"], online=True, name="counsellor_b")
        session.commit()
        helsinki = list(session.scalars(
            select(Service.id).where(Service.organisation_id == "helsinki", Service.status == "published").order_by(Service.id)
        ))  # fmt: skip
        suomi = session.scalars(select(Service.id).where(Service.organisation_id == "suomi-fi", Service.status == "published")).first()
        linked = next(
            (row, url) for row in session.scalars(select(Service).where(Service.status == "published").order_by(Service.id))
            for url in clicks.catalogue_urls(row)
        )  # fmt: skip
    made = World(matrix_sessions, people, counsellor_b, config)
    made.helsinki_services = iter(helsinki[2:])
    ids: dict[str, Any] = {"service_a": helsinki[0], "service_b": suomi, "link_service": linked[0].id, "link": clicks.link_id(linked[1])}

    def setup(session: Session) -> dict[str, Any]:
        own, own_token = citizen(session, now=now)
        store.add_message(session=session, conversation=own, direction="in", author="user", text=CITIZEN_TEXT, now=now, status="processed")
        other, other_token = citizen(session, now=now)
        counsellor = people["counsellor"].principal
        assert counsellor is not None
        ticket_a = queue.open_ticket(session=session, conversation=citizen(session, now=now)[0], summary={"language": "fi"}, now=now, config=config)
        queue.take(session=session, handover_id=ticket_a.id, principal=counsellor, now=now, config=config)
        queue_console.add_note(session=session, handover_id=ticket_a.id, principal=counsellor, text=NOTE_A, now=now)
        ticket_b = queue.open_ticket(session=session, conversation=citizen(session, now=now)[0], summary={"language": "fi"}, now=now, config=config)
        queue.take(session=session, handover_id=ticket_b.id, principal=counsellor_b, now=now, config=config)
        queue_console.add_note(session=session, handover_id=ticket_b.id, principal=counsellor_b, text=NOTE_B, now=now)
        waiting = queue.open_ticket(session=session, conversation=citizen(session, now=now)[0], summary={"language": "fi"}, now=now, config=config)
        canned_b = queue_console.add_canned(
            session=session, principal=made.admin, organisation_id="ohjaamo", language="fi", title="B", text=CANNED_B, now=now
        )
        version_a = content.start_draft(session=session, principal=made.admin, service_id=ids["service_a"], now=now)
        version_b = content.start_draft(session=session, principal=made.admin, service_id=ids["service_b"], now=now)
        return {
            "conversation": own.id, "token": own_token, "other_token": other_token,
            "ticket_a": ticket_a.id, "ticket_b": ticket_b.id, "ticket_waiting": waiting.id, "canned_b": canned_b.id,
            "version_a": version_a.id, "version_b": version_b.id,
        }  # fmt: skip

    ids.update(made.run(setup))
    ids["faq"] = made.faq()["faq"]
    made.ids = ids
    return made


# -- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    method: str
    template: str  # the route template, as the app names it
    path: str  # with {placeholders} from the world's ids and `fresh`
    expect: dict[str, int]
    fresh: Callable[[World, str], dict[str, Any]] | None = None  # (world, role) -> ids for this one request
    body: Callable[[World, dict[str, Any]], dict[str, Any]] | None = None  # ids -> request keyword arguments
    stream: bool = False


def _json(data: dict[str, Any]) -> Callable[[World, dict[str, Any]], dict[str, Any]]:
    return lambda _w, _ids: {"json": data}


def _form(data: dict[str, Any]) -> Callable[[World, dict[str, Any]], dict[str, Any]]:
    return lambda _w, _ids: {"data": data}


def _new_service(organisation: str) -> Callable[[World, dict[str, Any]], dict[str, Any]]:
    return lambda w, _ids: {"json": {"organisation_id": organisation, "id": f"editor:matrix-{next(w.counter)}",
                                     "content": {"texts": {"fi": {"name": "Uusi palvelu"}}}}}  # fmt: skip


FAQ_BODY = {"organisation_id": "helsinki", "language": "fi", "question": "Mistä saan apua?", "answer": "Ohjaamosta."}
Fresh = Callable[[World, str], dict[str, Any]]
conversation: Fresh = lambda w, _r: w.conversation()  # noqa: E731
waiting_ticket: Fresh = lambda w, _r: w.waiting_ticket()  # noqa: E731
counsellor_ticket: Fresh = lambda w, _r: w.counsellor_ticket()  # noqa: E731
transfer_to_te: Fresh = lambda w, _r: w.transfer_to_te()  # noqa: E731
canned_te: Fresh = lambda w, _r: w.canned("te")  # noqa: E731
canned_ohjaamo: Fresh = lambda w, _r: w.canned("ohjaamo")  # noqa: E731
service: Fresh = lambda w, _r: w.service()  # noqa: E731
draft: Fresh = lambda w, _r: w.draft()  # noqa: E731
submitted: Fresh = lambda w, _r: w.submitted()  # noqa: E731
new_faq: Fresh = lambda w, _r: w.faq()  # noqa: E731
dead_letter: Fresh = lambda w, _r: w.dead_letter()  # noqa: E731
held: Fresh = lambda w, _r: w.held()  # noqa: E731
login: Fresh = lambda w, role: w.login(role)  # noqa: E731
TICKET_VIEWERS_A = only(QUEUE, 200)
TICKET_ACTORS_A = only(QUEUE, 303)  # the counsellor who has it, the organisation's supervisor, admins

ROWS: list[Row] = [
    # Documentation and public pages
    Row("GET", "/openapi.json", "/openapi.json", everyone(200)),
    Row("GET", "/docs", "/docs", everyone(200)),
    Row("GET", "/docs/oauth2-redirect", "/docs/oauth2-redirect", everyone(200)),
    Row("GET", "/redoc", "/redoc", everyone(200)),
    Row("GET", "/demo", "/demo", everyone(200)),
    Row("*", "/static", "/static/console.css", everyone(200)),
    Row("GET", "/api/search", "/api/search?q=ty%C3%B6tt%C3%B6myys&top=3", everyone(200)),
    Row("GET", "/api/services/{service_id}", "/api/services/{service_a}", everyone(200)),
    Row("GET", "/api/about", "/api/about", everyone(200)),
    Row("GET", "/api/widget/messages/{language}", "/api/widget/messages/fi", everyone(200)),
    Row("GET", "/r/{service_id}/{link_id}", "/r/{link_service}/{link}", everyone(303)),
    Row("GET", "/r/{service_id}/{link_id}", "/r/{link_service}/000000000000", everyone(404)),
    # Health: Rasa is not running here; the readiness answer says so to anyone.
    Row("GET", "/api/health", "/api/health", everyone(503)),
    Row("GET", "/api/health/live", "/api/health/live", everyone(200)),
    Row("GET", "/api/health/ready", "/api/health/ready", everyone(503)),
    # Metrics: only from OPASTIN_METRICS_CLIENTS (loopback); the test client is not one.
    Row("GET", "/metrics", "/metrics", everyone(404)),
    # Telegram is off: the webhook does not exist for anyone.
    Row("POST", "/api/telegram/webhook", "/api/telegram/webhook", everyone(404), body=_json({"update_id": 1})),
    # The conversation API: the token of that very conversation, or 404.
    Row("POST", "/api/chat", "/api/chat", own_conversation(200), body=lambda _w, ids: {"json": {"conversation_id": ids["conversation"], "text": "moi"}}),
    Row("POST", "/api/chat", "/api/chat", everyone(200), body=_json({"text": "moi"})),  # a new conversation: anyone
    Row("GET", "/api/chat/{conversation_id}/messages", "/api/chat/{conversation}/messages", own_conversation(200)),
    Row("GET", "/api/chat/{conversation_id}/queue", "/api/chat/{conversation}/queue", own_conversation(200)),
    Row("GET", "/api/chat/{conversation_id}/events", "/api/chat/{conversation}/events", own_conversation(200), stream=True),
    Row("POST", "/api/chat/{conversation_id}/feedback", "/api/chat/{conversation}/feedback", own_conversation(204), conversation, _json({"score": 4})),
    Row("POST", "/api/chat/{conversation_id}/end", "/api/chat/{conversation}/end", own_conversation(204), conversation),
    # Staff sign-in
    Row("GET", "/console/login", "/console/login", everyone(200)),
    Row("POST", "/console/login", "/console/login", everyone(403), body=_form({"email": "x@example.fi", "password": "x", "csrf_token": "forged"})),
    Row("POST", "/console/logout", "/console/logout", page(**only(set(STAFF), 303)), login),
    Row("GET", "/console", "/console", page(**only(set(STAFF), 200))),
    # The counsellor queue
    Row("GET", "/console/queue", "/console/queue", page(**only(QUEUE, 200))),
    Row("GET", "/console/queue/events", "/console/queue/events", staff_api(**only(QUEUE, 200)), stream=True),
    Row("POST", "/console/presence", "/console/presence", page(**only(QUEUE, 303)), body=_form({"status": "online"})),
    Row("POST", "/console/heartbeat", "/console/heartbeat", staff_api(**only(QUEUE, 200))),
    Row("GET", "/console/profile", "/console/profile", page(**only(QUEUE, 200))),
    Row("POST", "/console/profile", "/console/profile", page(**only(QUEUE, 303)), body=_form({"languages": "fi", "max_concurrent": "3"})),
    Row("GET", "/console/dead-letters", "/console/dead-letters", page(**only(QUEUE, 200))),
    Row("POST", "/console/dead-letters/{item_id}/retry", "/console/dead-letters/{item}/retry", page(**only(QUEUE, 303)), dead_letter),
    # Tickets: A is the counsellor's own (te), B an ohjaamo counsellor's.
    Row("POST", "/console/tickets/{ticket_id}/take", "/console/tickets/{ticket}/take", page(**only(QUEUE, 303)), waiting_ticket),
    Row("GET", "/console/tickets/{ticket_id}", "/console/tickets/{ticket_a}", page(**TICKET_VIEWERS_A)),
    Row("GET", "/console/tickets/{ticket_id}", "/console/tickets/{ticket_b}", page(admin=200)),
    Row("GET", "/console/tickets/{ticket_id}", "/console/tickets/{ticket_waiting}", page(**only(QUEUE, 200))),
    Row("GET", "/console/tickets/{ticket_id}/events", "/console/tickets/{ticket_a}/events", staff_api(**TICKET_VIEWERS_A), stream=True),
    Row("GET", "/console/tickets/{ticket_id}/events", "/console/tickets/{ticket_b}/events", staff_api(admin=200), stream=True),
    Row("GET", "/console/tickets/{ticket_id}/transcript", "/console/tickets/{ticket_a}/transcript", page(**TICKET_VIEWERS_A)),
    Row("GET", "/console/tickets/{ticket_id}/transcript", "/console/tickets/{ticket_b}/transcript", page(admin=200)),
    Row("POST", "/console/tickets/{ticket_id}/reply", "/console/tickets/{ticket_a}/reply", page(**TICKET_ACTORS_A), body=_form({"text": "Hei!"})),
    Row("POST", "/console/tickets/{ticket_id}/reply", "/console/tickets/{ticket_b}/reply", page(admin=303), body=_form({"text": "Hei!"})),
    Row("POST", "/console/tickets/{ticket_id}/notes", "/console/tickets/{ticket_a}/notes", page(**TICKET_ACTORS_A), body=_form({"text": "muistiin"})),
    Row("POST", "/console/tickets/{ticket_id}/notes", "/console/tickets/{ticket_b}/notes", page(admin=303), body=_form({"text": "muistiin"})),
    Row("POST", "/console/tickets/{ticket_id}/transfer", "/console/tickets/{ticket}/transfer", page(**TICKET_ACTORS_A), counsellor_ticket, _form({"target": "org:ohjaamo"})),
    Row("POST", "/console/transfers/{transfer_id}/{decision}", "/console/transfers/{transfer}/accept", page(counsellor=303, supervisor=303, admin=303), transfer_to_te),
    Row("POST", "/console/tickets/{ticket_id}/close", "/console/tickets/{ticket}/close", page(**TICKET_ACTORS_A), counsellor_ticket, _form({"outcome_code": "answered"})),
    # Bad input from someone who may not close it: refused before the input is looked at.
    Row("POST", "/console/tickets/{ticket_id}/close", "/console/tickets/{ticket}/close", page(**only(QUEUE, 422)), counsellor_ticket,
        _form({"outcome_code": "referred", "outcome_service_id": "no-such-service"})),
    Row("POST", "/console/tickets/{ticket_id}/hand-back", "/console/tickets/{ticket}/hand-back", page(**TICKET_ACTORS_A), counsellor_ticket),
    # Canned replies and figures: within the organisation (te); ohjaamo's only for admins.
    Row("GET", "/console/canned", "/console/canned", page(supervisor=200, org_admin=200, admin=200)),
    Row("POST", "/console/canned", "/console/canned", page(supervisor=303, org_admin=303, admin=303),
        body=_form({"organisation_id": "te", "language": "fi", "title": "T", "text": "Hei"})),
    Row("POST", "/console/canned", "/console/canned", page(admin=303),
        body=_form({"organisation_id": "ohjaamo", "language": "fi", "title": "T", "text": "Hei"})),
    Row("POST", "/console/canned/{canned_id}/delete", "/console/canned/{canned}/delete", page(supervisor=303, org_admin=303, admin=303), canned_te),
    Row("POST", "/console/canned/{canned_id}/delete", "/console/canned/{canned}/delete", page(admin=303), canned_ohjaamo),
    Row("GET", "/console/figures", "/console/figures", page(supervisor=200, admin=200)),
    Row("GET", "/console/figures", "/console/figures?organisation=ohjaamo", page(admin=200)),
    Row("GET", "/console/figures.json", "/console/figures.json?organisation=te", staff_api(supervisor=200, admin=200)),
    Row("GET", "/console/figures.json", "/console/figures.json?organisation=ohjaamo", staff_api(admin=200)),
    # Guidance outcomes: everyone on the staff but a plain counsellor.
    Row("GET", "/console/outcomes", "/console/outcomes", page(**only(set(STAFF) - {"counsellor"}, 200))),
    Row("GET", "/console/outcomes/charts/{name}.png", "/console/outcomes/charts/languages.png", page(**only(set(STAFF) - {"counsellor"}, 200))),
    Row("GET", "/console/outcomes/{name}.csv", "/console/outcomes/summary.csv", page(**only(set(STAFF) - {"counsellor"}, 200))),
    # Content REST API: editors and approvers of the service's organisation (A = helsinki, B = suomi-fi).
    Row("GET", "/api/content/services", "/api/content/services", staff_api(**only(CONTENT, 200))),
    Row("POST", "/api/content/services", "/api/content/services", staff_api(editor=201, admin=201), body=_new_service("helsinki")),
    Row("POST", "/api/content/services", "/api/content/services", staff_api(admin=201), body=_new_service("suomi-fi")),
    Row("GET", "/api/content/services/{service_id}", "/api/content/services/{service_a}", staff_api(**only(CONTENT, 200))),
    Row("GET", "/api/content/services/{service_id}", "/api/content/services/{service_b}", staff_api(admin=200)),
    Row("GET", "/api/content/services/{service_id}/instructions", "/api/content/services/{service_a}/instructions",
        staff_api(**only(CONTENT | {"counsellor", "supervisor"}, 200))),
    Row("POST", "/api/content/services/{service_id}/drafts", "/api/content/services/{service}/drafts", staff_api(editor=200, admin=200), service),
    Row("POST", "/api/content/services/{service_id}/drafts", "/api/content/services/{service_b}/drafts", staff_api(admin=200)),
    Row("GET", "/api/content/services/{service_id}/versions", "/api/content/services/{service_a}/versions", staff_api(**only(CONTENT, 200))),
    Row("GET", "/api/content/versions/{version_id}", "/api/content/versions/{version_a}", staff_api(**only(CONTENT, 200))),
    Row("GET", "/api/content/versions/{version_id}", "/api/content/versions/{version_b}", staff_api(admin=200)),
    Row("GET", "/api/content/versions/{version_id}/diff", "/api/content/versions/{version_a}/diff", staff_api(**only(CONTENT, 200))),
    Row("PUT", "/api/content/versions/{version_id}", "/api/content/versions/{version_a}", staff_api(editor=200, admin=200),
        body=lambda w, ids: {"json": {"lock": w.version_lock(ids["version_a"]), "content": w.version_content(ids["version_a"])}}),
    Row("POST", "/api/content/versions/{version_id}/submit", "/api/content/versions/{version}/submit", staff_api(editor=200, admin=200), draft),
    Row("POST", "/api/content/versions/{version_id}/return", "/api/content/versions/{version}/return", staff_api(approver=200, admin=200), submitted),
    Row("POST", "/api/content/versions/{version_id}/publish", "/api/content/versions/{version}/publish", staff_api(approver=200, admin=200), submitted),
    # A draft is not ready for review: a role that may publish or return gets 409, the others 403.
    Row("POST", "/api/content/versions/{version_id}/publish", "/api/content/versions/{version}/publish", staff_api(approver=409, admin=409), draft),
    Row("POST", "/api/content/versions/{version_id}/return", "/api/content/versions/{version}/return", staff_api(approver=409, admin=409), draft),
    Row("POST", "/api/content/services/{service_id}/status", "/api/content/services/{service}/status", staff_api(approver=200, admin=200),
        service, _json({"action": "hold"})),
    Row("POST", "/api/content/services/{service_id}/status", "/api/content/services/{service}/status", staff_api(approver=200, admin=200),
        held, _json({"action": "restore"})),
    Row("POST", "/api/content/services/{service_id}/review", "/api/content/services/{service_a}/review", staff_api(**only(CONTENT, 200))),
    Row("POST", "/api/content/services/{service_id}/synonyms", "/api/content/services/{service_a}/synonyms", staff_api(editor=200, admin=200),
        body=_json({"language": "fi", "synonym": "apu"})),
    Row("GET", "/api/content/audit", "/api/content/audit?service_id={service_a}", staff_api(**only(CONTENT, 200))),
    Row("GET", "/api/content/audit", "/api/content/audit?service_id={service_b}", staff_api(admin=200)),
    Row("GET", "/api/content/audit", "/api/content/audit", staff_api(admin=200)),
    Row("GET", "/api/content/faq", "/api/content/faq", staff_api(**only(CONTENT, 200))),
    Row("POST", "/api/content/faq", "/api/content/faq", staff_api(editor=201, admin=201), body=_json(FAQ_BODY)),
    Row("PUT", "/api/content/faq/{faq_id}", "/api/content/faq/{faq}", staff_api(editor=200, admin=200),
        body=lambda w, ids: {"json": {"lock": w.faq_lock(ids["faq"]), "language": "fi", "question": "Mistä apua?", "answer": "Ohjaamosta."}}),
    Row("POST", "/api/content/faq/{faq_id}/status", "/api/content/faq/{faq}/status", staff_api(approver=200, admin=200), new_faq,
        _json({"status": "archived"})),
    Row("GET", "/api/content/inbox", "/api/content/inbox", staff_api(**only(CONTENT, 200))),
    Row("GET", "/api/content/notifications", "/api/content/notifications", staff_api(**only(CONTENT, 200))),
    Row("GET", "/api/content/export", "/api/content/export?format=csv", staff_api(**only(CONTENT, 200))),
    Row("POST", "/api/content/import", "/api/content/import?dry_run=true", staff_api(**only(CONTENT, 200)),
        body=lambda _w, _ids: {"content": b"", "headers": {"content-type": "text/plain"}}),
    # Content console pages
    Row("GET", "/content", "/content", page(**only(CONTENT, 200))),
    Row("GET", "/content/services/{service_id}", "/content/services/{service_a}", page(**only(CONTENT, 200))),
    Row("GET", "/content/services/{service_id}", "/content/services/{service_b}", page(admin=200)),
    Row("GET", "/content/services/{service_id}/instructions", "/content/services/{service_a}/instructions",
        page(**only(CONTENT | {"counsellor", "supervisor"}, 200))),
    Row("POST", "/content/services/{service_id}/draft", "/content/services/{service}/draft", page(editor=303, admin=303), service),
    Row("POST", "/content/services/{service_id}/status", "/content/services/{service}/status", page(approver=303, admin=303), service,
        _form({"action": "hold"})),
    Row("POST", "/content/services/{service_id}/review", "/content/services/{service_a}/review", page(**only(CONTENT, 303))),
    Row("GET", "/content/versions/{version_id}", "/content/versions/{version_a}", page(**only(CONTENT, 200))),
    Row("GET", "/content/versions/{version_id}", "/content/versions/{version_b}", page(admin=200)),
    Row("POST", "/content/versions/{version_id}", "/content/versions/{version}", page(editor=303, admin=303), draft,
        lambda w, ids: {"data": {"lock": str(w.version_lock(ids["version"])), "text.fi.name": "Nimi"}}),
    Row("POST", "/content/versions/{version_id}/{step}", "/content/versions/{version}/submit", page(editor=303, admin=303), draft),
    Row("POST", "/content/versions/{version_id}/{step}", "/content/versions/{version}/publish", page(approver=303, admin=303), submitted),
    Row("GET", "/content/services/{service_id}/history", "/content/services/{service_a}/history", page(**only(CONTENT, 200))),
    Row("GET", "/content/services/{service_id}/history", "/content/services/{service_b}/history", page(admin=200)),
    Row("GET", "/content/faq", "/content/faq", page(**only(CONTENT, 200))),
    Row("POST", "/content/faq", "/content/faq", page(editor=303, admin=303), body=_form(FAQ_BODY | {"service_id": ""})),
    Row("GET", "/content/inbox", "/content/inbox", page(**only(CONTENT, 200))),
    Row("POST", "/content/inbox/synonym", "/content/inbox/synonym", page(editor=303, admin=303), service,
        lambda _w, ids: {"data": {"service_id": ids["service"], "language": "fi", "synonym": "apu"}}),
]


# -- sending -----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    text: str
    location: str


def _send(client: TestClient, world: World, row: Row, role: str) -> Answer:
    ids = dict(world.ids)
    if row.fresh is not None:
        ids.update(row.fresh(world, role))
    person = world.people[role]
    cookie, csrf = ids.pop("cookie", person.cookie), ids.pop("csrf", person.csrf)
    headers: dict[str, str] = {}
    if role == "citizen_own":
        headers[TOKEN_HEADER] = ids["token"]
    elif role == "citizen_other":
        headers[TOKEN_HEADER] = ids["other_token"]  # valid, but another conversation's
    if csrf and row.method != "GET":
        headers["X-CSRF-Token"] = csrf
    kwargs = row.body(world, ids) if row.body else {}
    headers.update(kwargs.pop("headers", {}))
    client.cookies.clear()
    if cookie:
        client.cookies.set(SESSION_COOKIE, cookie)
    method = "GET" if row.method == "*" else row.method
    path = row.path.format(**ids)
    if row.stream:
        with client.stream(method, path, headers=headers) as response:
            lines = []
            if response.status_code == 200:
                for line in response.iter_lines():
                    lines.append(line)
                    if line.startswith("event:"):
                        break
            else:
                response.read()
                lines.append(response.text)
            return Answer(response.status_code, "\n".join(lines), response.headers.get("location", ""))
    response = client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
    return Answer(response.status_code, response.text, response.headers.get("location", ""))


def _app_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = sorted((route.methods or set()) - {"HEAD"}) or ["*"]
        found.update((method, str(route.path)) for method in methods)
    return found


def test_every_route_has_an_entry(client: TestClient) -> None:
    served = _app_routes(client.app)
    listed = {(row.method, row.template) for row in ROWS}
    assert served - listed == set(), f"routes without an entry in the matrix: {sorted(served - listed)}"
    assert listed - served == set(), f"entries for routes the app does not serve: {sorted(listed - served)}"
    assert len(served) >= 85


def test_route_role_matrix(client: TestClient, world: World) -> None:
    failures, leaks = [], []
    checked = 0
    for row in ROWS:
        assert set(row.expect) == set(ROLES), row.path
        for role in ROLES:
            answer = _send(client, world, row, role)
            checked += 1
            expected = row.expect[role]
            if answer.status != expected:
                failures.append(f"{role:13} {row.method} {row.path}: {answer.status}, expected {expected} ({answer.text[:100]!r})")
            login_redirect = answer.status == 303 and answer.location.startswith("/console/login")
            if answer.status in REFUSED or login_redirect:
                leaks.extend(f"{role} {row.method} {row.path} ({answer.status}) shows {c}" for c in CANARIES if c in answer.text)
    assert not failures, f"{len(failures)} of {checked}:\n" + "\n".join(failures)
    assert not leaks, "\n".join(leaks)
    assert checked == len(ROWS) * len(ROLES)


def test_anonymous_staff_pages_go_to_the_login_page_and_back(client: TestClient, world: World) -> None:
    """The 303 a citizen gets on a staff page is the login page with a local `next`."""
    for row in ROWS:
        if row.expect["anonymous"] != 303 or row.template.startswith("/r/"):
            continue
        answer = _send(client, world, row, "anonymous")
        assert answer.location.startswith("/console/login?next=/"), (row.path, answer.location)


def test_the_conversation_api_shows_the_citizen_their_own_words_only(client: TestClient, world: World) -> None:
    """The canary a citizen wrote is there with the right token (so the leak check above can
    see it), and internal canaries never are."""
    row = next(r for r in ROWS if r.template == "/api/chat/{conversation_id}/messages")
    own = _send(client, world, row, "citizen_own")
    assert own.status == 200 and CITIZEN_TEXT in own.text
    assert not any(c in own.text for c in (INSTRUCTIONS, NOTE_A, NOTE_B, CANNED_B))
    ticket = next(r for r in ROWS if r.path == "/console/tickets/{ticket_a}")
    shown = _send(client, world, ticket, "counsellor").text
    assert NOTE_A in shown and NOTE_B not in shown and CANNED_B not in shown  # the canaries do reach pages that may show them


def test_callers_without_the_token_cannot_use_up_a_conversations_rate_limit(client: TestClient, world: World) -> None:
    made = world.conversation()
    limit = int(client.app.state.settings.conversation_rate_limit_per_minute)  # type: ignore[attr-defined]
    body = {"conversation_id": made["conversation"], "text": "moi"}
    client.cookies.clear()
    refused = [client.post("/api/chat", json=body, headers={TOKEN_HEADER: world.ids["other_token"]}).status_code for _ in range(limit + 5)]
    assert set(refused) == {404}
    assert client.post("/api/chat", json=body, headers={TOKEN_HEADER: made["token"]}).status_code == 200
