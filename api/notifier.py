"""Wake the event streams that wait for a change: a conversation's streams (widget SSE)
when it gets a message, the queue streams (console SSE, waiting citizens) when a ticket
changes (QUEUE_CHANNEL).

Two implementations, chosen from settings at start-up (`make_notifier`, in the lifespan):
- `LocalNotifier` (embedded mode, one API process): an asyncio.Event per channel.
- `RedisNotifier` (distributed mode, several API workers): the same local events, and
  every notification is also published on one Redis pub/sub channel; every worker
  subscribes and wakes its own waiters.

A wake-up only tells a waiter to read the database again, and every waiter also reads
on a timer, so a notification lost (Redis down, a worker restarting) costs latency,
never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)

QUEUE_CHANNEL = "queue"  # notified whenever a ticket changes; conversation ids are UUIDs
PUBSUB_PREFIX = "opastin:events:"  # + the Redis database number: pub/sub spans databases
RECONNECT_SECONDS = 1.0


class Notifier(Protocol):
    def event(self, channel: str) -> asyncio.Event:
        """The event the next `notify(channel)` sets; take it before reading the database."""

    def notify(self, channel: str) -> None:
        """Wake every waiter of `channel`; callable from the event loop or a worker thread."""

    def notify_queue(self) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalNotifier:
    """Waiters in this process only. `notify` may be called from the event loop or from a
    worker thread (sync routes)."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        return None

    def event(self, channel: str) -> asyncio.Event:
        self._loop = asyncio.get_running_loop()
        return self._events.setdefault(channel, asyncio.Event())

    def notify(self, channel: str) -> None:
        self._call_in_loop(self._wake, channel)

    def notify_queue(self) -> None:
        self.notify(QUEUE_CHANNEL)

    def _call_in_loop(self, function: object, channel: str) -> None:
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            if not loop.is_closed():
                loop.call_soon_threadsafe(function, channel)  # type: ignore[arg-type]
            return
        function(channel)  # type: ignore[operator]

    def _wake(self, channel: str) -> None:
        event = self._events.pop(channel, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        events, self._events = self._events, {}
        for event in events.values():
            event.set()


class RedisNotifier(LocalNotifier):
    """Local events plus Redis pub/sub between workers. A message is "<origin> <channel>";
    a worker skips its own messages (it has woken its waiters already)."""

    def __init__(self, client: aioredis.Redis, *, subscribe_timeout: float = 5.0) -> None:
        super().__init__()
        self._redis = client
        self._channel = PUBSUB_PREFIX + str(client.connection_pool.connection_kwargs.get("db", 0))
        self._subscribe_timeout = subscribe_timeout
        self._origin = uuid.uuid4().hex[:12]
        self._outgoing: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()  # set once listening (tests and start-up wait for it)

    async def start(self) -> None:
        await super().start()
        self._tasks = [asyncio.create_task(self._publish_loop()), asyncio.create_task(self._listen_loop())]
        # Start serving even when Redis is slow: the streams' timers cover the gap.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout=self._subscribe_timeout)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

    def notify(self, channel: str) -> None:
        self._call_in_loop(self._wake_and_publish, channel)

    def _wake_and_publish(self, channel: str) -> None:
        self._wake(channel)
        self._outgoing.put_nowait(channel)

    async def _publish_loop(self) -> None:
        """One publisher keeps the order of notifications and never blocks `notify`."""
        while True:
            channel = await self._outgoing.get()
            try:
                await self._redis.publish(self._channel, f"{self._origin} {channel}")
            except RedisError as error:
                logger.warning("notification not published (%s); other workers read on their timers", type(error).__name__)

    async def _listen_loop(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.subscribed.set()
                    # Whatever was published while this worker was not listening is lost:
                    # let every waiter read again once.
                    self._wake_all()
                    async for message in pubsub.listen():
                        self._receive(message.get("data"))
            except RedisError as error:
                self.subscribed.clear()
                logger.warning("event subscription lost (%s); retrying in %.0f s", type(error).__name__, RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)

    def _receive(self, data: object) -> None:
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str):
            return
        origin, _, channel = data.partition(" ")
        if channel and origin != self._origin:
            self._wake(channel)


def make_notifier(settings: Settings) -> Notifier:
    """Redis pub/sub when REDIS_URL is set, else in-process events."""
    if settings.redis_url:
        return RedisNotifier(aioredis.Redis.from_url(settings.redis_url))
    return LocalNotifier()
