"""Logging of every entry point (API, action server, supervisor, CLI), configured once
there, never at import. Every record passes a redaction filter on its way out, so a
message that slips personal data into a log line (an identity code, phone, e-mail or
IBAN) is written with placeholders instead, and access lines carry no client address."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from knowledge_base.redaction import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log request URLs or per-call chatter at INFO/DEBUG (httpx would log a
# Telegram bot token inside URLs; bm25s sets its own logger to DEBUG).
QUIET_LOGGERS = ("httpx", "httpcore", "bm25s", "telegram", "multipart")


class QuietLibraries(logging.Filter):
    """Drop records under WARNING from QUIET_LOGGERS (some set their own level at import)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not any(record.name == name or record.name.startswith(name + ".") for name in QUIET_LOGGERS)


class NoClientAddresses(logging.Filter):
    """uvicorn's access lines start with the client's address and port, which is personal
    data the retention purge could not reach in log files: write "-" instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and record.args:
            record.args = ("-", *record.args[1:])
        return True


class RedactingFilter(logging.Filter):
    """Replace personal data in the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts may quote user input; keep the type and traceback, redact the text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (for log shippers): time, level, logger, message, and
    the exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int = logging.INFO, json_lines: bool | None = None) -> None:
    """Text lines by default; JSON lines when `json_lines` or OPASTIN_LOG_FORMAT=json
    (read here, at the entry point, not at import)."""
    if json_lines is None:
        json_lines = os.environ.get("OPASTIN_LOG_FORMAT", "").lower() == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(QuietLibraries())
    handler.addFilter(NoClientAddresses())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
