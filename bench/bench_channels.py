"""Channels: what the web widget costs a host page, and how fast Telegram answers.

    .venv/bin/python bench/bench_channels.py [--loads 10] [--chats 20] [--interval 8]
                                             [--seconds 120] [--out bench/results/channels.json]

Widget: bytes the widget adds to a page (widget.js, widget.css and the Finnish UI strings,
raw and gzip-compressed) and, in real headless Chromium, time to interactive on /demo:
navigation start until the widget's `opastin-widget-ready` performance mark (strings
loaded, launcher usable), over --loads fresh page loads (new session storage each time).

Telegram: the full stack (python-telegram-bot over HTTP against tests/fake_telegram.py,
the API under uvicorn, real Rasa and action servers, PostgreSQL). --chats chats each send a
message every ~--interval s (uniform ±25 %, random start) for --seconds; latency is from
pushing the update to the fake Bot API until it receives the first sendMessage for that
chat afterwards (getUpdates long polling, handler, ChatService, Rasa, outbox). Turns still
unanswered 60 s after the end count as lost. Results are recorded, not asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_chat import git_commit, percentile  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from knowledge_base.settings import Settings  # noqa: E402
from tests.bot_stack import start_bot_stack  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.fake_telegram import fake_telegram, text_update  # noqa: E402
from tests.live_server import live_server, wait_for  # noqa: E402

TOKEN = "111222:BENCH-token"
POSTGRES = os.environ.get("OPASTIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MESSAGES = [
    "hei",
    "jäin työttömäksi, mitä nyt pitäisi tehdä?",
    "missä voin opiskella suomea iltaisin?",
    "I lost my job last week, what should I do?",
    "kiitos",
    "tarvitsen päivähoitopaikan lapselleni",
    "Jag söker jobb i Helsingfors",
    "hello",
]


def widget_size() -> dict[str, Any]:
    from knowledge_base.i18n import Catalogue

    static = ROOT / "api" / "static" / "widget"
    catalogue = Catalogue.load()
    strings = json.dumps(
        {k: catalogue.template(k, "fi") for k in catalogue.keys() if k.startswith("widget.")}, ensure_ascii=False
    ).encode("utf-8")
    parts = {"widget.js": (static / "widget.js").read_bytes(), "widget.css": (static / "widget.css").read_bytes(), "strings_fi.json": strings}
    return {
        "bytes": {name: len(data) for name, data in parts.items()},
        "gzip_bytes": {name: len(gzip.compress(data, 9)) for name, data in parts.items()},
        "total_bytes": sum(len(d) for d in parts.values()),
        "total_gzip_bytes": sum(len(gzip.compress(d, 9)) for d in parts.values()),
    }


def time_to_interactive(base: str, loads: int) -> dict[str, Any]:
    driver = chromium()
    ready: list[float] = []
    dom: list[float] = []
    try:
        for _ in range(loads):
            driver.get("about:blank")
            driver.delete_all_cookies()
            driver.get(f"{base}/demo")
            wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".opastin-widget[data-ready='true']"), 20)
            mark = driver.execute_script("return performance.getEntriesByName('opastin-widget-ready')[0].startTime")
            nav = driver.execute_script("return performance.getEntriesByType('navigation')[0].domInteractive")
            ready.append(float(mark))
            dom.append(float(nav))
            driver.execute_script("sessionStorage.clear()")
    finally:
        driver.quit()
    return {
        "loads": loads,
        "widget_ready_ms": {"median": statistics.median(ready), "p95": percentile(ready, 0.95), "max": max(ready)},
        "page_dom_interactive_ms": {"median": statistics.median(dom)},
    }


def telegram_latency(fake, chats: int, interval: float, seconds: float, seed: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    pushed: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def chat_loop(chat: int, first_delay: float) -> None:
        time.sleep(first_delay)
        i = rng.randrange(len(MESSAGES))
        while time.monotonic() < stop_at:
            with lock:
                pushed.append((chat, time.time()))
            fake.push(text_update(chat, MESSAGES[i % len(MESSAGES)], "fi"))
            i += 1
            time.sleep(interval * rng.uniform(0.75, 1.25))

    threads = [threading.Thread(target=chat_loop, args=(900000 + n, rng.uniform(0, interval)), daemon=True) for n in range(chats)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 60
    latencies: list[float] = []
    lost = 0
    while time.monotonic() < deadline:
        latencies, lost = _match(fake, pushed)
        if lost == 0:
            break
        time.sleep(1)
    return {
        "chats": chats,
        "interval_s": interval,
        "seconds": seconds,
        "updates": len(pushed),
        "answered": len(latencies),
        "lost": lost,
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "max": max(latencies) if latencies else None,
        },
    }


def _match(fake, pushed: list[tuple[int, float]]) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """Each update's latency: until the first message the chat received after it was pushed."""
    with fake._cond:
        received: dict[int, list[float]] = {}
        for (method, params), at in zip(fake.calls, fake.call_times):
            if method == "sendMessage":
                received.setdefault(int(params["chat_id"]), []).append(at)
    latencies: list[float] = []
    lost = 0
    for chat, at in pushed:
        later = [t for t in received.get(chat, []) if t >= at]
        if later:
            latencies.append((min(later) - at) * 1000)
        else:
            lost += 1
    return latencies, lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--interval", type=float, default=8.0)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "channels.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    sizes = widget_size()
    state = Path(tempfile.mkdtemp(prefix="bench-channels-"))
    base_settings = Settings(state_dir=state, database_url=None)
    from knowledge_base.bootstrap import ensure_imported, open_store

    _engine, sessions = open_store(base_settings)
    ensure_imported(sessions, base_settings)
    name = f"opastin_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    result: dict[str, Any] = {
        "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": os.getloadavg(),
        "widget_size": sizes,
    }
    stack = None
    try:  # from here on the bot stack must be stopped whatever happens
        stack = start_bot_stack(base_settings, state)
        with fake_telegram(TOKEN) as fake:
            settings = stack.settings.model_copy(
                update={
                    "database_url": POSTGRES.rsplit("/", 1)[0] + "/" + name,
                    "telegram_bot_token": SecretStr(TOKEN),
                    "telegram_api_url": fake.base_url,
                    "telegram_flood_messages": 1000,
                    "outbox_poll_seconds": 0.2,
                }
            )
            with live_server(settings) as server:
                httpx.get(f"{server.url}/demo", timeout=10).raise_for_status()
                result["widget_time_to_interactive"] = time_to_interactive(server.url, args.loads)
                result["telegram"] = telegram_latency(fake, args.chats, args.interval, args.seconds, args.seed)
    finally:
        if stack is not None:
            stack.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("widget_size", "widget_time_to_interactive", "telegram")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
