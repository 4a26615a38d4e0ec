"""The Redis notifier and the Redis conversation locks against a real Redis: two
instances in one event loop stand for two API workers."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
import redis.asyncio as aioredis

from api.conversation_locks import KEY_PREFIX, LocalLocks, RedisLocks
from api.notifier import LocalNotifier, RedisNotifier
from tests.bot_stack import free_port


def _notifier(url: str) -> RedisNotifier:
    return RedisNotifier(aioredis.Redis.from_url(url))


async def _woken(event: asyncio.Event, seconds: float = 2.0) -> float | None:
    """Seconds until the event was set, or None if it was not."""
    start = time.perf_counter()
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        return None
    return time.perf_counter() - start


def test_a_notification_wakes_the_waiters_of_that_channel_in_every_worker(redis_url: str) -> None:
    async def scenario() -> None:
        a, b = _notifier(redis_url), _notifier(redis_url)
        await a.start()
        await b.start()
        try:
            assert a.subscribed.is_set() and b.subscribed.is_set()
            conversation, other = str(uuid.uuid4()), str(uuid.uuid4())
            on_a, on_b, unrelated = a.event(conversation), b.event(conversation), b.event(other)
            a.notify(conversation)
            assert on_a.is_set()  # the publishing worker wakes its own waiters at once
            delay = await _woken(on_b)
            assert delay is not None and delay < 0.5
            assert not unrelated.is_set()
            # The queue channel, notified from a worker thread (sync routes do that).
            queue_on_a = a.event("queue")
            thread = threading.Thread(target=b.notify_queue)
            thread.start()
            thread.join()
            assert await _woken(queue_on_a) is not None
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())


def test_a_worker_skips_its_own_messages(redis_url: str) -> None:
    """Its waiters were woken locally; its own message coming back must not wake the
    next round of waiters for nothing."""

    async def scenario() -> None:
        a = _notifier(redis_url)
        await a.start()
        try:
            channel = str(uuid.uuid4())
            first = a.event(channel)
            a.notify(channel)
            assert first.is_set()
            second = a.event(channel)
            assert await _woken(second, 0.5) is None
        finally:
            await a.close()

    asyncio.run(scenario())


def test_without_redis_notify_still_wakes_local_waiters() -> None:
    async def scenario() -> None:
        dead = RedisNotifier(aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"), subscribe_timeout=0.3)
        await dead.start()
        try:
            assert not dead.subscribed.is_set()
            event = dead.event("c1")
            dead.notify("c1")  # never raises; the publish failure is logged
            assert event.is_set()
            await asyncio.sleep(0.2)
        finally:
            await dead.close()

    asyncio.run(scenario())


def test_local_notifier_wakes_from_a_thread() -> None:
    async def scenario() -> None:
        notifier = LocalNotifier()
        await notifier.start()
        event = notifier.event("c1")
        threading.Thread(target=notifier.notify, args=("c1",)).start()
        assert await _woken(event) is not None

    asyncio.run(scenario())


def test_one_worker_at_a_time_holds_a_conversation(redis_url: str) -> None:
    async def scenario() -> None:
        a = RedisLocks(aioredis.Redis.from_url(redis_url), ttl=1.0, wait_seconds=5.0)
        b = RedisLocks(aioredis.Redis.from_url(redis_url), ttl=1.0, wait_seconds=5.0)
        conversation = str(uuid.uuid4())
        try:
            async with a.hold(conversation, wait=True) as held_a:
                assert held_a
                # Held past three TTLs: the renewal keeps it.
                await asyncio.sleep(2.5)
                async with b.hold(conversation, wait=False) as held_b:
                    assert not held_b
            async with b.hold(conversation, wait=False) as held_b:
                assert held_b  # released at once, no TTL to wait for
            # A waiting worker gets it as soon as the holder lets go.
            order: list[str] = []

            async def hold_a() -> None:
                async with a.hold(conversation, wait=True):
                    order.append("a in")
                    await asyncio.sleep(0.3)
                    order.append("a out")

            async def hold_b() -> None:
                await asyncio.sleep(0.05)
                async with b.hold(conversation, wait=True) as held:
                    assert held
                    order.append("b in")

            await asyncio.gather(hold_a(), hold_b())
            assert order == ["a in", "a out", "b in"]
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())


def test_a_dead_workers_claim_expires(redis_url: str) -> None:
    """A worker killed while holding a conversation renews nothing: its claim lapses
    after the TTL and another worker takes the conversation over."""

    async def scenario() -> None:
        raw = aioredis.Redis.from_url(redis_url)
        survivor = RedisLocks(aioredis.Redis.from_url(redis_url), ttl=1.0, wait_seconds=5.0)
        conversation = str(uuid.uuid4())
        try:
            # What a killed worker leaves behind: the key with its TTL, nobody renewing it.
            await raw.set(KEY_PREFIX + conversation, b"dead-worker", px=1000)
            start = time.perf_counter()
            async with survivor.hold(conversation, wait=True) as held:
                waited = time.perf_counter() - start
                assert held
            assert 0.5 < waited < 1.6
        finally:
            await raw.aclose()
            await survivor.close()

    asyncio.run(scenario())


def test_without_redis_the_lock_is_not_held_and_nothing_raises() -> None:
    async def scenario() -> None:
        dead = RedisLocks(aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0"), ttl=1.0, wait_seconds=1.0)
        try:
            async with dead.hold("c1", wait=True) as held:
                assert not held
        finally:
            await dead.close()

    asyncio.run(scenario())


def test_local_locks_skip_a_held_conversation_when_not_waiting() -> None:
    async def scenario() -> None:
        locks = LocalLocks()
        async with locks.hold("c1", wait=True) as first:
            assert first
            async with locks.hold("c1", wait=False) as second:
                assert not second
            async with locks.hold("c2", wait=False) as other:
                assert other

    asyncio.run(scenario())


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/3", "rediss://user:secret@cache:6380/0"])
def test_rasa_lock_store_comes_from_redis_url(url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from knowledge_base import rasa_project
    from knowledge_base.settings import Settings

    settings = Settings(state_dir=tmp_path, database_url=None, redis_url=url)
    lock_store = yaml.safe_load(rasa_project.endpoints_file(settings).read_text())["lock_store"]
    assert lock_store["type"] == "redis" and lock_store["key_prefix"] == "opastin"
    if url.startswith("rediss"):
        assert lock_store == {**lock_store, "url": "cache", "port": "6380", "db": "0", "username": "user", "password": "secret"}
        assert lock_store["use_ssl"]
    else:
        assert lock_store["url"] == "127.0.0.1" and lock_store["db"] == "3" and "use_ssl" not in lock_store
    plain = Settings(state_dir=tmp_path, database_url=None, redis_url=None)
    assert "lock_store" not in yaml.safe_load(rasa_project.endpoints_file(plain).read_text())
