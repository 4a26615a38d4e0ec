"""`X-Opastin-Worker` on every response: a random id per API worker process (not its
pid), so an operator or a test can tell which of several workers answered."""

from __future__ import annotations

import uuid

from api.security import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-opastin-worker"


class WorkerHeader:
    def __init__(self, app: ASGIApp, worker_id: str | None = None) -> None:
        self.app = app
        self.worker_id = (worker_id or uuid.uuid4().hex[:8]).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, self.worker_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)
