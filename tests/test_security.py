"""Security headers, request size limit, rate limits and metrics, through the real app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import TokenBuckets
from knowledge_base.settings import Settings


@pytest.fixture(scope="module")
def client(settings: Settings, sessions) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(
        update={
            "rasa_url": "http://127.0.0.1:9",
            "action_server_url": "http://127.0.0.1:9",
            "max_request_bytes": 10_000,
            "rate_limit_per_minute": 40.0,
            "metrics_clients": ["testclient"],
        }
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_every_response_has_security_headers_and_a_strict_csp(client: TestClient) -> None:
    for path in ("/api/about", "/console/login", "/static/console.css", "/no/such/page"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_a_body_over_the_limit_is_413_by_header_and_by_stream(client: TestClient) -> None:
    big = {"text": "x" * 20_000}
    response = client.post("/api/chat", json=big)
    assert response.status_code == 413 and "10000 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(30):
            yield b"y" * 1000
        yield b'"}'

    streamed = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_token_buckets_refill_with_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, clock=lambda: now[0])  # one per second, burst 60
    assert all(buckets.take("a") == 0 for _ in range(60))
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0  # keys are independent
    now[0] += 2.0
    assert buckets.take("a") == 0


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/api/services/hel-tpr:8971")
    client.get("/api/services/hel-tpr:2773")
    text = client.get("/metrics").text
    assert 'route="/api/services/{service_id}"' in text and "hel-tpr:8971" not in text
    assert "opastin_http_request_seconds_bucket" in text


def test_one_client_is_limited_with_retry_after(client: TestClient) -> None:
    # Runs last in this module: it spends the client's bucket (40 per minute).
    statuses = [client.get("/api/about").status_code for _ in range(45)]
    assert statuses.count(429) >= 1 and statuses[0] == 200
    refused = client.get("/api/about")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
