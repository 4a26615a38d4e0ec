"""Speed of the outcome figures (`knowledge_base.outcomes.figures`) and the charts over a
synthetic month of conversations: how long the dashboard page and each chart take to
compute as the number of conversations grows. No pass/fail; numbers only.

    .venv/bin/python bench/bench_outcomes.py [--sizes 1000 5000 20000] [--database-url URL]
        [--out bench/results/outcomes.json]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from knowledge_base import charts  # noqa: E402
from knowledge_base.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from knowledge_base.models import Conversation, Handover, Message, ServiceClick  # noqa: E402
from knowledge_base.organisations import seed_organisations  # noqa: E402
from knowledge_base.outcomes import Filters, figures  # noqa: E402
from knowledge_base.report import labeller  # noqa: E402
from knowledge_base.settings import Settings  # noqa: E402

START = date(2026, 3, 1)
DAYS = 30
SERVICES = [f"bench:{i}" for i in range(300)]


def populate(sessions, count: int, rng: random.Random) -> int:  # type: ignore[no-untyped-def]
    """`count` conversations of 2-8 messages; a fifth recommend and are opened, a tenth hand over."""
    messages = 0
    with sessions() as session:
        for _ in range(count):
            at = datetime(2026, 3, 1, 6, tzinfo=UTC) + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
            cid = str(uuid.uuid4())
            session.add(Conversation(id=cid, token_hash="x", channel=rng.choice(["web", "telegram"]),
                                     language=rng.choice(["fi", "sv", "en", "ar", "uk"]), state="bot", next_seq=1,
                                     created_at=at, last_activity_at=at))  # fmt: skip
            turns = rng.randint(1, 4)
            for turn in range(turns):
                seq = 2 * turn + 1
                session.add(Message(conversation_id=cid, seq=seq, direction="in", author="user", text="jäin työttömäksi",
                                    status="processed", created_at=at + timedelta(minutes=turn)))  # fmt: skip
                kind = rng.random()
                payload: dict[str, object]
                if kind < 0.5:
                    payload = {"key": "bot.recommend_intro", "intent": "describe_situation",
                               "services": [{"id": s} for s in rng.sample(SERVICES, 3)]}  # fmt: skip
                elif kind < 0.7:
                    payload = {"key": "bot.not_understood", "intent": "out_of_scope"}
                else:
                    payload = {"key": "bot.info_intro", "intent": "ask_info"}
                session.add(Message(conversation_id=cid, seq=seq + 1, direction="out", author="bot", text="…", payload=payload,
                                    created_at=at + timedelta(minutes=turn)))  # fmt: skip
                messages += 2
            if rng.random() < 0.2:
                session.add(ServiceClick(conversation_id=cid, service_id=rng.choice(SERVICES), link_id="0" * 12, created_at=at))
            if rng.random() < 0.1:
                session.add(Handover(conversation_id=cid, reason="requested", language="fi", summary={}, status="closed",
                                     created_at=at, updated_at=at, organisation_id="helsinki", topic="work",
                                     assigned_at=at + timedelta(seconds=rng.randint(30, 1800)),
                                     outcome_code="referred", satisfaction=rng.randint(1, 5)))  # fmt: skip
        session.commit()
    return messages


def commit_id() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--database-url", help="PostgreSQL (an empty database); default a temporary SQLite file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/outcomes.json")
    args = parser.parse_args()
    rng = random.Random(9)
    label = labeller("en")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(state_dir=Path(tmp), database_url=args.database_url)
        engine = make_engine(settings)
        migrate(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            seed_organisations(session=session, data_dir=settings.data_dir)
            session.commit()
        total, messages = 0, 0
        for size in sorted(args.sizes):
            messages += populate(sessions, size - total, rng)
            total = size
            filters = Filters(START, START + timedelta(days=DAYS - 1))
            with sessions() as session:
                began = time.perf_counter()
                result = figures(session, filters, now=datetime(2026, 4, 15, tzinfo=UTC))
                figure_seconds = time.perf_counter() - began
            chart_seconds = {}
            for name in charts.CHARTS:
                began = time.perf_counter()
                charts.render(name, result, label)
                chart_seconds[name] = round(time.perf_counter() - began, 3)
            row = {"conversations": total, "messages": messages, "figures_seconds": round(figure_seconds, 3),
                   "chart_seconds": chart_seconds, "counted": result.conversations}  # fmt: skip
            print(json.dumps(row))
            results.append(row)
        backend = engine.dialect.name
        if backend == "postgresql":
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        engine.dispose()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"commit": commit_id(), "database": backend, "days": DAYS, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
