"""Staff accounts, roles, sessions and CSRF, through the real application and database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from knowledge_base import accounts
from knowledge_base.cli import main as cli
from knowledge_base.errors import InvalidQuery, NotFound
from knowledge_base.models import User
from knowledge_base.settings import Settings

PASSWORD = "correct horse battery staple"


def test_password_hash_is_argon2id_and_verifies() -> None:
    hashed = accounts.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert accounts.verify_password(hashed, PASSWORD)
    assert not accounts.verify_password(hashed, PASSWORD + "!")
    assert not accounts.verify_password("not a hash", PASSWORD)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("helsinki:counsellor", ("helsinki", "counsellor")), ("platform_admin", (None, "platform_admin"))],
)
def test_parse_role(text: str, expected: tuple[str | None, str]) -> None:
    assert accounts.parse_role(text) == expected


@pytest.mark.parametrize("text", ["helsinki:king", "counsellor", ":editor", "helsinki:platform_admin"])
def test_parse_role_refuses_unknown_roles(text: str) -> None:
    with pytest.raises(InvalidQuery):
        accounts.parse_role(text)


def test_principal_roles_are_per_organisation() -> None:
    principal = accounts.Principal(1, "a@x.fi", "A", "fi", frozenset({("helsinki", "counsellor"), ("suomi-fi", "editor")}))
    assert principal.has_role("counsellor", "helsinki")
    assert not principal.has_role("counsellor", "suomi-fi")
    assert principal.has_role("editor")
    assert not principal.has_role("approver")
    assert principal.organisations("editor") == {"suomi-fi"}
    admin = accounts.Principal(2, "b@x.fi", "B", "fi", frozenset({(None, "platform_admin")}))
    assert admin.has_role("approver", "helsinki")


def test_add_user_validates(sessions) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with sessions() as session:
        with pytest.raises(InvalidQuery, match="too short"):
            accounts.add_user(session, email="short@x.fi", name="", password="short", roles=[], now=now)
        with pytest.raises(NotFound, match="atlantis"):
            accounts.add_user(session, email="n@x.fi", name="", password=PASSWORD, roles=[("atlantis", "editor")], now=now)
        accounts.add_user(session, email="Dup@x.fi", name="", password=PASSWORD, roles=[("helsinki", "editor")], now=now)
        with pytest.raises(InvalidQuery, match="exists"):
            accounts.add_user(session, email="dup@x.fi", name="", password=PASSWORD, roles=[], now=now)
        session.rollback()


def test_session_expires(sessions) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with sessions() as session:
        user = accounts.add_user(session, email="exp@x.fi", name="E", password=PASSWORD, roles=[("helsinki", "counsellor")], now=now)
        token, csrf = accounts.start_session(session, user.id, now=now, lifetime=timedelta(hours=1))
        resolved = accounts.resolve_session(session, token, now=now + timedelta(minutes=59))
        assert resolved is not None and resolved[1] == csrf and resolved[0].email == "exp@x.fi"
        assert accounts.resolve_session(session, token, now=now + timedelta(hours=2)) is None
        assert accounts.resolve_session(session, "forged", now=now) is None
        session.rollback()


def test_cli_users_add_prints_a_password_that_works(settings: Settings, sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPASTIN_STATE_DIR", str(settings.state_dir))
    from knowledge_base.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["users", "add", "cli@x.fi", "--name", "Cli", "--role", "helsinki:supervisor"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    password = re.search(r"password: (\S+)", result.output).group(1)  # type: ignore[union-attr]
    with sessions() as session:
        assert accounts.authenticate(session, "cli@x.fi", password) is not None
        assert accounts.authenticate(session, "cli@x.fi", "wrong password!") is None
        user = session.scalar(select(User).where(User.email == "cli@x.fi"))
        assert user is not None and PASSWORD not in user.password_hash and password not in user.password_hash
    bad = CliRunner().invoke(cli, ["users", "add", "x@x.fi", "--role", "helsinki:king"])
    assert bad.exit_code == 2 and "ROLE one of" in bad.output


@pytest.fixture(scope="module")
def client(settings: Settings, sessions) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        accounts.add_user(session, email="web@x.fi", name="Web Counsellor", password=PASSWORD, roles=[("helsinki", "counsellor")], now=datetime.now(UTC))
        session.commit()
    settings = settings.model_copy(update={"rasa_url": "http://127.0.0.1:9", "action_server_url": "http://127.0.0.1:9"})
    with TestClient(create_app(settings), base_url="https://testserver") as test_client:
        yield test_client


def _login(client: TestClient, password: str = PASSWORD, next_path: str = "/console") -> object:
    form = client.get("/console/login")
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    return client.post(
        "/console/login",
        data={"email": "web@x.fi", "password": password, "csrf_token": login_csrf, "next": next_path},
        follow_redirects=False,
    )


def test_console_needs_login(client: TestClient) -> None:
    client.cookies.clear()
    response = client.get("/console", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")


def test_login_sets_a_secure_httponly_cookie_and_shows_roles(client: TestClient) -> None:
    client.cookies.clear()
    response = _login(client)
    assert response.status_code == 303  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "opastin_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    home = client.get("/console")
    assert home.status_code == 200 and "Web Counsellor" in home.text and "helsinki" in home.text


def test_wrong_password_and_login_without_csrf_are_refused(client: TestClient) -> None:
    client.cookies.clear()
    response = _login(client, password="not the password")
    assert response.status_code == 303 and "error=1" in response.headers["location"]  # type: ignore[attr-defined]
    assert "opastin_session" not in client.cookies
    refused = client.post("/console/login", data={"email": "web@x.fi", "password": PASSWORD, "csrf_token": "x"})
    assert refused.status_code == 403


def test_logout_needs_csrf_then_ends_the_session(client: TestClient) -> None:
    client.cookies.clear()
    _login(client)
    assert client.post("/console/logout", data={"csrf_token": "forged"}).status_code == 403
    page = client.get("/console")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_next_is_never_an_open_redirect(client: TestClient) -> None:
    client.cookies.clear()
    response = _login(client, next_path="//evil.example/")
    assert response.headers["location"] == "/console"  # type: ignore[attr-defined]
