"""The HTTP API through its real application, lifespan included."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.main import create_app
from knowledge_base.models import ServiceText
from knowledge_base.settings import Settings

SECRET = "Sisäinen ohje: kirjaa URA-järjestelmään koodilla X99."


@pytest.fixture(scope="module")
def client(settings: Settings, sessions) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"rasa_url": "http://127.0.0.1:9", "action_server_url": "http://127.0.0.1:9"})
    with sessions() as session:
        row = session.get(ServiceText, ("hel-tpr:8971", "fi"))
        assert row is not None
        row.internal_instructions = SECRET
        session.commit()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_search_returns_the_cli_shape(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "jag behöver dagvård för mitt barn", "top": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "sv"
    assert len(body["results"]) == 3
    assert set(body["results"][0]) == {"id", "score", "name", "summary", "text_language", "url", "why", "eligibility"}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"q": "x" * 4001}, "4000"),
        ({"q": "hello", "lang": "xx"}, "unsupported language"),
        ({"q": "päivähoito", "municipality": "Atlantis"}, "unknown municipality"),
        ({"q": "hello", "top": 0}, "greater than or equal"),
        ({"q": "hello", "age": -1}, "greater than or equal"),
    ],
)
def test_bad_input_is_422_with_a_reason(client: TestClient, params: dict[str, object], fragment: str) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    assert fragment in response.text


def test_missing_query_is_422(client: TestClient) -> None:
    assert client.get("/api/search").status_code == 422


def test_service_view_never_shows_internal_instructions(client: TestClient) -> None:
    response = client.get("/api/services/hel-tpr:8971")
    assert response.status_code == 200
    assert response.json()["texts"]
    assert SECRET not in response.text and "internal" not in response.text
    search = client.get("/api/search", params={"q": "Ohjaamo nuorille ohjausta", "lang": "fi", "top": 10})
    assert SECRET not in search.text


def test_unknown_service_is_404(client: TestClient) -> None:
    assert client.get("/api/services/hel-tpr:0").status_code == 404


def test_about_names_sources_and_licences(client: TestClient) -> None:
    body = client.get("/api/about").json()
    licences = {source["licence"] for source in body["sources"]}
    assert {"CC BY 4.0", "MIT"} <= licences
    assert any("Helsinki" in source["title"] or "Helsingin" in source["title"] for source in body["sources"])


def test_health_reports_database_and_search(client: TestClient) -> None:
    response = client.get("/api/health")
    body = response.json()
    assert body["checks"]["database"] == "ok" and "843" in body["checks"]["search"]
    # No Rasa in these tests (tests/test_chat.py has it): health must say so, not pretend.
    assert response.status_code == 503 and body["checks"]["rasa"] == "down"


def test_liveness_checks_nothing_and_readiness_names_the_missing_part(client: TestClient) -> None:
    live = client.get("/api/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = client.get("/api/health/ready")
    body = ready.json()
    assert ready.status_code == 503 and body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "search": body["checks"]["search"], "rasa": "down"}
    assert body["checks"]["search"].startswith("ok (843 ")


def test_readiness_fails_when_the_database_is_unreachable(client: TestClient) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    working = state.engine
    # A real engine to a port where nothing listens: the database "went away".
    state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    try:
        body = client.get("/api/health/ready").json()
        assert body["checks"]["database"] == "down" and "nobody" not in json.dumps(body)
        assert client.get("/api/health/live").status_code == 200  # liveness does not care
    finally:
        state.engine.dispose()
        state.engine = working
    assert client.get("/api/health/ready").json()["checks"]["database"] == "ok"


def test_openapi_is_served(client: TestClient) -> None:
    assert "/api/search" in client.get("/openapi.json").json()["paths"]
