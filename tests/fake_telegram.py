"""A local Telegram Bot API server for the tests: real HTTP on a free port, speaking the
methods the channel uses (getMe, getUpdates with long polling, setWebhook,
deleteWebhook, sendMessage, answerCallbackQuery). python-telegram-bot is pointed at it
with `base_url`; the server records every call and can answer 429 or 500 on demand.
Like the real one, it refuses (409) a second getUpdates while one is in flight."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Opastin", "username": "opastin_test_bot"}
MAX_LONG_POLL_SECONDS = 2.0  # shorter than Telegram's so that shutdown is quick


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeTelegram:
    token: str
    port: int = 0
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    call_times: list[float] = field(default_factory=list)  # time.time() of each call, for benchmarks
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    fail_always: dict[str, Failure] = field(default_factory=dict)
    conflicts: int = 0
    webhook: dict[str, Any] | None = None
    _polling: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- what tests do ------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            update = {"update_id": next(self._ids), **update}
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def next_id(self) -> int:
        return next(self._ids)

    def fail_next(self, method: str, *failures: Failure) -> None:
        with self._cond:
            self.failures.setdefault(method, []).extend(failures)

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [p for m, p in self.calls if m == "sendMessage" and (chat_id is None or int(p["chat_id"]) == chat_id)]

    def called(self, method: str) -> list[dict[str, Any]]:
        with self._cond:
            return [p for m, p in self.calls if m == method]

    # -- the Bot API --------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            self.calls.append((method, params))
            self.call_times.append(time.time())
            queued = self.failures.get(method)
            failure = queued.pop(0) if queued else self.fail_always.get(method)
        if failure is not None:
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return failure.status, body
        if method == "getMe":
            return 200, {"ok": True, "result": {**BOT_USER, "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}}
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "setWebhook":
            self.webhook = params
            return 200, {"ok": True, "result": True}
        if method == "deleteWebhook":
            self.webhook = None
            return 200, {"ok": True, "result": True}
        if method == "answerCallbackQuery":
            return 200, {"ok": True, "result": True}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            return 200, {"ok": True, "result": result}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), MAX_LONG_POLL_SECONDS)
        with self._cond:
            if self._polling:
                self.conflicts += 1
                return 409, {"ok": False, "error_code": 409, "description": "Conflict: terminated by other getUpdates request"}
            self._polling += 1
            try:
                # Confirmed updates (below offset) are forgotten, as Telegram does.
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                deadline = time.monotonic() + timeout
                while not self.updates and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
                return 200, {"ok": True, "result": list(self.updates)}
            finally:
                self._polling -= 1


def _handler(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return

        def _params(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            if "json" in (self.headers.get("Content-Type") or ""):
                return dict(json.loads(raw or "{}"))
            params: dict[str, Any] = {}
            for key, values in parse_qs(raw, keep_blank_values=True).items():
                value: Any = values[0]
                if value[:1] in "[{":
                    value = json.loads(value)
                params[key] = value
            return params

        def _serve(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != f"bot{fake.token}":
                status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            else:
                status, body = fake.handle(parts[1], self._params())
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A long poll cut short by the bot's shutdown is not an error of the fake.
        return


@contextmanager
def fake_telegram(token: str) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(token)
    server = _Server(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fake-telegram", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


# -- updates as Telegram sends them ---------------------------------------------------------


def _user(chat_id: int, language: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Test"}
    if language:
        user["language_code"] = language
    return user


def _message(chat_id: int, language: str | None, **content: Any) -> dict[str, Any]:
    return {
        "message_id": int(time.time() * 1000) % 1_000_000_000,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": _user(chat_id, language),
        **content,
    }


def text_update(chat_id: int, text: str, language: str | None = "fi") -> dict[str, Any]:
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split()[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": _message(chat_id, language, **content)}


def sticker_update(chat_id: int, language: str | None = "fi") -> dict[str, Any]:
    sticker = {"file_id": "st1", "file_unique_id": "st1u", "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
    return {"message": _message(chat_id, language, sticker=sticker)}


def photo_update(chat_id: int, language: str | None = "fi") -> dict[str, Any]:
    photo = [{"file_id": "ph1", "file_unique_id": "ph1u", "width": 90, "height": 90}]
    return {"message": _message(chat_id, language, photo=photo)}


def callback_update(chat_id: int, data: str, language: str | None = "fi") -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"cb{time.monotonic_ns()}",
            "from": _user(chat_id, language),
            "chat_instance": "ci",
            "data": data,
            "message": _message(chat_id, language, text="…"),
        }
    }
