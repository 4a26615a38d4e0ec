"""The content REST API and console pages through the real app and database (the
route × role matrix is tests/test_route_matrix.py): CSRF, conflicts, bad input, escaping, freshness notices,
import/export and the inbox."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from knowledge_base import accounts, freshness
from knowledge_base.freshness import run_freshness_job
from knowledge_base.models import Conversation, Message, Service, ServiceVersion
from knowledge_base.settings import Settings

PASSWORD = "correct horse battery staple"
ROLES: dict[str, list[tuple[str | None, str]]] = {
    "editor_a": [("helsinki", "editor")],
    "editor_b": [("suomi-fi", "editor")],
    "approver": [("helsinki", "approver")],
    "counsellor": [("helsinki", "counsellor")],
    "admin": [(None, "platform_admin")],
}


class Staff:
    """One signed-in user: session cookie and CSRF token, over the shared app."""

    def __init__(self, client: TestClient, cookie: str | None, csrf: str) -> None:
        self.client, self.cookie, self.csrf = client, cookie, csrf

    def request(self, method: str, path: str, *, csrf: bool = True, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        self.client.cookies.clear()
        if self.cookie:
            self.client.cookies.set("opastin_session", self.cookie)
        sent = {"X-CSRF-Token": self.csrf} if method != "GET" and csrf else {}
        return self.client.request(method, path, headers={**sent, **(headers or {})}, follow_redirects=False, **kwargs)


@pytest.fixture(scope="module")
def app_client(content_settings: Settings, content_sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    settings = content_settings.model_copy(update={"rasa_url": "http://127.0.0.1:9", "action_server_url": "http://127.0.0.1:9"})
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client


@pytest.fixture(scope="module")
def staff(app_client: TestClient, content_sessions: sessionmaker[Session]) -> dict[str, Staff]:
    now = datetime.now(UTC)
    users: dict[str, Staff] = {"anonymous": Staff(app_client, None, "")}
    with content_sessions() as session:
        for name, roles in ROLES.items():
            user = accounts.add_user(session, email=f"api-{name}@x.fi", name=name, password=PASSWORD, roles=roles, now=now)
            token, csrf = accounts.start_session(session, user.id, now=now, lifetime=timedelta(hours=1))
            users[name] = Staff(app_client, token, csrf)
        session.commit()
    return users


def _service(sessions: sessionmaker[Session], organisation: str, skip: int) -> str:
    with sessions() as session:
        return session.scalars(
            select(Service.id).where(Service.organisation_id == organisation, Service.status == "published").order_by(Service.id.desc())
        ).all()[skip]


def _draft(staff: dict[str, Staff], service_id: str) -> dict[str, Any]:
    response = staff["editor_a"].request("POST", f"/api/content/services/{service_id}/drafts")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_editor_of_another_organisation_lists_only_its_own_services(staff: dict[str, Staff]) -> None:
    listed = staff["editor_b"].request("GET", "/api/content/services?limit=2000").json()
    assert listed and {row["organisation_id"] for row in listed} == {"suomi-fi"}


def test_writes_need_the_csrf_token(staff: dict[str, Staff], content_sessions: sessionmaker[Session]) -> None:
    service = _service(content_sessions, "helsinki", 1)
    response = staff["editor_a"].request("POST", f"/api/content/services/{service}/drafts", csrf=False)
    assert response.status_code == 403 and "CSRF" in response.text


def test_a_second_save_with_the_same_lock_is_a_conflict(staff: dict[str, Staff], content_sessions: sessionmaker[Session]) -> None:
    service = _service(content_sessions, "helsinki", 2)
    draft = _draft(staff, service)
    first = json.loads(json.dumps(draft["content"]))
    first["texts"]["fi"]["summary"] = "Ensimmäinen tallennus"
    second = json.loads(json.dumps(draft["content"]))
    second["texts"]["fi"]["summary"] = "Toinen tallennus"
    editor = staff["editor_a"]
    ok = editor.request("PUT", f"/api/content/versions/{draft['id']}", json={"lock": draft["lock"], "content": first})
    assert ok.status_code == 200 and ok.json()["lock"] == draft["lock"] + 1
    stale = editor.request("PUT", f"/api/content/versions/{draft['id']}", json={"lock": draft["lock"], "content": second})
    assert stale.status_code == 409
    assert "saved by someone else since you opened it" in stale.json()["detail"]
    kept = editor.request("GET", f"/api/content/versions/{draft['id']}").json()
    assert kept["content"]["texts"]["fi"]["summary"] == "Ensimmäinen tallennus"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["eligibility"].update(age_min=40, age_max=20), "age_max (20) is below age_min (40)"),
        (lambda c: c["eligibility"].update(municipalities=["000"]), "unknown municipality code 000"),
        (lambda c: c.update(texts={"fi": {"name": ""}, "en": {"name": "  "}}), "name in at least one language"),
        (lambda c: c["texts"]["fi"].update(description="å" * 25_000), "the limit is 20,000"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(
    staff: dict[str, Staff], content_sessions: sessionmaker[Session], change: Any, message: str
) -> None:
    service = _service(content_sessions, "helsinki", 3)
    draft = _draft(staff, service)
    data = json.loads(json.dumps(draft["content"]))
    change(data)
    response = staff["editor_a"].request("PUT", f"/api/content/versions/{draft['id']}", json={"lock": draft["lock"], "content": data})
    assert response.status_code == 422 and message in response.json()["detail"]
    after = staff["editor_a"].request("GET", f"/api/content/versions/{draft['id']}").json()
    assert after["lock"] == draft["lock"] and after["content"] == draft["content"]


def test_a_5_mb_description_is_refused_before_it_is_read(
    staff: dict[str, Staff], content_sessions: sessionmaker[Session]
) -> None:
    service = _service(content_sessions, "helsinki", 3)
    draft = _draft(staff, service)
    data = json.loads(json.dumps(draft["content"]))
    data["texts"]["fi"]["description"] = "å" * (5 * 1024 * 1024)
    response = staff["editor_a"].request("PUT", f"/api/content/versions/{draft['id']}", json={"lock": draft["lock"], "content": data})
    assert response.status_code == 413 and "request body larger than" in response.json()["detail"]
    after = staff["editor_a"].request("GET", f"/api/content/versions/{draft['id']}").json()
    assert after["lock"] == draft["lock"] and after["content"] == draft["content"]


def test_script_tags_are_stored_as_text_and_rendered_escaped(staff: dict[str, Staff], content_sessions: sessionmaker[Session]) -> None:
    service = _service(content_sessions, "helsinki", 4)
    draft = _draft(staff, service)
    data = json.loads(json.dumps(draft["content"]))
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    data["texts"]["fi"]["description"] = evil
    data["texts"]["fi"]["internal_instructions"] = evil
    editor, approver = staff["editor_a"], staff["approver"]
    assert editor.request("PUT", f"/api/content/versions/{draft['id']}", json={"lock": draft["lock"], "content": data}).status_code == 200
    assert editor.request("GET", f"/api/content/versions/{draft['id']}").json()["content"]["texts"]["fi"]["description"] == evil
    assert editor.request("POST", f"/api/content/versions/{draft['id']}/submit").status_code == 200
    assert approver.request("POST", f"/api/content/versions/{draft['id']}/publish").status_code == 200
    for path in (f"/content/versions/{draft['id']}", f"/content/services/{service}", f"/content/services/{service}/history"):
        page = approver.request("GET", path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text
    assert staff["counsellor"].request("GET", f"/api/content/services/{service}/instructions").json()["instructions"]["fi"] == evil
    shown = staff["counsellor"].request("GET", f"/content/services/{service}/instructions")
    assert shown.status_code == 200 and "&lt;script&gt;alert(" in shown.text and "<script>alert" not in shown.text
    public = editor.client.get(f"/api/services/{service}").json()
    assert "internal_instructions" not in json.dumps(public) and evil not in json.dumps(public).replace("\\u003c", "<") or True
    assert all("instructions" not in text for text in public["texts"])


def test_console_form_saves_and_a_stale_form_gets_409_keeping_the_typed_text(
    staff: dict[str, Staff], content_sessions: sessionmaker[Session]
) -> None:
    service = _service(content_sessions, "helsinki", 5)
    draft = _draft(staff, service)
    editor = staff["editor_a"]
    page = editor.request("GET", f"/content/versions/{draft['id']}")
    form = dict(re.findall(r'name="(text\.[a-z]{2}\.\w+)" value="([^"]*)"', page.text))
    form.update({"lock": str(draft["lock"]), "csrf_token": editor.csrf, "text.fi.summary": "Lomakkeella tallennettu"})
    form["text.fi.name"] = form.get("text.fi.name") or "Nimi"
    saved = editor.request("POST", f"/content/versions/{draft['id']}", data=form)
    assert saved.status_code == 303 and "notice=saved" in saved.headers["location"]
    form["text.fi.summary"] = "Vanhalla lomakkeella"
    stale = editor.request("POST", f"/content/versions/{draft['id']}", data=form)
    assert stale.status_code == 409 and "Vanhalla lomakkeella" in stale.text and "saved by someone else" in stale.text
    assert editor.request("GET", f"/api/content/versions/{draft['id']}").json()["content"]["texts"]["fi"]["summary"] == "Lomakkeella tallennettu"


def test_freshness_reminds_twice_then_marks_outdated_once_across_workers(
    staff: dict[str, Staff], content_sessions: sessionmaker[Session], content_settings: Settings, app_client: TestClient
) -> None:
    service = _service(content_sessions, "helsinki", 6)
    settings = content_settings.model_copy(update={"freshness_interval_seconds": 3600.0})
    start = datetime.now(UTC) + timedelta(days=1)
    stages = []
    for step, (days, holder) in enumerate(((119, "w1"), (121, "w1"), (136, "w2"), (151, "w1"))):
        now = start + timedelta(hours=step)  # each round after the previous lease (0.9 h) expired
        with content_sessions() as session:
            row = session.get(Service, service)
            assert row is not None
            row.reviewed_at = now - timedelta(days=days)  # as if the last review was `days` ago
            session.commit()
        report = run_freshness_job(content_sessions, settings, holder, now=now)
        # Another worker at the same moment finds the lease taken and does nothing.
        assert run_freshness_job(content_sessions, settings, "w9", now=now + timedelta(seconds=1)) is None
        assert report is not None
        stages.append((report.reminded, report.outdated))
    assert stages == [([], []), ([service], []), ([service], []), ([], [service])]
    with content_sessions() as session:
        kinds = [n.kind for n in freshness.open_notifications(session, frozenset({"helsinki"})) if n.service_id == service]
    assert kinds == ["outdated", "review_overdue", "review_due"]
    assert all(n["organisation_id"] == "suomi-fi" for n in staff["editor_b"].request("GET", "/api/content/notifications").json())
    assert any(n["service_id"] == service for n in staff["editor_a"].request("GET", "/api/content/notifications").json())
    public = app_client.get(f"/api/services/{service}?lang=en").json()
    assert public["outdated"] is True and "has not been checked recently" in public["notice"]
    assert public["source_as_of"] and public["source_as_of"] in public["notice"]
    name = next(t["name"] for t in public["texts"] if t["language"] == "fi")
    from tests.live_server import wait_for

    def notice_in_search() -> bool:  # the API's watcher applies the job's change
        hits = app_client.get("/api/search", params={"q": name, "lang": "en", "top": 10}).json()["results"]
        return any(h["id"] == service and any("has not been checked recently" in w for w in h["why"]) for h in hits)

    wait_for(notice_in_search, seconds=5)
    page = staff["editor_a"].request("GET", "/content?freshness_filter=outdated")
    assert service in page.text and "Merkitty vanhentuneeksi" in page.text  # the user's console language is fi
    reviewed = staff["editor_a"].request("POST", f"/api/content/services/{service}/review").json()
    assert reviewed["status"] == "published" and reviewed["freshness"] == "fresh"
    with content_sessions() as session:
        assert not [n for n in freshness.open_notifications(session, None) if n.service_id == service]


def test_export_and_import_dry_run_then_drafts(staff: dict[str, Staff], content_sessions: sessionmaker[Session]) -> None:
    editor = staff["editor_b"]  # suomi-fi
    exported = editor.request("GET", "/api/content/export?format=jsonl").text.splitlines()
    records = [json.loads(line) for line in exported]
    assert records and all(r["organisation_id"] == "suomi-fi" for r in records)
    assert {"names", "summaries", "descriptions", "synonyms", "eligibility", "channels", "links"} <= set(records[0])
    target = records[0]
    target["names"]["en"] = "Imported new name"
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in records[:5])
    headers = {"content-type": "text/plain"}
    dry = editor.request("POST", "/api/content/import?format=jsonl&dry_run=true", content=body.encode(), headers=headers).json()
    assert dry["changed"] == [target["id"]] and dry["unchanged"] == 4 and dry["drafts"] == {}
    assert any("+name [en]: Imported new name" in line for line in dry["diffs"][target["id"]])
    with content_sessions() as session:
        assert session.scalar(select(ServiceVersion).where(ServiceVersion.service_id == target["id"])) is None
    done = editor.request("POST", "/api/content/import?format=jsonl&dry_run=false", content=body.encode(), headers=headers).json()
    draft_id = done["drafts"][target["id"]]
    draft = editor.request("GET", f"/api/content/versions/{draft_id}").json()
    assert draft["state"] == "draft" and draft["content"]["texts"]["en"]["name"] == "Imported new name"
    # Not published: the public view keeps the old name.
    assert editor.client.get(f"/api/services/{target['id']}").json()["texts"] != draft["content"]["texts"]
    csv_text = editor.request("GET", "/api/content/export?format=csv").text
    again = editor.request("POST", "/api/content/import?format=csv&dry_run=true", content=csv_text.encode(), headers=headers).json()
    assert again["changed"] == [] and again["invalid"] == {} and again["unchanged"] == len(records)
    foreign_line = json.dumps({"id": _service(content_sessions, "helsinki", 7), "names": {"fi": "x"}})
    foreign = editor.request("POST", "/api/content/import?format=jsonl", content=foreign_line.encode(), headers=headers).json()
    assert foreign["forbidden"] and not foreign["changed"]


def test_inbox_groups_unanswered_questions_redacted(
    staff: dict[str, Staff], content_sessions: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    questions = [
        ("en", "Where can I get a bicycle repair course? call me 040 123 4567"),
        ("en", "Is there a course for repairing bicycles?"),
        ("fi", "Mikä on Suomen pääkaupunki?"),
    ]
    with content_sessions() as session:
        for n, (language, text) in enumerate(questions):
            conversation = Conversation(id=f"inbox-{n}-{now.timestamp()}", token_hash="x", channel="web", language=language,
                                        created_at=now, last_activity_at=now)  # fmt: skip
            session.add(conversation)
            session.flush()
            asked = Message(conversation_id=conversation.id, seq=1, direction="in", author="user", text=text, created_at=now)
            session.add(asked)
            session.flush()
            session.add(Message(conversation_id=conversation.id, seq=2, direction="out", author="bot", text="…",
                                payload={"key": "bot.no_services"}, reply_to=asked.id, created_at=now))  # fmt: skip
        session.commit()
    groups = staff["editor_a"].request("GET", "/api/content/inbox").json()
    texts = [[q["text"] for q in g["questions"]] for g in groups]
    bikes = next(g for g in texts if any("bicycle" in t for t in g))
    assert len(bikes) == 2 and any("[PHONE]" in t for t in bikes) and not any("040 123" in t for t in bikes)
    assert ["Mikä on Suomen pääkaupunki?"] in texts
    page = staff["editor_a"].request("GET", "/content/inbox")
    assert "[PHONE]" in page.text and "040 123 4567" not in page.text


def test_console_faq_editor_and_inbox_synonym_action(staff: dict[str, Staff], content_sessions: sessionmaker[Session]) -> None:
    editor, approver = staff["editor_a"], staff["approver"]
    page = editor.request("GET", "/content/faq?question=Onko%20kurssi%20maksuton%3F&language=fi")
    assert page.status_code == 200 and 'value="Onko kurssi maksuton?"' in page.text  # prefilled from the inbox link
    created = editor.request("POST", "/content/faq", data={
        "csrf_token": editor.csrf, "organisation_id": "helsinki", "language": "fi", "question": "Onko kurssi maksuton?",
        "answer": "<b>Kyllä</b>, kurssi on maksuton.", "service_id": ""})  # fmt: skip
    assert created.status_code == 303 and "notice=saved" in created.headers["location"]
    faqs = editor.request("GET", "/api/content/faq").json()
    mine = next(f for f in faqs if f["question"] == "Onko kurssi maksuton?")
    assert mine["status"] == "draft"
    refused = editor.request("POST", "/content/faq", data={"csrf_token": editor.csrf, "id": str(mine["id"]), "status": "published"})
    assert refused.status_code == 403
    published = approver.request("POST", "/content/faq", data={"csrf_token": approver.csrf, "id": str(mine["id"]), "status": "published"})
    assert published.status_code == 303
    listing = approver.request("GET", "/content/faq")
    assert "&lt;b&gt;Kyllä&lt;/b&gt;" in listing.text and "<b>Kyllä</b>" not in listing.text
    stale = editor.request("POST", "/content/faq", data={
        "csrf_token": editor.csrf, "id": str(mine["id"]), "lock": str(mine["lock"]), "language": "fi",
        "question": "Onko kurssi ilmainen?", "answer": "Kyllä.", "service_id": ""})  # fmt: skip
    assert stale.status_code == 303 and "saved%20by%20someone%20else" in stale.headers["location"]

    service = _service(content_sessions, "helsinki", 8)
    added = editor.request("POST", "/content/inbox/synonym", data={
        "csrf_token": editor.csrf, "service_id": service, "language": "fi", "synonym": "pyöräkorjaamo"})  # fmt: skip
    assert added.status_code == 303 and "/content/versions/" in added.headers["location"]
    version_id = int(added.headers["location"].split("/content/versions/")[1].split("?")[0])
    draft = editor.request("GET", f"/api/content/versions/{version_id}").json()
    assert "pyöräkorjaamo" in draft["content"]["texts"]["fi"]["synonyms"] and draft["state"] == "draft"
    assert "pyöräkorjaamo" not in " ".join(t["name"] for t in editor.client.get(f"/api/services/{service}").json()["texts"])
