"""Property-based fuzzing of the OpenAPI schema (schemathesis) against the real API on a
real port: at least 1,000 generated requests, none may get a server error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from knowledge_base.settings import Settings
from tests.live_server import LiveServer, live_server

EXAMPLES_PER_OPERATION = 260
# The SSE stream never ends by design; its access check is covered by tests/test_chat.py.
SKIPPED_PATHS = ("/api/chat/{conversation_id}/events",)


@pytest.fixture(scope="module")
def server(settings: Settings, sessions) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    fuzz_settings = settings.model_copy(
        update={
            "rasa_url": "http://127.0.0.1:9",
            "action_server_url": "http://127.0.0.1:9",
            "rasa_timeout_seconds": 1.0,
            "rate_limit_per_minute": 1_000_000.0,
            "conversation_rate_limit_per_minute": 1_000_000.0,
        }
    )
    with live_server(fuzz_settings) as running:
        yield running


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    calls: Counter[str] = Counter()
    errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=server.url, timeout=20)
            calls[operation.label] += 1
            # 503 is the API's deliberate answer when a dependency is down (Rasa is, here),
            # always with a JSON body saying what; anything else from 500 up is a bug.
            content_type = response.headers.get("content-type") or [""]  # schemathesis: lists of values
            deliberate = response.status_code == 503 and content_type[0].startswith("application/json")
            if response.status_code >= 500 and not deliberate:
                errors.append(f"{operation.label}: {response.status_code} {response.text[:200]}")

        call()
    total = sum(calls.values())
    assert total >= 1000, calls
    assert not errors, errors[:5]
