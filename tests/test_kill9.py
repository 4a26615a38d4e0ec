"""kill -9 of an API worker, the action server and Rasa in the middle of 20 active
conversations (4 with a counsellor), with real processes: the product runs under its
supervisor in distributed mode (PostgreSQL + Redis, 2 API workers). Afterwards, from
the database: no inbound message lost or stored twice, every one answered once (by the
bot, or forwarded to the counsellor), and every conversation answers its next turn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest

from tests.fault_driver import DrillResult, Product, drill, running_product

pytestmark = [pytest.mark.slow, pytest.mark.distributed]


@pytest.fixture(scope="module")
def product(postgres_server: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    with running_product(postgres_server, redis_url, tmp_path_factory.mktemp("kill9")) as running:
        yield running


def report(result: DrillResult) -> str:
    lines = [f"{'killed':<12} {'back (s)':>9} {'answered (s)':>13}"]
    lines += [f"{r.process:<12} {r.back_seconds:>9.1f} {r.cleared_seconds:>13.1f}" for r in result.recoveries]
    lines.append(", ".join(f"{k} {v}" for k, v in asdict(result.audit).items()))
    return "\n".join(lines)


def test_kill_9_loses_nothing_and_answers_once(product: Product) -> None:
    result = drill(product)
    print("\n" + report(result))
    audit = result.audit
    assert audit.sent >= 100  # conversations kept writing through every outage
    assert audit.lost == 0 and audit.stored == audit.sent and audit.stored_twice == 0
    assert audit.unanswered == 0 and audit.answered_twice == 0
    assert audit.forwarded > 0  # the counsellors' conversations went on too
    # A worker killed after Rasa stored a turn but before the worker stored the answer
    # leaves the message pending; the worker that takes over sends it again. The window is
    # a few milliseconds per turn in flight (Rasa drops a turn whose caller disconnected
    # before it saves): at most the one worker kill may cause it; measured 0 so far.
    assert audit.rasa_duplicates <= 1
    assert audit.final_turns_answered == audit.final_turns == 16
    assert [r.process for r in result.recoveries] == ["api-worker", "actions", "rasa"]
