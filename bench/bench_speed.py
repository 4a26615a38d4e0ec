"""Speed of the full search path (`SearchService.search`, hybrid + gate), one query
after another, cold start of `opastin search` with the shipped vectors, and RSS.
Quality is bench/bench_search_quality.py.

    .venv/bin/python bench/bench_speed.py [--out bench/results/speed.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_search_quality import load_dev  # noqa: E402

from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store  # noqa: E402
from knowledge_base.contracts import Query  # noqa: E402
from knowledge_base.language import SUPPORTED_LANGUAGES  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402


def cold_start(state_dir: Path) -> float:
    """Seconds for a new process to answer one `opastin search` (catalogue imported)."""
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/opastin"), "search", "jäin työttömäksi, mitä nyt", "--json"],
        check=True, capture_output=True, env={"OPASTIN_STATE_DIR": str(state_dir), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return time.perf_counter() - start


def rerun_until_answer(query: str = "jäin työttömäksi, mitä nyt") -> float:
    """Seconds from re-running `scripts/run.sh` (set-up already done, nothing changed)
    until the API answers a Finnish search; the whole product is stopped afterwards."""
    import os
    import signal

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OPASTIN_API_PORT": str(port)}
    start = time.perf_counter()
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts/run.sh")], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while time.perf_counter() - start < 120:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": query}, timeout=30)
                if response.status_code == 200 and response.json()["results"]:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the API did not answer within 120 s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "speed.json")
    args = parser.parse_args()

    state_dir = Path(tempfile.mkdtemp(prefix="opastin-speed-"))
    settings = Settings(state_dir=state_dir)
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    start = time.perf_counter()
    service = build_search_service(sessions, settings)
    service.warm_up(SUPPORTED_LANGUAGES)
    build_seconds = time.perf_counter() - start

    in_scope, off_topic = load_dev(ROOT / "bench" / "queries")
    queries = [(case.lang, case.text) for case in in_scope + off_topic]
    times = []
    for lang, text in queries:
        began = time.perf_counter()
        service.search(Query(text, lang))
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {
        "commit": commit or None,
        "services": service.service_count,
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "index_build_and_warm_up_s": round(build_seconds, 2),
        "cold_start_s": round(cold_start(state_dir), 2),
        "rerun_until_search_answers_s": round(rerun_until_answer(), 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
