"""The real API on a real port (uvicorn in a thread), for browsers and HTTP clients
that cannot use TestClient: Chromium, python-telegram-bot, SSE readers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from api.main import create_app
from knowledge_base.settings import Settings
from tests.bot_stack import free_port

START_SECONDS = 120


@dataclass
class LiveServer:
    url: str
    settings: Settings
    server: uvicorn.Server


@contextmanager
def live_server(settings: Settings, port: int | None = None) -> Iterator[LiveServer]:
    """The API on `port` (a free one when None; give the same port to restart the API
    under the same URL). Open event streams are closed within 2 s of stopping."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"API did not start on {url}")
        time.sleep(0.1)
    try:
        yield LiveServer(url, settings, server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_for(condition, seconds: float = 10.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll `condition()` until it returns something truthy; return that, or fail."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        time.sleep(interval)


def get_json(url: str, **kwargs) -> object:  # type: ignore[no-untyped-def]
    response = httpx.get(url, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()
