"""Distributed mode for real: `python -m api` with DATABASE_URL (a fresh PostgreSQL
database), REDIS_URL and two workers, talking to the session's Rasa and action server.
Each worker names itself in `X-Opastin-Worker`, so every check below proves that the
change was made on one worker and seen on the other.

The streams also read on timers (a chat stream every 15 s, a waiting citizen's every
5 s, a console stream every second), so the cross-worker checks also bound the delay:
only a Redis wake-up arrives that fast."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import accounts, queue
from knowledge_base.db import make_engine, make_sessionmaker
from knowledge_base.models import Message, Service
from knowledge_base.settings import REPO_DIR, Settings
from tests.bot_stack import BotStack, free_port
from tests.distributed_stack import (
    TOKEN_HEADER,
    Stream,
    api_env,
    fresh_database,
    pinned_client,
    staff_cookie_headers,
    worker_of,
    workers_seen,
)
from tests.live_server import wait_for
from tests.queue_factories import citizen, staff

pytestmark = [pytest.mark.slow, pytest.mark.distributed]
START_SECONDS = 180
WAKE_SECONDS = 1.5  # far below the streams' own timers (5 s waiting, 15 s otherwise)


@dataclass
class DistributedApi:
    url: str
    sessions: sessionmaker[Session]
    settings: Settings
    process: subprocess.Popen[bytes]
    log: Path
    bot: BotStack


@pytest.fixture(scope="module")
def dist_api(
    postgres_server: str, redis_url: str, bot_stack: BotStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DistributedApi]:
    state = tmp_path_factory.mktemp("distributed")
    port = free_port()
    with fresh_database(postgres_server) as database_url:
        env = api_env(
            database_url=database_url, redis_url=redis_url, state_dir=str(state), port=port, workers=2,
            rasa_url=bot_stack.settings.rasa_url, rasa_servers=1, rasa_token=bot_stack.settings.rasa_token,
            action_server_url=bot_stack.settings.action_server_url, retry_interval_seconds=0.5,
            queue_business_hours=False, queue_auto_assign=False,
        )  # fmt: skip
        log = state / "api.log"
        with log.open("ab") as out:
            process = subprocess.Popen([sys.executable, "-m", "api"], cwd=REPO_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        settings = Settings(database_url=database_url, state_dir=state)
        engine = make_engine(settings)
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    if httpx.get(url + "/api/about", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"API did not start: {log.read_text()[-3000:]}"
                time.sleep(0.5)
            workers_seen(url, 2, START_SECONDS)
            yield DistributedApi(url, make_sessionmaker(engine), settings, process, log, bot_stack)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            engine.dispose()


def _start(api: DistributedApi, text: str) -> tuple[str, str, httpx.Response]:
    response = httpx.post(api.url + "/api/chat", json={"text": text, "client_message_id": uuid.uuid4().hex}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["conversation_id"], response.headers[TOKEN_HEADER], response


def _chat_stream(api: DistributedApi, conversation_id: str, token: str, after: int = 0) -> Stream:
    return Stream(f"{api.url}/api/chat/{conversation_id}/events?after={after}", {TOKEN_HEADER: token}).start()


def test_several_workers_need_postgres_and_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(OPASTIN_API_WORKERS="2", OPASTIN_STATE_DIR=str(tmp_path), OPASTIN_API_PORT=str(free_port()))
    done = subprocess.run([sys.executable, "-m", "api"], cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: OPASTIN_API_WORKERS=2 needs DATABASE_URL (PostgreSQL; SQLite with several workers is not supported) and REDIS_URL"
    )


def test_a_message_posted_on_one_worker_reaches_a_stream_on_the_other(dist_api: DistributedApi) -> None:
    conversation_id, token, first = _start(dist_api, "hei")
    last_seq = first.json()["messages"][-1]["seq"]
    stream = _chat_stream(dist_api, conversation_id, token, after=last_seq)
    poster, poster_worker = pinned_client(dist_api.url, lambda worker: worker != stream.worker)
    try:
        for turn, text in enumerate(["jäin työttömäksi ja olen 24", "missä voin opiskella suomea?"]):
            seen = len(stream.events)
            sent = time.monotonic()
            response = poster.post(
                "/api/chat", json={"conversation_id": conversation_id, "text": text, "client_message_id": f"m{turn}"},
                headers={TOKEN_HEADER: token},
            )  # fmt: skip
            answered = time.monotonic()
            assert response.status_code == 200 and worker_of(response) == poster_worker != stream.worker
            mine = stream.wait_for(lambda e: e.name == "message" and e.data["author"] == "user" and e.data["text"] == text, 10, seen)
            bot = response.json()["messages"][-1]
            relayed = stream.wait_for(lambda e: e.name == "message" and e.data["seq"] == bot["seq"], 10, seen)
            assert relayed.data["text"] == bot["text"]
            print(f"turn {turn}: user message on the other worker's stream after {mine.at - sent:.3f} s, "
                  f"bot reply {relayed.at - answered:.3f} s after the POST returned")  # fmt: skip
            assert mine.at - sent < WAKE_SECONDS
            assert relayed.at - answered < WAKE_SECONDS
    finally:
        stream.stop()
        poster.close()


@pytest.fixture(scope="module")
def counsellor(dist_api: DistributedApi) -> tuple[str, str]:
    """(session token, CSRF) of an online counsellor of TE-palvelut who speaks Finnish."""
    now = datetime.now(UTC)
    with dist_api.sessions() as session:
        principal = staff(session, [("te", "counsellor")], now=now, languages=["fi"], online=True, max_concurrent=5)
        made = accounts.start_session(session, principal.user_id, now=now, lifetime=timedelta(hours=1))
        session.commit()
    return made


def test_queue_changes_and_counsellor_replies_cross_workers(dist_api: DistributedApi, counsellor: tuple[str, str]) -> None:
    config = queue.QueueConfig(business_hours=False, auto_assign=False)
    now = datetime.now(UTC)
    tickets = []
    with dist_api.sessions() as session:
        for i in range(3):
            conversation, token = citizen(session, now=now + timedelta(seconds=i))
            ticket = queue.open_ticket(session=session, conversation=conversation, summary={"language": "fi"}, now=now + timedelta(seconds=i), config=config)
            tickets.append((ticket.id, conversation.id, token))
        session.commit()
    last_id, last_conversation, last_token = tickets[-1]
    waiting = _chat_stream(dist_api, last_conversation, last_token)
    console = Stream(f"{dist_api.url}/console/queue/events", staff_cookie_headers(*counsellor)).start()
    staff_client, staff_worker = pinned_client(dist_api.url, lambda worker: worker != waiting.worker)
    headers = staff_cookie_headers(*counsellor)
    try:
        first = waiting.wait_for(lambda e: e.name == "queue", 10)
        start_position = first.data["position"]
        assert first.data["state"] == "waiting" and start_position >= 3
        # Every ticket taken ahead moves the waiting citizen up, on a stream held by the other worker.
        for step, (ticket_id, _conversation, _token) in enumerate(tickets[:2], start=1):
            seen, console_seen = len(waiting.events), len(console.events)
            taken_at = time.monotonic()
            taken = staff_client.post(f"/console/tickets/{ticket_id}/take", headers=headers)
            assert taken.status_code == 200, taken.text
            moved = waiting.wait_for(lambda e: e.name == "queue" and e.data["position"] == start_position - step, 10, seen)
            console_event = console.wait_for(lambda e: e.name == "queue", 10, console_seen)
            print(f"take {step}: waiting citizen's stream {moved.at - taken_at:.3f} s, console stream {console_event.at - taken_at:.3f} s")
            assert moved.at - taken_at < WAKE_SECONDS
        # Their own ticket is taken; the counsellor's reply reaches them across workers.
        assert staff_client.post(f"/console/tickets/{last_id}/take", headers=headers).status_code == 200
        seen = len(waiting.events)
        sent = time.monotonic()
        replied = staff_client.post(f"/console/tickets/{last_id}/reply", data={"text": "Hei, olen neuvoja. Miten voin auttaa?"}, headers=headers)
        assert replied.status_code == 200 and worker_of(replied) == staff_worker != waiting.worker
        relayed = waiting.wait_for(lambda e: e.name == "message" and e.data["author"] == "counsellor", 10, seen)
        print(f"counsellor reply on the citizen's stream after {relayed.at - sent:.3f} s")
        assert relayed.data["text"] == "Hei, olen neuvoja. Miten voin auttaa?"
        assert relayed.at - sent < WAKE_SECONDS
    finally:
        waiting.stop()
        console.stop()
        staff_client.close()


def _rasa_user_events(bot: BotStack) -> Counter[str]:
    """How many user messages Rasa's tracker store holds per conversation."""
    path = bot.settings.state_dir / "rasa-tracker.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' GROUP BY sender_id")
        return Counter(dict(rows.fetchall()))


def test_twenty_conversations_on_two_workers_get_each_message_answered_once(dist_api: DistributedApi) -> None:
    texts = ["hei", "jäin työttömäksi", "olen 24 vuotta ja asun Helsingissä"]
    workers: Counter[str] = Counter()

    def post(body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        # A client per request: new connections, spread over both workers by the kernel.
        response = httpx.post(dist_api.url + "/api/chat", json=body, headers={TOKEN_HEADER: token} if token else {}, timeout=120)
        assert response.status_code == 200, response.text
        workers[worker_of(response)] += 1
        return {**response.json(), "token": response.headers.get(TOKEN_HEADER, token)}

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        opened = list(pool.map(lambda i: post({"text": texts[0], "client_message_id": f"c{i}-0"}), range(20)))
        # Both later messages of a conversation at once, most likely on different workers.
        later = [
            ({"conversation_id": c["conversation_id"], "text": texts[n], "client_message_id": f"c{i}-{n}"}, c["token"])
            for i, c in enumerate(opened)
            for n in (1, 2)
        ]
        list(pool.map(lambda item: post(*item), later))
    conversations = [c["conversation_id"] for c in opened]

    def settled() -> bool:
        with dist_api.sessions() as session:
            return not session.scalar(
                select(func.count()).where(Message.conversation_id.in_(conversations), Message.status == "pending")
            )

    wait_for(settled, seconds=60, interval=0.5)
    elapsed = time.monotonic() - started
    rasa = _rasa_user_events(dist_api.bot)
    with dist_api.sessions() as session:
        rows = session.scalars(select(Message).where(Message.conversation_id.in_(conversations)).order_by(Message.conversation_id, Message.seq)).all()
    inbound = [m for m in rows if m.direction == "in"]
    assert len(inbound) == 60 and all(m.status == "processed" for m in inbound)
    replies: dict[int, list[Message]] = {m.id: [] for m in inbound}
    for message in rows:
        if message.reply_to is not None:
            replies[message.reply_to].append(message)
    for message in inbound:
        answers = [r for r in replies[message.id] if r.payload.get("key") != "bot.one_moment"]
        assert answers, f"message {message.id} has no answer"
        assert len({r.text for r in answers}) == len(answers), f"message {message.id} answered twice"
    for conversation_id in conversations:
        seqs = [m.seq for m in rows if m.conversation_id == conversation_id]
        assert seqs == list(range(1, len(seqs) + 1)), "message numbers taken twice or skipped"
        assert rasa[conversation_id] == 3, f"Rasa got {rasa[conversation_id]} user messages for 3 sent"
    print(f"60 messages in 20 conversations answered once each in {elapsed:.1f} s; requests per worker {dict(workers)}")
    assert len(workers) == 2


def test_publish_on_one_worker_is_found_by_search_on_the_other(dist_api: DistributedApi) -> None:
    now = datetime.now(UTC)
    people = {}
    with dist_api.sessions() as session:
        for role in ("editor", "approver"):
            user = accounts.add_user(session, email=f"dist-{role}@x.fi", name=role, password="correct horse battery staple", roles=[("helsinki", role)], now=now)
            people[role] = staff_cookie_headers(*accounts.start_session(session, user.id, now=now, lifetime=timedelta(hours=1)))
        service = session.scalars(
            select(Service.id).where(Service.organisation_id == "helsinki", Service.status == "published").order_by(Service.id).offset(43).limit(1)
        ).one()
        session.commit()
    marker = "Canoe building workshop for young adults"
    publisher, publisher_worker = pinned_client(dist_api.url, lambda worker: True)
    # Pinned once the publisher is done: an idle connection is closed after 5 s.
    searcher, searcher_worker = pinned_client(dist_api.url, lambda worker: worker != publisher_worker)
    try:
        def call(who: str, method: str, path: str, **kwargs: Any) -> Any:
            response = publisher.request(method, path, headers=people[who], **kwargs)
            assert response.status_code < 300 and worker_of(response) == publisher_worker, response.text
            return response.json()

        def found() -> bool:
            response = searcher.get("/api/search", params={"q": marker, "lang": "en", "top": 5})
            assert worker_of(response) == searcher_worker
            return any(hit["id"] == service for hit in response.json()["results"])

        assert not found()
        searcher.close()
        draft = call("editor", "POST", f"/api/content/services/{service}/drafts")
        content = draft["content"]
        content["texts"].setdefault("en", {"name": "", "summary": "", "description": "", "synonyms": "", "internal_instructions": ""})
        content["texts"]["en"].update(name=marker, summary="Build your own canoe with an instructor in a free workshop.")
        call("editor", "PUT", f"/api/content/versions/{draft['id']}", json={"lock": draft["lock"], "content": content})
        call("editor", "POST", f"/api/content/versions/{draft['id']}/submit")
        call("approver", "POST", f"/api/content/versions/{draft['id']}/publish")
        published = time.monotonic()
        searcher, searcher_worker = pinned_client(dist_api.url, lambda worker: worker != publisher_worker)
        wait_for(found, seconds=5, interval=0.2)
        print(f"published on worker {publisher_worker}, found on worker {searcher_worker} after {time.monotonic() - published:.2f} s")
    finally:
        publisher.close()
        searcher.close()
