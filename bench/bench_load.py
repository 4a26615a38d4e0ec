"""Load test of the whole product on loopback: N conversations, each sending one turn every
6-10 s (8 s on average) at random, for a fixed time per level; not part of CI.

    .venv/bin/python bench/bench_load.py [--levels 0,50,100,200] [--seconds 180]
        [--mode embedded|distributed] [--workers 2] [--rasa-servers N] [--url http://127.0.0.1:8000]
        [--out bench/results/load.json] [--plot bench/results/load.png]

The product runs under `python -m api.supervisor` (the API, the action server and its Rasa
servers) over a fresh state folder and free loopback ports; the trained model is copied in
with its fingerprint, so nothing is trained. `--mode embedded`: SQLite in the state folder, one API process.
`--mode distributed`: a fresh PostgreSQL database (DATABASE_URL; Rasa's tracker store in its
own `<name>_rasa`), Redis (REDIS_URL, database --redis-db) and OPASTIN_API_WORKERS=--workers;
`--url` measures a product that is already running instead (its processes are then not measured).

Per level: turns/s answered within the level's time, p50/p95/p99 latency of POST /api/chat, errors (transport or
non-200) and degraded answers ("one moment" while Rasa is busy or down, "lookup failed"),
CPU (cores used: utime+stime over the level's wall time) and RSS (mean and peak over 2 s
samples) per process, from /proc. The users and their turns are bench/bench_chat.py's (the
same TURNS cycle, conversations restarted after a handover). All simulated users share one
client address, so the per-address rate limit is lifted for the run
(OPASTIN_RATE_LIMIT_PER_MINUTE); the per-conversation limit stays.

Throughput "stops growing" at the first level that completes less than 90 % of the turns
it offered (N / 8 s) or gains less than 10 % over the level before. Target, reported and not
asserted: 0 errors and p95 <= 500 ms at 100 conversations. Results are merged into
--out by mode, so an embedded and a distributed run end up in one JSON and one plot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_chat import (  # noqa: E402
    REQUEST_TIMEOUT,
    THINK_MAX,
    THINK_MIN,
    Tally,
    User,
    drop_work_dir,
    git_commit,
    paced_user,
    SEED as CHAT_SEED,
    TURNS,
    make_client,
    percentile,
    trouble_texts,
)
from knowledge_base import rasa_project  # noqa: E402
from knowledge_base.bootstrap import ensure_imported, open_store  # noqa: E402
from knowledge_base.settings import REPO_DIR, Settings  # noqa: E402
from tests.bot_stack import free_port, wait_until  # noqa: E402
from tests.processes import children  # noqa: E402

TARGET_CONVERSATIONS = 100
TARGET_P95_MS = 500.0
SATURATED_SHARE = 0.90
LEVEL_OFF_GAIN = 0.10
SAMPLE_SECONDS = 2.0
START_SECONDS = 300.0
SEED = 8_2026
POSTGRES_ADMIN = os.environ.get("OPASTIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# -- the product's processes ------------------------------------------------------------------


@dataclass
class Product:
    base: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    cleanup: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for step in reversed(self.cleanup):
            step()


def _postgres_database(product: Product) -> str:
    """A fresh database (and the name Rasa's tracker store gets beside it), dropped at the end."""
    from sqlalchemy import create_engine, text

    name = f"h2_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}_rasa"'))

    def drop() -> None:
        with admin.connect() as connection:
            for database in (name, f"{name}_rasa"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()

    product.cleanup.append(drop)
    return POSTGRES_ADMIN.rsplit("/", 1)[0].replace("+psycopg", "") + "/" + name


def start_product(args: argparse.Namespace, work: Path) -> Product:
    api_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    product = Product(base=f"http://127.0.0.1:{api_port}")
    env = {
        "OPASTIN_STATE_DIR": str(work / "state"),
        "OPASTIN_API_PORT": str(api_port),
        "OPASTIN_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "OPASTIN_ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}",
        "OPASTIN_RASA_TOKEN": "load-" + uuid.uuid4().hex,
        "OPASTIN_ACTION_SERVER_TOKEN": "load-actions-" + uuid.uuid4().hex,
        "OPASTIN_RATE_LIMIT_PER_MINUTE": "1000000",  # one client address for every simulated user
        "OPASTIN_QUEUE_BUSINESS_HOURS": "false",
    }
    if args.rasa_servers:
        env["OPASTIN_RASA_SERVERS"] = str(args.rasa_servers)
    if args.mode == "embedded":
        for variable in ("DATABASE_URL", "REDIS_URL", "OPASTIN_API_WORKERS"):
            os.environ.pop(variable, None)
    else:
        env["DATABASE_URL"] = _postgres_database(product)
        env["REDIS_URL"] = f"redis://127.0.0.1:6379/{args.redis_db}"
        env["OPASTIN_API_WORKERS"] = str(args.workers)
    os.environ.update(env)  # Settings() below and every child read the same values
    settings = Settings()
    settings.state_dir.mkdir(parents=True)
    began = time.monotonic()
    engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)  # before the workers start, so they don't race to import
    engine.dispose()
    print(f"catalogue imported ({time.monotonic() - began:.0f} s)", flush=True)
    repo_settings = Settings(state_dir=REPO_DIR / "var", database_url=None)
    rasa_project.train(repo_settings)
    rasa_project.model_dir(settings).mkdir(parents=True, exist_ok=True)
    shutil.copy(rasa_project.model_path(repo_settings), rasa_project.model_path(settings))
    stamp = rasa_project.model_dir(repo_settings) / f"{rasa_project.MODEL_NAME}.fingerprint"
    shutil.copy(stamp, rasa_project.model_dir(settings) / stamp.name)  # so the supervisor does not train again
    logs = work / "logs"
    logs.mkdir()
    began = time.monotonic()
    with (logs / "supervisor.log").open("ab") as log:
        product.processes["supervisor"] = subprocess.Popen(
            [sys.executable, "-m", "api.supervisor"], cwd=REPO_DIR, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until(f"{product.base}/api/health/ready", START_SECONDS, product.processes["supervisor"])
    except RuntimeError:
        product.stop()
        raise
    print(f"product ready on {product.base} ({time.monotonic() - began:.0f} s; logs in {logs})", flush=True)
    return product


# -- CPU and memory from /proc ---------------------------------------------------------------


def _service_of(pid: int) -> str:
    """Which of the supervisor's processes this is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    words = [part.decode(errors="replace") for part in argv]
    if "actions.server" in words:
        return "actions"
    if "api" in words:
        return "api"
    if any(word.endswith("/rasa") for word in words):
        return "rasa"
    return "other"


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in children.read_text().split())
            except OSError:
                pass
    return found


def _cpu_and_rss(pid: int) -> tuple[float, float] | None:
    """CPU seconds used so far and RSS in MB of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, pages * PAGE_KB / 1024


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, every process: others' work too)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass
class ProcessSeries:
    service: str
    cpu_start: float | None = None
    cpu_end: float = 0.0
    rss_mb: list[float] = field(default_factory=list)


class Sampler:
    """Every process of each service (API workers included), sampled every SAMPLE_SECONDS."""

    def __init__(self, product: Product | None) -> None:
        self.product = product
        self.series: dict[int, ProcessSeries] = {}

    def sample(self) -> None:
        if self.product is None:
            return
        for process in self.product.processes.values():
            self._measure(process.pid, "supervisor")
            for child in children(process.pid):
                service = _service_of(child)
                for pid in _tree(child):  # the API's workers count as "api"
                    self._measure(pid, service)

    def _measure(self, pid: int, service: str) -> None:
        measured = _cpu_and_rss(pid)
        if measured is None:
            return
        series = self.series.setdefault(pid, ProcessSeries(service))
        if series.cpu_start is None:
            series.cpu_start = measured[0]
        series.cpu_end = measured[0]
        series.rss_mb.append(measured[1])

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)
            except TimeoutError:
                pass
        await asyncio.to_thread(self.sample)

    def report(self, wall: float) -> list[dict[str, Any]]:
        rows = []
        for pid, series in sorted(self.series.items(), key=lambda item: (item[1].service, item[0])):
            rows.append({
                "service": series.service, "pid": pid,
                "cpu_cores": round((series.cpu_end - (series.cpu_start or 0.0)) / wall, 3),
                "rss_mean_mb": round(sum(series.rss_mb) / len(series.rss_mb), 1),
                "rss_peak_mb": round(max(series.rss_mb), 1),
            })  # fmt: skip
        return rows


# -- warm-up ------------------------------------------------------------------------------------


WORKER_HEADER = "X-Opastin-Worker"
WARM_UP_ROUNDS = 12


async def warm_every_worker(base: str, trouble: set[str], workers: int) -> tuple[Tally, int]:
    """Every turn once on every API worker, so first-use costs (models loaded on the first
    query: about +480 MB and seconds of CPU in a cold worker) are not measured. Each round
    is a new connection, which the kernel hands to some worker; rounds go on until every
    worker (told apart by X-Opastin-Worker) has been warmed, at most WARM_UP_ROUNDS."""
    tally, seen = Tally(), set()
    for round_number in range(WARM_UP_ROUNDS):
        async with make_client(1) as client:  # one connection: every request of the round hits one worker
            worker = (await client.get(f"{base}/api/health/live")).headers.get(WORKER_HEADER, "only")
            if worker in seen:
                continue
            user = User(client, base, random.Random(CHAT_SEED + round_number), trouble, tally)
            user.position = 0
            for _ in TURNS:
                await user.turn()
            seen.add(worker)
        if len(seen) >= workers:
            break
    return tally, len(seen)


# -- one level -----------------------------------------------------------------------------------


def _summary(tally: Tally) -> dict[str, Any]:
    values = tally.latencies_ms
    rounded = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {
        "turns": len(values),
        "p50_ms": rounded(percentile(values, 0.50)),
        "p95_ms": rounded(percentile(values, 0.95)),
        "p99_ms": rounded(percentile(values, 0.99)),
        "max_ms": rounded(max(values) if values else None),
        "errors": tally.errors,
        "error_kinds": tally.error_kinds,
        "degraded": tally.degraded,
        "handovers": tally.handovers,
    }


async def run_level(base: str, users: int, seconds: float, sampler: Sampler, trouble: set[str], seed: int) -> dict[str, Any]:
    tally = Tally()
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=users + 10, max_keepalive_connections=users + 10)
    stop = asyncio.Event()
    busy_start = machine_busy_seconds()
    sampling = asyncio.create_task(sampler.run(stop))
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + seconds
        # Throughput counts the turns answered within the level's time; turns still in
        # flight at the deadline are waited for (their latency counts) but not in turns/s.
        at_deadline: list[int] = []
        loop.call_at(deadline, lambda: at_deadline.append(len(tally.latencies_ms)))
        await asyncio.gather(*(
            paced_user(User(client, base, random.Random(rng.random()), trouble, tally), random.Random(rng.random()), start, deadline)
            for _ in range(users)
        ))  # fmt: skip
        if not users:
            await asyncio.sleep(seconds)  # the idle baseline still lasts the level's time
        wall = loop.time() - start
    stop.set()
    await sampling
    offered = users / ((THINK_MIN + THINK_MAX) / 2)
    in_time = at_deadline[0] if at_deadline else len(tally.latencies_ms)
    completed = in_time / seconds
    return {
        "conversations": users,
        "seconds": seconds,
        "wall_seconds": round(wall, 1),
        "offered_turns_per_s": round(offered, 2),
        "turns_per_s": round(completed, 2),
        "turns_after_deadline": len(tally.latencies_ms) - in_time,
        **_summary(tally),
        "processes": sampler.report(wall),
        # Cores the whole machine kept busy: well above the product's own CPU means it
        # shared the cores with other work during the level.
        "machine_busy_cores": round((machine_busy_seconds() - busy_start) / wall, 2),
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
    }


def stops_growing(levels: list[dict[str, Any]]) -> int | None:
    """The first level that completes < 90 % of its offered turns or gains < 10 % over the last."""
    for index, level in enumerate(levels):
        if not level["conversations"]:
            continue  # the idle baseline
        saturated = level["turns_per_s"] < SATURATED_SHARE * level["offered_turns_per_s"]
        before = levels[index - 1]["turns_per_s"] if index > 0 else 0.0
        flat = before > 0 and level["turns_per_s"] < before * (1 + LEVEL_OFF_GAIN)
        if saturated or flat:
            return int(level["conversations"])
    return None


# -- report ---------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_table(mode: str, run: dict[str, Any]) -> None:
    print(f"\nmode {mode}: one turn every {THINK_MIN:.0f}-{THINK_MAX:.0f} s per conversation, {run['seconds']:.0f} s per level")
    print(f"{'conv':>5} {'offered/s':>9} {'turns/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} {'degraded':>8} {'CPU cores':>9} {'machine':>7} {'RSS MB':>7}")
    for level in run["levels"]:
        cpu = sum(p["cpu_cores"] for p in level["processes"])
        rss = sum(p["rss_peak_mb"] for p in level["processes"])
        print(
            f"{level['conversations']:>5} {level['offered_turns_per_s']:>9.1f} {level['turns_per_s']:>8.1f} {_fmt(level['p50_ms']):>7}"
            f" {_fmt(level['p95_ms']):>7} {_fmt(level['p99_ms']):>7} {level['errors']:>6} {level['degraded']:>8}"
            f" {cpu:>9.2f} {level.get('machine_busy_cores', 0):>7.2f} {_fmt(rss) if level['processes'] else '-':>7}"
        )
    for level in run["levels"]:
        for process in level["processes"]:
            print(f"  {level['conversations']:>4} conv  {process['service']:<8} pid {process['pid']:<7} CPU {process['cpu_cores']:.2f} cores,"
                  f" RSS mean {process['rss_mean_mb']:.0f} MB, peak {process['rss_peak_mb']:.0f} MB")  # fmt: skip
    flat = run["stops_growing_at"]
    print("throughput " + (f"stops growing at {flat} conversations" if flat else "still grows at the last level"))
    target = next((level for level in run["levels"] if level["conversations"] == TARGET_CONVERSATIONS), None)
    if target is not None:
        met = target["errors"] == 0 and target["degraded"] == 0 and (target["p95_ms"] or 0) <= TARGET_P95_MS
        print(f"target 0 errors and p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_CONVERSATIONS}: {'met' if met else 'missed'}")
    print(f"load average at start {run['load_average_start']}, end {run['levels'][-1]['load_average_end'] if run['levels'] else '-'}")


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, throughput, cpu) = plt.subplots(1, 3, figsize=(15, 4.2))
    for mode, run in sorted(results["modes"].items()):
        busy = [level for level in run["levels"] if level["conversations"]]  # not the idle baseline
        x = [level["conversations"] for level in busy]
        for key, style in (("p50_ms", ":"), ("p95_ms", "-"), ("p99_ms", "--")):
            latency.plot(x, [level[key] for level in busy], style, marker="o", label=f"{mode} {key[:3]}")
        throughput.plot(x, [level["turns_per_s"] for level in busy], marker="o", label=f"{mode} completed")
        throughput.plot(x, [level["offered_turns_per_s"] for level in busy], ":", color="grey", label=f"{mode} offered")
        for service in ("api", "rasa", "actions"):
            cores = [sum(p["cpu_cores"] for p in level["processes"] if p["service"] == service) for level in busy]
            cpu.plot(x, cores, marker="o", label=f"{mode} {service}")
        cpu.plot(x, [level.get("machine_busy_cores", 0) for level in busy], ":", marker=".", label=f"{mode} whole machine")
    latency.axhline(TARGET_P95_MS, color="red", linewidth=0.8, label=f"target p95 {TARGET_P95_MS:.0f} ms")
    latency.set(xlabel="conversations (one turn every ~8 s)", ylabel="POST /api/chat latency (ms)", yscale="log", title="Latency vs load")
    throughput.set(xlabel="conversations", ylabel="turns/s", title="Throughput")
    cpu.set(xlabel="conversations", ylabel="CPU cores", title="CPU by service (2 cores)")
    for axis in (latency, throughput, cpu):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


# -- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="0,50,100,200", help="concurrent conversations per level (0: idle baseline of CPU and RSS)")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of each level")
    parser.add_argument("--mode", choices=("embedded", "distributed"), default="embedded")
    parser.add_argument("--workers", type=int, default=2, help="API workers in distributed mode")
    parser.add_argument("--redis-db", type=int, default=12, help="Redis database number in distributed mode")
    parser.add_argument("--url", help="measure a running product instead of starting one")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "bench" / "results" / "load.png")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state and logs")
    parser.add_argument("--rasa-servers", type=int, default=None, help="OPASTIN_RASA_SERVERS of the product (default: its own)")
    parser.add_argument("--plot-only", action="store_true", help="only draw --plot from the results in --out")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads(args.out.read_text()), args.plot)
        print(f"wrote {args.plot}")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    levels = [int(part) for part in args.levels.split(",") if part.strip()]
    load_start = [round(v, 2) for v in os.getloadavg()]
    print(f"load average at start: {load_start} on {os.cpu_count()} cores", flush=True)
    work = Path(tempfile.mkdtemp(prefix="opastin-bench-load-"))
    product: Product | None = None
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            product = start_product(args, work)
            base = product.base
        trouble = trouble_texts()
        workers = args.workers if args.mode == "distributed" else 1
        warm, warmed = asyncio.run(warm_every_worker(base, trouble, workers))
        print(f"warm-up: {len(warm.latencies_ms)} turns on {warmed} of {workers} workers, {warm.errors} errors, "
              f"{warm.degraded} degraded", flush=True)  # fmt: skip
        rows = []
        for index, users in enumerate(levels):
            print(f"level: {users} conversations for {args.seconds:.0f} s ...", flush=True)
            rows.append(asyncio.run(run_level(base, users, args.seconds, Sampler(product), trouble, SEED + index)))
            print(f"  {rows[-1]['turns_per_s']} turns/s, p95 {rows[-1]['p95_ms']} ms, {rows[-1]['errors']} errors, "
                  f"{rows[-1]['degraded']} degraded", flush=True)  # fmt: skip
        run = {
            "commit": git_commit(),
            "url": args.url,
            "workers": workers,
            "workers_warmed": warmed,
            "rasa_servers": Settings().rasa_servers,  # what the product under test was started with
            "database": "postgresql" if args.mode == "distributed" else "sqlite",
            "seconds": args.seconds,
            "think_seconds": [THINK_MIN, THINK_MAX],
            "cpu_count": os.cpu_count(),
            "load_average_start": load_start,
            "levels": rows,
            "stops_growing_at": stops_growing(rows),
        }
        results: dict[str, Any] = {"modes": {}}
        if args.out.exists():
            results = json.loads(args.out.read_text())
        results["target"] = f"0 errors and p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_CONVERSATIONS} conversations"
        results["modes"][args.mode] = run
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        plot(results, args.plot)
        print_table(args.mode, run)
        print(f"wrote {args.out} and {args.plot}")
        return 0
    finally:
        if product is not None:
            product.stop()
        drop_work_dir(work, args.keep)


if __name__ == "__main__":
    sys.exit(main())
