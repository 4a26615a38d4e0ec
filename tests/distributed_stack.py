"""Helpers for tests that run the product as real processes in distributed mode
(PostgreSQL + Redis, several API workers): a database of their own, clients pinned to
one worker, an SSE reader in a thread. Shared by tests/test_distributed.py,
tests/test_kill9.py and bench/bench_faults.py."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

WORKER_HEADER = "x-opastin-worker"
TOKEN_HEADER = "X-Conversation-Token"


@contextmanager
def fresh_database(admin_url: str, prefix: str = "opastin_dist") -> Iterator[str]:
    """A new PostgreSQL database (and its Rasa tracker database, if Rasa makes one),
    dropped afterwards; yields its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            for database in (name, f"{name}_rasa"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def api_env(*, database_url: str, redis_url: str, state_dir: str, port: int, workers: int, **settings: Any) -> dict[str, str]:
    """Environment of `python -m api` in distributed mode; `settings` are OPASTIN_* names
    without the prefix (rasa_url=..., queue_business_hours=False, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPASTIN_") or k.startswith("OPASTIN_TEST_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        OPASTIN_STATE_DIR=state_dir,
        OPASTIN_API_PORT=str(port),
        OPASTIN_API_WORKERS=str(workers),
        # Load tests of one client address: the per-address limit is not what is tested.
        OPASTIN_RATE_LIMIT_PER_MINUTE="100000",
        OPASTIN_CONVERSATION_RATE_LIMIT_PER_MINUTE="1000",
    )
    for name, value in settings.items():
        env[f"OPASTIN_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def worker_of(response: httpx.Response) -> str:
    return response.headers[WORKER_HEADER]


def pinned_client(url: str, accept: Callable[[str], bool], attempts: int = 200) -> tuple[httpx.Client, str]:
    """A client whose kept-alive connection is served by a worker that `accept`s; the
    kernel hands each new connection to one of the workers."""
    for _ in range(attempts):
        client = httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1))
        try:
            worker = worker_of(client.get("/api/about"))
        except httpx.HTTPError:
            client.close()
            time.sleep(0.2)
            continue
        if accept(worker):
            return client, worker
        client.close()
    raise AssertionError("no connection reached the wanted worker")


def workers_seen(url: str, want: int, seconds: float) -> set[str]:
    """Open new connections until `want` different workers have answered."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while len(seen) < want:
        if time.monotonic() > deadline:
            raise AssertionError(f"only workers {seen} answered within {seconds} s")
        try:
            seen.add(worker_of(httpx.get(url + "/api/about", timeout=5)))
        except httpx.HTTPError:
            time.sleep(0.5)
    return seen


@dataclass
class Event:
    at: float
    name: str
    data: dict[str, Any]


@dataclass
class Stream:
    """An SSE stream read in a daemon thread; `events` grows as they arrive."""

    url: str
    headers: dict[str, str]
    events: list[Event] = field(default_factory=list)
    worker: str = ""
    error: str = ""
    _ready: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, seconds: float = 20) -> Stream:
        threading.Thread(target=self._run, daemon=True).start()
        if not self._ready.wait(seconds):
            raise AssertionError(f"stream {self.url} did not open")
        if self.error:
            raise AssertionError(self.error)
        return self

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client:
                with client.stream("GET", self.url, headers=self.headers) as response:
                    self.worker = response.headers.get(WORKER_HEADER, "")
                    if response.status_code != 200:
                        self.error = f"stream answered {response.status_code}"
                    self._ready.set()
                    name = ""
                    for line in response.iter_lines():
                        if self._stop.is_set():
                            return
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            self.events.append(Event(time.monotonic(), name, json.loads(line[6:])))
        except httpx.HTTPError as error:
            self.error = f"stream failed: {type(error).__name__}"
            self._ready.set()

    def wait_for(self, predicate: Callable[[Event], bool], seconds: float, since: int = 0) -> Event:
        """The first event after index `since` that matches, or fail after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            for event in self.events[since:]:
                if predicate(event):
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching event within {seconds} s; got {[(e.name, e.data) for e in self.events[since:]]}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()


def staff_cookie_headers(token: str, csrf: str) -> dict[str, str]:
    # The staff cookie is Secure and these servers speak plain HTTP on loopback: send it by hand.
    return {"Cookie": f"opastin_session={token}", "X-CSRF-Token": csrf, "Accept": "application/json"}
