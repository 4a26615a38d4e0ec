"""kill -9 drill, measured: the product under its supervisor in distributed mode
(PostgreSQL + Redis, 2 API workers), 20 conversations (4 with a counsellor) writing
while an API worker, the action server and Rasa are killed one after the other.

    .venv/bin/python bench/bench_faults.py [--out bench/results/faults.json]

Prints, per kill, the seconds until the process answered again and until every message
sent so far was answered, then the audit from the database (sent, lost, stored twice,
answered twice, Rasa given a message twice). tests/test_kill9.py runs the same drill
(tests/fault_driver.py) and asserts on it. Needs PostgreSQL (OPASTIN_TEST_POSTGRES_URL)
and Redis (OPASTIN_TEST_REDIS_URL), as the tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_chat import git_commit  # noqa: E402

from knowledge_base.logging_setup import configure_logging  # noqa: E402
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_TEST_URL  # noqa: E402
from tests.fault_driver import drill, running_product  # noqa: E402
from tests.test_kill9 import report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--with-counsellor", type=int, default=4)
    parser.add_argument("--rasa-servers", type=int, default=2, help="Rasa servers the product runs (the first is killed)")
    args = parser.parse_args()
    configure_logging()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="opastin-faults-") as state:
        with running_product(POSTGRES_ADMIN_URL, REDIS_TEST_URL, Path(state), rasa_servers=args.rasa_servers) as product:
            result = drill(product, conversations=args.conversations, with_counsellor=args.with_counsellor)
    print(report(result))
    record = {
        "bench": "faults",
        "commit": git_commit(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": f"distributed: PostgreSQL + Redis, 2 API workers, {args.rasa_servers} Rasa servers, under api.supervisor",
        "conversations": args.conversations,
        "with_counsellor": args.with_counsellor,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(result.seconds, 1),
        "recoveries": [{k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(r).items()} for r in result.recoveries],
        "audit": asdict(result.audit),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
