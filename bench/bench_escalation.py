"""Escalation latency through the real stack: the API served by uvicorn, real Rasa and the
real action server, a fresh embedded database with the bundled catalogue.

    .venv/bin/python bench/bench_escalation.py [--conversations 50] [--counsellors 10]
                                               [--seconds 90] [--out bench/results/escalation.json]

1. Handover → the counsellor's screen. Every counsellor has the console's queue stream
   open (GET /console/queue/events, SSE). N citizens each ask the bot for a person
   (POST /api/chat "haluan puhua ihmisen kanssa", real Rasa; --with-situation says a
   situation first), started at random moments in the first --handover-window seconds
   (45: Rasa answers about one turn a second on the 2-core machine, see bench_chat). Measured: from sending the handover request until the ticket appears in
   the first counsellor's queue stream (the ticket id is matched to the conversation
   through the database afterwards). Target p95 <= 1 s.
2. Counsellor → citizen relay. The counsellors take the tickets (round robin), every
   citizen keeps its chat stream open (GET /api/chat/{id}/events), and for --seconds each
   citizen sends a message every 6-10 s (uniform, ~8 s); right after the citizen's POST
   returns, the counsellor answers (POST /console/tickets/{id}/reply). Measured: from
   sending the reply until the citizen's stream delivers it (matched by a unique text).
   Target p95 <= 200 ms.

Counsellors send a heartbeat every 20 s, as the console page does. The load generator
(asyncio + httpx) runs in this process next to the API (uvicorn in a thread), so both
share one interpreter and the numbers include that contention. Writes JSON with the
commit and the load average at start and end; targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_chat import drop_work_dir, git_commit, percentile, serve_api  # noqa: E402
from sqlalchemy import select  # noqa: E402

from api.auth import SESSION_COOKIE  # noqa: E402
from api.routes.chat import TOKEN_HEADER  # noqa: E402
from knowledge_base import accounts, counsellors  # noqa: E402
from knowledge_base.bootstrap import ensure_imported, open_store  # noqa: E402
from knowledge_base.models import Handover  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402
from tests.bot_stack import BotStack, start_bot_stack  # noqa: E402

SITUATION = "olen 30 ja haluaisin vaihtaa alaa, mistä saisin neuvoa?"
HANDOVER = "haluan puhua ihmisen kanssa"
THINK_MIN, THINK_MAX = 6.0, 10.0
HEARTBEAT_SECONDS = 20.0
TARGET_HANDOVER_P95_MS = 1000.0
TARGET_RELAY_P95_MS = 200.0
ORGANISATIONS = ("te", "ohjaamo", "integration", "schools", "helsinki")


def stats(values: list[float]) -> dict[str, Any]:
    rnd = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {
        "n": len(values),
        "p50_ms": rnd(percentile(values, 0.5)),
        "p95_ms": rnd(percentile(values, 0.95)),
        "max_ms": rnd(max(values) if values else None),
    }


async def sse(client: httpx.AsyncClient, url: str, headers: dict[str, str], on_event: Any, stop: asyncio.Event) -> None:
    """Read an SSE stream, calling on_event(name, data, arrival) until `stop` is set."""
    async with client.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=None)) as response:
        response.raise_for_status()
        name = "message"
        async for line in response.aiter_lines():
            arrival = time.monotonic()
            if stop.is_set():
                return
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                on_event(name, json.loads(line[6:]), arrival)
                name = "message"


class Counsellor:
    def __init__(self, base: str, token: str, csrf: str) -> None:
        self.client = httpx.AsyncClient(base_url=base, cookies={SESSION_COOKIE: token}, timeout=30)
        self.headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(path, data=data, headers=self.headers)


class Citizen:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.id = ""
        self.token = ""
        self.errors = 0

    async def say(self, text: str) -> dict[str, Any] | None:
        body: dict[str, Any] = {"text": text, "channel": "web"}
        if self.id:
            body["conversation_id"] = self.id
        response = await self.client.post("/api/chat", json=body, headers={TOKEN_HEADER: self.token} if self.token else {})
        if response.status_code != 200:
            self.errors += 1
            return None
        self.id = response.json()["conversation_id"]
        self.token = response.headers.get(TOKEN_HEADER, self.token)
        return dict(response.json())


def make_counsellors(settings: Settings, count: int, chats_each: int) -> list[tuple[str, str]]:
    engine, sessions = open_store(settings)
    now = datetime.now(UTC)
    made = []
    with sessions() as session:
        for index in range(count):
            organisation = ORGANISATIONS[index % len(ORGANISATIONS)]
            user = accounts.add_user(
                session, email=f"bench{index}@example.fi", name=f"Bench {index}", password="bench password 1234",
                roles=[(organisation, "counsellor")], now=now,
            )  # fmt: skip
            principal = accounts.principal_of(user)
            counsellors.update_profile(
                session=session, principal=principal, languages=["fi", "en", "sv"], topics=[], municipalities=[], max_concurrent=chats_each
            )
            counsellors.set_presence(session=session, principal=principal, status="online", now=now)
            made.append(accounts.start_session(session, user.id, now=now, lifetime=timedelta(hours=2)))
        session.commit()
    engine.dispose()
    return made


def ticket_ids(settings: Settings, conversation_ids: list[str]) -> dict[str, int]:
    engine, sessions = open_store(settings)
    with sessions() as session:
        rows = session.execute(select(Handover.conversation_id, Handover.id).where(Handover.conversation_id.in_(conversation_ids)))
        result = {conversation: ticket for conversation, ticket in rows}
    engine.dispose()
    return result


async def run(
    base: str,
    settings: Settings,
    conversations: int,
    seconds: float,
    sessions_: list[tuple[str, str]],
    seed: int,
    window: float,
    with_situation: bool,
) -> dict[str, Any]:
    rng = random.Random(seed)
    stop = asyncio.Event()
    staff = [Counsellor(base, token, csrf) for token, csrf in sessions_]
    first_seen: dict[int, float] = {}
    first_seen_wall: dict[int, float] = {}
    created_wall: dict[int, float] = {}

    def on_queue(name: str, data: dict[str, Any], arrival: float) -> None:
        if name != "queue":
            return
        for row in data.get("waiting", []) + data.get("mine", []):
            if row["id"] not in first_seen:
                first_seen[row["id"]] = arrival
                first_seen_wall[row["id"]] = time.time()
                created_wall[row["id"]] = datetime.fromisoformat(row["created_at"]).timestamp()

    streams = [asyncio.create_task(sse(c.client, "/console/queue/events", {}, on_queue, stop)) for c in staff]

    async def beat() -> None:
        while not stop.is_set():
            await asyncio.gather(*(c.post("/console/heartbeat") for c in staff), return_exceptions=True)
            try:
                await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                pass

    heart = asyncio.create_task(beat())
    await asyncio.sleep(1.0)  # the queue streams are open

    limits = httpx.Limits(max_connections=conversations * 3, max_keepalive_connections=conversations * 2)
    citizen_http = httpx.AsyncClient(base_url=base, timeout=120, limits=limits)
    citizens = [Citizen(citizen_http) for _ in range(conversations)]
    asked: dict[int, float] = {}
    handover_post_ms: list[float] = []

    async def escalate(index: int, citizen: Citizen) -> None:
        await asyncio.sleep(rng.uniform(0, window))
        try:
            if with_situation:
                await citizen.say(SITUATION)
            asked[index] = time.monotonic()
            reply = await citizen.say(HANDOVER)
        except httpx.HTTPError:
            citizen.errors += 1
            return
        handover_post_ms.append((time.monotonic() - asked[index]) * 1000)
        if reply is None or reply["state"] != "queued":
            citizen.errors += 1

    print(f"phase 1: {conversations} citizens ask for a person", flush=True)
    await asyncio.gather(*(escalate(i, c) for i, c in enumerate(citizens)))
    await asyncio.sleep(2.0)
    ids = ticket_ids(settings, [c.id for c in citizens if c.id])
    handover_ms = []
    created_to_screen_ms = [(first_seen_wall[t] - created_wall[t]) * 1000 for t in ids.values() if t in first_seen_wall]
    missing = 0
    for index, citizen in enumerate(citizens):
        ticket = ids.get(citizen.id)
        if ticket is None or ticket not in first_seen or index not in asked:
            missing += 1
            continue
        handover_ms.append((first_seen[ticket] - asked[index]) * 1000)

    # Phase 2: the counsellors take the tickets, the citizens open their streams.
    print(f"phase 2: relay for {seconds:.0f} s", flush=True)
    owner: dict[str, Counsellor] = {}
    for index, citizen in enumerate(citizens):
        ticket = ids.get(citizen.id)
        if ticket is None:
            continue
        counsellor = staff[index % len(staff)]
        response = await counsellor.post(f"/console/tickets/{ticket}/take")
        if response.status_code == 200:
            owner[citizen.id] = counsellor
    sent_at: dict[str, float] = {}
    relay_ms: list[float] = []
    reply_post_ms: list[float] = []
    citizen_post_ms: list[float] = []
    relay_errors = 0

    def on_chat(name: str, data: dict[str, Any], arrival: float) -> None:
        if name == "message" and data.get("author") == "counsellor":
            started = sent_at.pop(data["text"], None)
            if started is not None:
                relay_ms.append((arrival - started) * 1000)

    chat_streams = [
        asyncio.create_task(
            sse(citizen_http, f"/api/chat/{c.id}/events", {TOKEN_HEADER: c.token}, on_chat, stop)
        )
        for c in citizens
        if c.id in owner
    ]
    await asyncio.sleep(1.0)
    deadline = time.monotonic() + seconds

    async def converse(citizen: Citizen) -> None:
        nonlocal relay_errors
        counsellor = owner[citizen.id]
        ticket = ids[citizen.id]
        await asyncio.sleep(rng.uniform(0, THINK_MAX))
        while time.monotonic() < deadline:
            turn = time.monotonic()
            try:
                await citizen.say(f"kysymys {uuid.uuid4().hex[:6]}")
            except httpx.HTTPError:
                citizen.errors += 1
            citizen_post_ms.append((time.monotonic() - turn) * 1000)
            text = f"vastaus {uuid.uuid4().hex}"
            replied = sent_at[text] = time.monotonic()
            try:
                response = await counsellor.post(f"/console/tickets/{ticket}/reply", {"text": text})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            reply_post_ms.append((time.monotonic() - replied) * 1000)
            if not ok:
                relay_errors += 1
                sent_at.pop(text, None)
            await asyncio.sleep(max(0.0, rng.uniform(THINK_MIN, THINK_MAX) - (time.monotonic() - turn)))

    await asyncio.gather(*(converse(c) for c in citizens if c.id in owner))
    await asyncio.sleep(2.0)
    undelivered = len(sent_at)
    stop.set()
    for task in [*streams, *chat_streams, heart]:
        task.cancel()
    await asyncio.gather(*streams, *chat_streams, heart, return_exceptions=True)
    for counsellor in staff:
        await counsellor.client.aclose()
    await citizen_http.aclose()
    return {
        "handover_to_queue_stream": {**stats(handover_ms), "not_seen": missing, "target": f"p95 <= {TARGET_HANDOVER_P95_MS:.0f} ms"},
        "ticket_created_to_queue_stream": stats(created_to_screen_ms),
        "handover_post": stats(handover_post_ms),
        "counsellor_to_citizen_relay": {
            **stats(relay_ms),
            "undelivered": undelivered,
            "errors": relay_errors,
            "target": f"p95 <= {TARGET_RELAY_P95_MS:.0f} ms",
        },
        "counsellor_reply_post": stats(reply_post_ms),
        "citizen_message_post": stats(citizen_post_ms),
        "citizen_errors": sum(c.errors for c in citizens),
        "tickets_taken": len(owner),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--counsellors", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the relay phase")
    parser.add_argument("--handover-window", type=float, default=45.0, help="the handover requests start at random moments in this many seconds")
    parser.add_argument("--with-situation", action="store_true", help="say a situation to the bot before asking for a person (one more Rasa turn each)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "escalation.json")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary state and logs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    load_start = [round(v, 2) for v in os.getloadavg()]
    print(f"load average at start: {load_start} on {os.cpu_count()} cores", flush=True)
    work = Path(tempfile.mkdtemp(prefix="opastin-bench-escalation-"))
    (work / "logs").mkdir()
    settings = Settings(state_dir=work / "state", database_url=None)
    settings.state_dir.mkdir()
    stack: BotStack | None = None
    server = None
    thread = None
    try:
        engine, sessions = open_store(settings)
        ensure_imported(sessions, settings)
        engine.dispose()
        chats_each = -(-args.conversations // args.counsellors)
        sessions_ = make_counsellors(settings, args.counsellors, chats_each)
        stack = start_bot_stack(settings, work / "logs")
        api_settings = stack.settings.model_copy(update={"queue_business_hours": False, "queue_auto_assign": False})
        server, thread, base = serve_api(api_settings)
        print(f"API on {base}", flush=True)
        began = time.monotonic()
        measured = asyncio.run(
            run(base, api_settings, args.conversations, args.seconds, sessions_, args.seed, args.handover_window, args.with_situation)
        )
        result = {
            "commit": git_commit(),
            "settings": {
                "conversations": args.conversations,
                "counsellors": args.counsellors,
                "relay_seconds": args.seconds,
                "handover_window_seconds": args.handover_window,
                "situation_turn_first": args.with_situation,
                "think_seconds": [THINK_MIN, THINK_MAX],
                "database": "sqlite (fresh temporary state_dir)",
                "api": "uvicorn in-process thread, sharing the interpreter with the load generator",
                "cpu_count": os.cpu_count(),
                "python": sys.version.split()[0],
                "load_average": {"start": load_start, "end": [round(v, 2) for v in os.getloadavg()]},
                "wall_seconds": round(time.monotonic() - began, 1),
            },
            **measured,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        for key in ("handover_to_queue_stream", "ticket_created_to_queue_stream", "handover_post", "counsellor_to_citizen_relay", "counsellor_reply_post", "citizen_message_post"):
            row = result[key]
            print(f"{key:<28} n={row['n']:<5} p50={row['p50_ms']} ms  p95={row['p95_ms']} ms  max={row['max_ms']} ms")
        print(f"wrote {args.out}")
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=30)
        if stack is not None:
            stack.stop()
        drop_work_dir(work, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
