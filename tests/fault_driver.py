"""The kill -9 drill: the whole product under `python -m api.supervisor` in distributed
mode (PostgreSQL + Redis, 2 API workers), 20 conversations (some with a counsellor)
that keep writing while Rasa, the action server or an API worker is killed, and an
audit of the database afterwards. tests/test_kill9.py asserts on it; bench/bench_faults.py
prints and stores the same numbers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import accounts, queue, rasa_project
from knowledge_base.db import make_engine, make_sessionmaker
from knowledge_base.models import Conversation, Message
from knowledge_base.settings import REPO_DIR, Settings
from api.supervisor import port_of
from tests.bot_stack import free_port
from tests.processes import children
from tests.distributed_stack import TOKEN_HEADER, api_env, fresh_database, staff_cookie_headers, workers_seen
from tests.queue_factories import staff

START_SECONDS = 300
TEXTS = ["jäin työttömäksi ja olen 24", "missä voin opiskella suomea?", "etsin töitä Helsingistä"]
NOT_ANSWERS = ("bot.one_moment",)  # "one moment" is a holding reply, not an answer
FAILED_TURNS = ("bot.one_moment", "bot.lookup_failed")
MAX_UNANSWERED = 2  # a person who got "one moment" writes once more, then waits


# -- processes ----------------------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Product:
    url: str
    rasa_url: str  # the drill kills the Rasa server on this port
    actions_url: str
    rasa_token: str
    database_url: str
    supervisor: subprocess.Popen[bytes]
    log: Path
    sessions: sessionmaker[Session]
    rasa_engine: Engine
    rasa_servers: int = 1

    def child(self, name: str) -> int:
        """The pid of a service the supervisor runs: 'api', 'actions' or 'rasa' (the Rasa
        server on the port of rasa_url, of the `rasa_servers` the product runs)."""
        marks = {"api": " -m api", "actions": "actions.server", "rasa": "rasa run"}
        for pid in children(self.supervisor.pid):
            line = _cmdline(pid)
            if name == "rasa" and f"--port {port_of(self.rasa_url)} " not in line + " ":
                continue
            if marks[name] in line and (name != "api" or line.rstrip().endswith("-m api")):
                return pid
        raise AssertionError(f"no {name} process under the supervisor")

    def api_workers(self) -> list[int]:
        return [pid for pid in children(self.child("api")) if "spawn_main" in _cmdline(pid)]

    def rasa_up(self) -> bool:
        """Every Rasa server answers."""
        try:
            return all(
                httpx.get(f"{url}/status", params={"token": self.rasa_token}, timeout=3).status_code == 200
                for url in rasa_project.rasa_urls(Settings(rasa_url=self.rasa_url, rasa_servers=self.rasa_servers))
            )
        except httpx.HTTPError:
            return False

    def actions_up(self) -> bool:
        try:
            return httpx.get(f"{self.actions_url}/health", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def rasa_user_events(self) -> Counter[str]:
        """User messages in Rasa's tracker store (its own PostgreSQL database), per conversation."""
        with self.rasa_engine.connect() as connection:
            rows = connection.execute(text("SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' GROUP BY sender_id"))
            return Counter({sender: count for sender, count in rows})


def _wait(condition: Callable[[], object], seconds: float, what: str, product: Product | None = None) -> float:
    start = time.monotonic()
    while not condition():
        if product is not None and product.supervisor.poll() is not None:
            raise AssertionError(f"the supervisor exited: {product.log.read_text()[-3000:]}")
        if time.monotonic() - start > seconds:
            tail = product.log.read_text()[-3000:] if product else ""
            raise AssertionError(f"{what} not within {seconds} s\n{tail}")
        time.sleep(0.2)
    return time.monotonic() - start


@contextmanager
def running_product(admin_url: str, redis_url: str, state_dir: Path, workers: int = 2, rasa_servers: int = 1) -> Iterator[Product]:
    """The product as `scripts/run.sh` runs it (the supervisor), on free ports, over a
    fresh PostgreSQL database, with the Rasa model copied in (no training)."""
    repo = Settings()
    models = state_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    rasa_project.train(repo)  # a no-op when set-up trained the model
    for name in (f"{rasa_project.MODEL_NAME}.tar.gz", f"{rasa_project.MODEL_NAME}.fingerprint"):
        shutil.copy(rasa_project.model_dir(repo) / name, models / name)
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    token = "kill9-" + uuid.uuid4().hex
    with fresh_database(admin_url, prefix="opastin_kill9") as database_url:
        env = api_env(
            database_url=database_url, redis_url=redis_url, state_dir=str(state_dir), port=api_port, workers=workers,
            rasa_url=f"http://127.0.0.1:{rasa_port}", rasa_servers=rasa_servers,
            action_server_url=f"http://127.0.0.1:{actions_port}", rasa_token=token,
            retry_interval_seconds=0.5, queue_business_hours=False, queue_auto_assign=False,
        )  # fmt: skip
        log = state_dir / "supervisor.log"
        with log.open("ab") as out:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", "api.supervisor"], cwd=REPO_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        settings = Settings(database_url=database_url, state_dir=state_dir)
        engine = make_engine(settings)
        rasa_engine = create_engine(database_url + "_rasa")
        product = Product(
            f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", token,
            database_url, supervisor, log, make_sessionmaker(engine), rasa_engine, rasa_servers,
        )  # fmt: skip
        try:
            _wait(product.rasa_up, START_SECONDS, "Rasa up", product)
            _wait(product.actions_up, START_SECONDS, "action server up", product)
            workers_seen(product.url, workers, START_SECONDS)
            yield product
        finally:
            supervisor.send_signal(signal.SIGTERM)
            try:
                supervisor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                supervisor.kill()
                supervisor.wait()
            rasa_engine.dispose()
            engine.dispose()


# -- conversations ------------------------------------------------------------------------


@dataclass
class Chat:
    id: str
    token: str
    ticket: int | None = None  # with a counsellor
    sent: list[str] = field(default_factory=list)  # client message ids, in order


@dataclass
class Driver:
    product: Product
    chats: list[Chat] = field(default_factory=list)
    staff_headers: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    skipped: int = 0
    counsellor_replies: int = 0
    counsellor_errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def send(self, chat: Chat, text: str, seconds: float = 90) -> dict[str, Any]:
        """One message, retried with the same client id until the API takes it (a retry
        after a lost answer is answered from the stored message, never stored twice)."""
        client_id = uuid.uuid4().hex
        chat.sent.append(client_id)
        deadline = time.monotonic() + seconds
        while True:
            try:
                response = httpx.post(
                    self.product.url + "/api/chat",
                    json={"conversation_id": chat.id, "text": text, "client_message_id": client_id},
                    headers={TOKEN_HEADER: chat.token}, timeout=60,
                )  # fmt: skip
                if response.status_code == 200:
                    return dict(response.json())
                failure = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                failure = type(error).__name__
            if time.monotonic() > deadline:
                raise AssertionError(f"message to {chat.id} not taken within {seconds} s: {failure}")
            self.retries += 1
            time.sleep(0.3)

    def open(self, count: int, with_counsellor: int) -> None:
        def first(_i: int) -> Chat:
            client_id = uuid.uuid4().hex
            response = httpx.post(self.product.url + "/api/chat", json={"text": "hei", "client_message_id": client_id}, timeout=60)
            assert response.status_code == 200, response.text
            return Chat(response.json()["conversation_id"], response.headers[TOKEN_HEADER], sent=[client_id])

        with ThreadPoolExecutor(max_workers=count) as pool:
            self.chats = list(pool.map(first, range(count)))
        now = datetime.now(UTC)
        config = queue.QueueConfig(business_hours=False, auto_assign=False)
        with self.product.sessions() as session:
            counsellor = staff(session, [("te", "counsellor")], now=now, languages=["fi"], online=True, max_concurrent=with_counsellor)
            token, csrf = accounts.start_session(session, counsellor.user_id, now=now, lifetime=timedelta(hours=2))
            for chat in self.chats[:with_counsellor]:
                conversation = session.get(Conversation, chat.id)
                assert conversation is not None
                ticket = queue.open_ticket(session=session, conversation=conversation, summary={"language": "fi"}, now=now, config=config)
                queue.take(session=session, handover_id=ticket.id, principal=counsellor, now=now, config=config)
                chat.ticket = ticket.id
            session.commit()
        self.staff_headers = staff_cookie_headers(token, csrf)

    def _unanswered(self) -> Counter[str]:
        with self.product.sessions() as session:
            rows = session.execute(
                select(Message.conversation_id, func.count()).where(Message.status == "pending").group_by(Message.conversation_id)
            )
            return Counter({conversation: count for conversation, count in rows})

    def round(self, text: str) -> None:
        """Every conversation writes once (unless it already waits for two answers); the
        counsellor answers each of theirs and keeps their console alive."""
        unanswered = self._unanswered()
        ready = [chat for chat in self.chats if unanswered[chat.id] < MAX_UNANSWERED]
        self.skipped += len(self.chats) - len(ready)
        with ThreadPoolExecutor(max_workers=len(self.chats)) as pool:
            list(pool.map(lambda chat: self.send(chat, text), ready))
        for chat in self.chats:
            if chat.ticket is None:
                continue
            try:
                # Not retried: a reply whose answer was lost may have been stored.
                response = httpx.post(
                    f"{self.product.url}/console/tickets/{chat.ticket}/reply", data={"text": "Neuvoja vastaa."},
                    headers=self.staff_headers, timeout=30,
                )  # fmt: skip
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            self.counsellor_replies += ok
            self.counsellor_errors += not ok
        try:
            httpx.post(f"{self.product.url}/console/heartbeat", headers=self.staff_headers, timeout=10)
        except httpx.HTTPError:
            pass

    def start(self, pause: float) -> None:
        def loop() -> None:
            turn = 0
            while not self._stop.is_set():
                self.round(TEXTS[turn % len(TEXTS)])
                turn += 1
                self._stop.wait(pause)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=180)

    def pending(self) -> int:
        return sum(self._unanswered().values())


# -- the drill ------------------------------------------------------------------------------


@dataclass
class Recovery:
    process: str
    back_seconds: float  # until the restarted process answers again
    cleared_seconds: float  # until every message sent so far was answered


def kill(product: Product, driver: Driver, name: str) -> Recovery:
    """kill -9 one process while the conversations go on; wait until it is back and the
    backlog is answered."""
    if name == "api-worker":
        before = product.api_workers()
        assert len(before) >= 2, before
        victim = before[0]
    else:
        victim = product.child(name)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    if name == "api-worker":
        back = lambda: victim not in product.api_workers() and len(product.api_workers()) >= 2 and len(workers_seen(product.url, 2, 60)) == 2  # noqa: E731
    elif name == "rasa":
        back = lambda: product.child("rasa") != victim and product.rasa_up()  # noqa: E731
    else:
        back = lambda: product.child("actions") != victim and product.actions_up()  # noqa: E731
    time.sleep(0.5)  # the process is gone before it is looked for again
    _wait(lambda: _safe(back), START_SECONDS, f"{name} back", product)
    back_seconds = time.monotonic() - killed
    _wait(lambda: driver.pending() == 0, 240, f"backlog after the {name} kill answered", product)
    return Recovery(name, back_seconds, time.monotonic() - killed)


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except (AssertionError, httpx.HTTPError):
        return False


@dataclass
class Audit:
    sent: int
    stored: int
    lost: int
    stored_twice: int
    unanswered: int
    answered_twice: int
    forwarded: int
    rasa_turns: int
    rasa_duplicates: int
    final_turns_answered: int
    final_turns: int


def audit(product: Product, driver: Driver) -> Audit:
    """Everything from the database: each sent message stored once and answered once."""
    sent_ids = {client_id: chat for chat in driver.chats for client_id in chat.sent}
    with product.sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in", Message.conversation_id.in_([c.id for c in driver.chats]))).all()
        replies: dict[int, list[Message]] = {}
        for message in session.scalars(select(Message).where(Message.reply_to.in_([m.id for m in inbound]))):
            replies.setdefault(message.reply_to or 0, []).append(message)
    stored = Counter(m.client_message_id for m in inbound)
    unanswered = answered_twice = forwarded = 0
    processed_by_bot: Counter[str] = Counter()
    for message in inbound:
        answers = [r for r in replies.get(message.id, []) if (r.payload or {}).get("key") not in NOT_ANSWERS]
        if message.status == "forwarded":
            forwarded += 1
            continue
        processed_by_bot[message.conversation_id] += 1
        if message.status != "processed" or not answers:
            unanswered += 1
        elif len({r.text for r in answers}) != len(answers):
            answered_twice += 1
    rasa = product.rasa_user_events()
    duplicates = sum(max(0, rasa[c.id] - processed_by_bot[c.id]) for c in driver.chats)
    # The last turn of every bot conversation got a real answer from the bot.
    last = {m.client_message_id: m for m in inbound}
    bot_chats = [c for c in driver.chats if c.ticket is None]
    answered = 0
    for chat in bot_chats:
        keys = [(r.payload or {}).get("key") for r in replies.get(last[chat.sent[-1]].id, [])]
        answered += bool(keys) and not any(key in FAILED_TURNS for key in keys)
    return Audit(
        sent=len(sent_ids),
        stored=sum(1 for client_id in sent_ids if stored[client_id] >= 1),
        lost=sum(1 for client_id in sent_ids if stored[client_id] == 0),
        stored_twice=sum(1 for count in stored.values() if count > 1),
        unanswered=unanswered,
        answered_twice=answered_twice,
        forwarded=forwarded,
        rasa_turns=sum(rasa[c.id] for c in driver.chats),
        rasa_duplicates=duplicates,
        final_turns_answered=answered,
        final_turns=len(bot_chats),
    )


@dataclass
class DrillResult:
    recoveries: list[Recovery]
    audit: Audit
    seconds: float


def drill(product: Product, conversations: int = 20, with_counsellor: int = 4, pause: float = 1.0,
          kills: tuple[str, ...] = ("api-worker", "actions", "rasa")) -> DrillResult:  # fmt: skip
    started = time.monotonic()
    driver = Driver(product)
    driver.open(conversations, with_counsellor)
    driver.start(pause)
    recoveries = []
    try:
        for name in kills:
            time.sleep(2)  # conversations in full flow when the process dies
            recoveries.append(kill(product, driver, name))
    finally:
        driver.stop()
    # One more turn in every conversation: each continues with a real answer.
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        list(pool.map(lambda chat: driver.send(chat, "missä voin opiskella suomea?"), driver.chats))
    _wait(lambda: driver.pending() == 0, 60, "final turns answered", product)
    return DrillResult(recoveries, audit(product, driver), time.monotonic() - started)
