"""One processor per conversation at a time: whoever holds a conversation's lock sends
its pending messages to Rasa, in order.

- `LocalLocks` (embedded mode, one API process): an asyncio.Lock per conversation.
- `RedisLocks` (distributed mode, several API workers): the same local lock, then a
  Redis lock with a TTL that a task renews while it is held, so a worker killed while
  holding it gives the conversation up within `ttl` seconds.

The lock only keeps a message from going to Rasa twice; the replies are stored once
whatever happens, because storing them also flips the message from pending in one
conditional UPDATE (knowledge_base.conversations.claim_pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "opastin:conversation-lock:"
RETRY_SLEEP_SECONDS = 0.05


class ConversationLocks(Protocol):
    def hold(self, conversation_id: str, *, wait: bool) -> contextlib.AbstractAsyncContextManager[bool]:
        """Yields True while this caller holds the conversation, False when it does not
        (wait=False and someone else holds it, the wait timed out, or the lock store is down)."""

    async def close(self) -> None: ...


class LocalLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str, *, wait: bool) -> AsyncIterator[bool]:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        if not wait and lock.locked():
            yield False
            return
        async with lock:
            yield True

    async def close(self) -> None:
        return None


class RedisLocks:
    def __init__(self, client: aioredis.Redis, *, ttl: float, wait_seconds: float) -> None:
        self._redis = client
        self._ttl = ttl
        self._wait_seconds = wait_seconds
        self._local = LocalLocks()  # waiters in this worker queue here, not on Redis

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str, *, wait: bool) -> AsyncIterator[bool]:
        async with self._local.hold(conversation_id, wait=wait) as held_here:
            if not held_here:
                yield False
                return
            lock = self._redis.lock(
                KEY_PREFIX + conversation_id, timeout=self._ttl, sleep=RETRY_SLEEP_SECONDS, thread_local=False
            )
            try:
                acquired = await lock.acquire(blocking=wait, blocking_timeout=self._wait_seconds if wait else None)
            except RedisError as error:
                logger.warning("conversation %s: lock store unavailable (%s); left for a later round", conversation_id, type(error).__name__)
                acquired = False
            if not acquired:
                yield False
                return
            renewer = asyncio.create_task(self._renew(lock, conversation_id))
            try:
                yield True
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
                try:
                    await lock.release()
                except (LockError, RedisError) as error:
                    # Expired or Redis gone: another worker may take it over, which is safe.
                    logger.warning("conversation %s: lock release failed (%s)", conversation_id, type(error).__name__)

    async def _renew(self, lock: aioredis.lock.Lock, conversation_id: str) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await lock.extend(self._ttl, replace_ttl=True)
            except (LockError, RedisError) as error:
                logger.warning("conversation %s: lock not renewed (%s)", conversation_id, type(error).__name__)
                return

    async def close(self) -> None:
        await self._redis.aclose()


def make_locks(settings: Settings) -> ConversationLocks:
    """Redis locks when REDIS_URL is set, else in-process locks."""
    if settings.redis_url:
        wait = settings.rasa_timeout_seconds + settings.conversation_lock_seconds
        return RedisLocks(
            aioredis.Redis.from_url(settings.redis_url), ttl=settings.conversation_lock_seconds, wait_seconds=wait
        )
    return LocalLocks()
