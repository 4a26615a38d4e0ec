"""Bot turn latency through the real stack: the API served by uvicorn, real Rasa and the
real action server, over a fresh embedded database holding the bundled catalogue.

    .venv/bin/python bench/bench_chat.py [--conversations 1,20] [--seconds 60]
                                         [--throughput 20,50,100] [--throughput-seconds 20]
                                         [--out bench/results/chat.json]

Rasa and the action server are started once (tests/bot_stack.py: trains when the model is
stale, copies it, free loopback ports). The API runs in this process: uvicorn in a thread,
the load generator (asyncio + httpx) in the main thread, so both share one interpreter.

Latency levels: N simulated users, each its own conversation (POST /api/chat; the first
reply gives the conversation id and the X-Conversation-Token header). A user's first turn
comes at a random moment in the first 8 s, then one turn every 6-10 s (uniform), counted
from when the previous turn was sent (if a reply took longer, the next turn goes at once).
Users cycle through TURNS, each starting at a random place. Every turn's wall latency is
recorded; no new turn starts after --seconds, turns in flight are waited for and counted.

Throughput probe: N users each sending the next turn as soon as the previous answer
arrives (closed loop) for --throughput-seconds; turns/s counts bot answers completed in
the window (not "one moment" replies, which the JSON counts separately). "Levels off" is the first level gaining less than 10 % over the one before.

Errors: transport errors and non-200 answers. "Degraded": a 200 whose reply is the
"one moment" (Rasa unavailable) or "lookup failed" (action server failed) message.
A conversation handed over to a counsellor (state != bot) is replaced by a new one.

RSS: VmRSS (and peak VmHWM) from /proc of Rasa and the action server (with their child
processes) and of this process (API + search models + load generator); psutil is used
when installed. Target to compare against, reported and not asserted: p95 <= 300 ms at
20 conversations on 2 cores. Writes the table's data as JSON with the commit (read from
.git, without running git) and the load average at start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from api.routes.chat import TOKEN_HEADER  # noqa: E402
from knowledge_base.bootstrap import ensure_imported, open_store  # noqa: E402
from knowledge_base.i18n import Catalogue  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402
from tests.bot_stack import BotStack, free_port, start_bot_stack  # noqa: E402
from tests.processes import descendants, status_kb  # noqa: E402

# A small cycle of realistic turns: situations in five languages, the short answers to the
# bot's follow-up questions, a thank-you and an information question.
TURNS = [
    "jäin työttömäksi viime viikolla ja tarvitsen apua työnhakuun",
    "olen 24",
    "Helsinki",
    "I'm 19 and I have no idea what I should study",
    "thanks",
    "jag flyttade nyss till Finland och vill lära mig finska, vilka kurser finns?",
    "انتقلت إلى فنلندا قبل شهرين وأبحث عن عمل، أين أجد المساعدة؟",
    "я недавно переехал в Финляндию и ищу курсы финского языка",
    "what are the opening hours of the employment services?",
]
FIRST_TURN_WINDOW = 8.0
THINK_MIN, THINK_MAX = 6.0, 10.0
TARGET_P95_MS = 300.0
TARGET_CONVERSATIONS = 20
LEVEL_OFF_GAIN = 0.10
REQUEST_TIMEOUT = 60.0
SEED = 20251


# -- measurements --------------------------------------------------------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    degraded: int = 0
    handovers: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    by_text: dict[str, list[float]] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(tally: Tally) -> dict[str, Any]:
    values = tally.latencies_ms
    rnd = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {
        "turns": len(values),
        "p50_ms": rnd(percentile(values, 0.50)),
        "p95_ms": rnd(percentile(values, 0.95)),
        "max_ms": rnd(max(values) if values else None),
        "mean_ms": rnd(statistics.fmean(values) if values else None),
        "errors": tally.errors,
        "error_kinds": tally.error_kinds,
        "degraded": tally.degraded,
        "handovers": tally.handovers,
        "p50_ms_by_turn": {text: rnd(percentile(ms, 0.50)) for text, ms in tally.by_text.items()},
    }


# -- simulated users -----------------------------------------------------------------------


class User:
    """One conversation: sends turns and records each one's wall latency."""

    def __init__(self, client: httpx.AsyncClient, base: str, rng: random.Random, trouble: set[str], tally: Tally) -> None:
        self.client = client
        self.base = base
        self.rng = rng
        self.trouble = trouble
        self.tally = tally
        self.position = rng.randrange(len(TURNS))
        self.conversation_id: str | None = None
        self.token: str | None = None
        self.last_degraded = False

    async def turn(self) -> float | None:
        """Send the next turn; its latency in ms, or None when it failed."""
        text = TURNS[self.position % len(TURNS)]
        self.position += 1
        body: dict[str, Any] = {"text": text, "channel": "web"}
        headers = {}
        if self.conversation_id is not None:
            body["conversation_id"] = self.conversation_id
            headers[TOKEN_HEADER] = self.token or ""
        started = time.perf_counter()
        try:
            response = await self.client.post(f"{self.base}/api/chat", json=body, headers=headers)
        except httpx.HTTPError as error:
            self.tally.error(type(error).__name__)
            return None
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            self.tally.error(f"HTTP {response.status_code}")
            return None
        reply = response.json()
        if self.conversation_id is None:
            self.conversation_id = reply["conversation_id"]
            self.token = response.headers.get(TOKEN_HEADER)
        self.last_degraded = any(message["text"] in self.trouble for message in reply["messages"])
        if self.last_degraded:
            self.tally.degraded += 1
        if reply["state"] != "bot":  # handed over: the bot no longer answers, start afresh
            self.tally.handovers += 1
            self.conversation_id = self.token = None
        self.tally.latencies_ms.append(elapsed)
        self.tally.by_text.setdefault(text, []).append(elapsed)
        return elapsed


async def paced_user(user: User, rng: random.Random, start: float, deadline: float) -> None:
    send_at = start + rng.uniform(0, FIRST_TURN_WINDOW)
    loop = asyncio.get_running_loop()
    while send_at < deadline:
        await asyncio.sleep(max(0.0, send_at - loop.time()))
        sent = loop.time()
        await user.turn()
        send_at = sent + rng.uniform(THINK_MIN, THINK_MAX)


async def closed_loop_user(user: User, deadline: float, completed: list[int]) -> None:
    """completed[0]: bot answers in the window; completed[1]: every 200 reply, "one moment" included."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        latency = await user.turn()
        if latency is None:
            await asyncio.sleep(0.05)  # don't spin on a failing server
            continue
        if loop.time() <= deadline:
            completed[1] += 1
            if not user.last_degraded:
                completed[0] += 1


def make_client(users: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=users + 10, max_keepalive_connections=users + 10)
    return httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT)


async def latency_level(base: str, users: int, seconds: float, trouble: set[str], seed: int) -> dict[str, Any]:
    tally = Tally()
    rng = random.Random(seed)
    async with make_client(users) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + seconds
        tasks = [
            paced_user(User(client, base, random.Random(rng.random()), trouble, tally), random.Random(rng.random()), start, deadline)
            for _ in range(users)
        ]
        await asyncio.gather(*tasks)
        wall = loop.time() - start
    return {"conversations": users, "seconds": seconds, "wall_seconds": round(wall, 1), **summary(tally)}


async def throughput_level(base: str, users: int, seconds: float, trouble: set[str], seed: int) -> dict[str, Any]:
    tally = Tally()
    rng = random.Random(seed)
    completed = [0, 0]
    async with make_client(users) as client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        await asyncio.gather(
            *(closed_loop_user(User(client, base, random.Random(rng.random()), trouble, tally), deadline, completed) for _ in range(users))
        )
    return {
        "users": users,
        "seconds": seconds,
        "turns_per_s": round(completed[0] / seconds, 2),
        "replies_per_s_incl_degraded": round(completed[1] / seconds, 2),
        **summary(tally),
    }


async def warm_up(base: str, trouble: set[str]) -> Tally:
    """Every turn once, so first-call costs (model loading, caches) are not measured."""
    tally = Tally()
    async with make_client(1) as client:
        user = User(client, base, random.Random(SEED), trouble, tally)
        user.position = 0
        for _ in TURNS:
            await user.turn()
    return tally


# -- processes and memory ------------------------------------------------------------------


def rss_mb(pid: int | None, with_children: bool = True) -> dict[str, float] | None:
    """Current and peak resident memory of a process and its descendants, in MB."""
    if pid is None:
        return None
    pids = [pid, *(descendants(pid) if with_children else [])]
    current = sum(status_kb(p, "VmRSS") for p in pids) / 1024
    peak = sum(status_kb(p, "VmHWM") for p in pids) / 1024
    return {"rss": round(current, 1), "peak": round(peak, 1), "processes": len(pids)}


def memory(stack: BotStack) -> dict[str, Any]:
    return {
        "rasa": rss_mb(stack.rasa.pid if stack.rasa else None),
        "action_server": rss_mb(stack.actions.pid if stack.actions else None),
        "bench_process_api_and_load": rss_mb(os.getpid(), with_children=False),
    }


def git_commit() -> str | None:
    """HEAD's commit, read from .git (loose ref or packed-refs), without running git."""
    try:
        git = ROOT / ".git"
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = Path(git.read_text().split(":", 1)[1].strip())
        common = git
        if (git / "commondir").exists():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(":", 1)[1].strip()
        for base in (git, common):
            if (base / ref).exists():
                return (base / ref).read_text().strip() or None
        packed = common / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        pass
    return None


# -- the API in this process ---------------------------------------------------------------


def serve_api(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before /api/about answered")
        try:
            if httpx.get(f"{base}/api/about", timeout=2).status_code == 200:
                return server, thread, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("/api/about did not answer within 300 s")


def trouble_texts() -> set[str]:
    catalogue = Catalogue.load()
    texts = set()
    for language in catalogue.languages():
        for key in ("bot.one_moment", "bot.lookup_failed"):
            try:
                texts.add(catalogue.text(key, language))
            except Exception:  # noqa: BLE001 - a missing translation just isn't matched
                pass
    return texts


# -- report --------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_report(result: dict[str, Any]) -> None:
    print()
    print("Turn latency (paced users, one turn every 6-10 s)")
    print(f"{'conversations':>13} {'turns':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6} {'degraded':>8}")
    for row in result["levels"]:
        print(
            f"{row['conversations']:>13} {row['turns']:>6} {fmt(row['p50_ms']):>7} {fmt(row['p95_ms']):>7}"
            f" {fmt(row['max_ms']):>7} {row['errors']:>6} {row['degraded']:>8}"
        )
    target = next((r for r in result["levels"] if r["conversations"] == TARGET_CONVERSATIONS), None)
    if target and target["p95_ms"] is not None:
        verdict = "meets" if target["p95_ms"] <= TARGET_P95_MS else "misses"
        print(
            f"target p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_CONVERSATIONS} conversations on 2 cores: "
            f"{verdict} ({target['p95_ms']:.0f} ms on {result['settings']['cpu_count']} cores)"
        )
    if result["throughput"]:
        print()
        print("Throughput (closed loop, next turn as soon as the answer arrives)")
        print(f"{'users':>6} {'turns/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6} {'degraded':>8}")
        for row in result["throughput"]:
            print(
                f"{row['users']:>6} {row['turns_per_s']:>8.1f} {fmt(row['p50_ms']):>7} {fmt(row['p95_ms']):>7}"
                f" {fmt(row['max_ms']):>7} {row['errors']:>6} {row['degraded']:>8}"
            )
        print(result["throughput_levels_off"])
    print()
    print("RSS MB (current / peak)")
    for name, value in result["rss_mb"].items():
        print(f"  {name:<28} " + ("-" if value is None else f"{value['rss']:.0f} / {value['peak']:.0f}"))
    load = result["settings"]["load_average"]
    print(f"load average (1/5/15 min) at start {load['start']}, at end {load['end']}")


def levels_off(rows: list[dict[str, Any]]) -> tuple[str, int | None]:
    for before, after in zip(rows, rows[1:]):
        if before["turns_per_s"] and after["turns_per_s"] < before["turns_per_s"] * (1 + LEVEL_OFF_GAIN):
            return (
                f"levels off at about {max(before['turns_per_s'], after['turns_per_s']):.1f} turns/s "
                f"by {before['users']} users ({after['users']} users gain < {LEVEL_OFF_GAIN:.0%})",
                before["users"],
            )
    if rows:
        return f"still rising at {rows[-1]['users']} users ({rows[-1]['turns_per_s']:.1f} turns/s)", None
    return "", None


# -- main ----------------------------------------------------------------------------------


def parse_levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", default="1,20", help="concurrent conversations per latency level")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each latency level")
    parser.add_argument("--throughput", default="20,50,100", help="closed-loop users per throughput level ('' for none)")
    parser.add_argument("--throughput-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "chat.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state and logs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("api.chat").setLevel(logging.ERROR)  # Rasa timeouts are counted as "degraded"
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    load_start = [round(v, 2) for v in os.getloadavg()]
    print(f"load average at start: {load_start} on {os.cpu_count()} cores", flush=True)
    work = Path(tempfile.mkdtemp(prefix="opastin-bench-chat-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    settings = Settings(state_dir=work / "state", database_url=None)
    settings.state_dir.mkdir()
    stack: BotStack | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        began = time.monotonic()
        engine, sessions = open_store(settings)
        ensure_imported(sessions, settings)
        engine.dispose()
        print(f"catalogue imported into {settings.state_dir} ({time.monotonic() - began:.0f} s)", flush=True)
        began = time.monotonic()
        stack = start_bot_stack(settings, log_dir)
        print(f"Rasa on :{stack.rasa_port}, actions on :{stack.actions_port} ({time.monotonic() - began:.0f} s)", flush=True)
        began = time.monotonic()
        server, thread, base = serve_api(stack.settings)
        print(f"API on {base} ({time.monotonic() - began:.0f} s)", flush=True)

        trouble = trouble_texts()
        warm = asyncio.run(warm_up(base, trouble))
        print(f"warm-up: {len(warm.latencies_ms)} turns, {warm.errors} errors, {warm.degraded} degraded", flush=True)

        levels = []
        for index, users in enumerate(parse_levels(args.conversations)):
            print(f"latency level: {users} conversations for {args.seconds:.0f} s ...", flush=True)
            levels.append(asyncio.run(latency_level(base, users, args.seconds, trouble, SEED + index)))
        throughput = []
        for index, users in enumerate(parse_levels(args.throughput)):
            print(f"throughput level: {users} users for {args.throughput_seconds:.0f} s ...", flush=True)
            throughput.append(asyncio.run(throughput_level(base, users, args.throughput_seconds, trouble, SEED + 100 + index)))
        off_text, off_users = levels_off(throughput)

        result = {
            "commit": git_commit(),
            "settings": {
                "conversations": parse_levels(args.conversations),
                "seconds": args.seconds,
                "think_seconds": [THINK_MIN, THINK_MAX],
                "first_turn_window_seconds": FIRST_TURN_WINDOW,
                "throughput_users": parse_levels(args.throughput),
                "throughput_seconds": args.throughput_seconds,
                "turns": TURNS,
                "warm_up_turns": len(TURNS),
                "database": "sqlite (fresh temporary state_dir)",
                "api": "uvicorn in-process thread, sharing the interpreter with the load generator",
                "target": f"p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_CONVERSATIONS} conversations on 2 cores",
                "cpu_count": os.cpu_count(),
                "python": sys.version.split()[0],
                "load_average": {"start": load_start, "end": [round(v, 2) for v in os.getloadavg()]},
            },
            "levels": levels,
            "throughput": throughput,
            "throughput_levels_off": off_text,
            "throughput_levels_off_users": off_users,
            "rss_mb": memory(stack),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print_report(result)
        print(f"wrote {args.out}")
        return 0
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=30)
        if stack is not None:
            stack.stop()
        drop_work_dir(work, args.keep)


def drop_work_dir(work: Path, keep: bool) -> None:
    """Remove a bench's temporary state and logs, unless asked to keep them (--keep)."""
    if keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
