"""Every log line is redacted on its way out, whatever logger wrote it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge_base.logging_setup import configure_logging

HETU = "131052-308T"  # valid checksum
EMAIL = "maija.meikalainen@example.fi"


@pytest.fixture()
def configured() -> Iterator[None]:
    """Restores pytest's logging afterwards; each test configures inside its body,
    where sys.stderr is the stream capsys reads."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_personal_data_is_redacted_in_messages_and_arguments(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO)
    logging.getLogger("api.chat").info("user wrote: %s", f"my id is {HETU}, mail {EMAIL}, call 040 123 4567")
    logging.getLogger("some.library").warning(f"raw f-string with {EMAIL}")
    err = capsys.readouterr().err
    assert HETU not in err and EMAIL not in err and "040 123 4567" not in err
    assert err.count("[EMAIL]") == 2 and "[HETU]" in err and "[PHONE]" in err
    assert "api.chat" in err and "some.library" in err


def test_exception_text_is_redacted_but_traceback_kept(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO)
    try:
        raise ValueError(f"bad input {HETU}")
    except ValueError:
        logging.getLogger("api.chat").exception("turn failed")
    err = capsys.readouterr().err
    assert HETU not in err and "ValueError: bad input [HETU]" in err and "Traceback" in err


def test_chatty_libraries_are_quiet(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(logging.INFO)
    logging.getLogger("bm25s").debug("Building index from tokens")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:SECRET/sendMessage")
    assert capsys.readouterr().err == ""


def test_json_lines_are_redacted_too(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    configure_logging(logging.INFO, json_lines=True)
    logging.getLogger("api.chat").warning("turn %s from %s", "c-1", EMAIL)
    line = json.loads(capsys.readouterr().err.strip())
    assert line["logger"] == "api.chat" and line["level"] == "WARNING" and line["message"] == "turn c-1 from [EMAIL]"


ACCESS_LOGGING_SERVER = """
import sys, uvicorn
from fastapi import FastAPI
from knowledge_base.logging_setup import configure_logging
configure_logging()
app = FastAPI()
@app.get("/ping")
def ping() -> dict:
    return {"ok": True}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
"""


def test_uvicorn_access_lines_carry_no_client_address(tmp_path: Path) -> None:
    """A real uvicorn server, configured as `python -m api` configures it."""
    import subprocess
    import sys

    import httpx

    from knowledge_base.settings import REPO_DIR
    from tests.bot_stack import free_port, wait_until

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-c", ACCESS_LOGGING_SERVER, str(port)], cwd=REPO_DIR, stderr=out)
    try:
        wait_until(f"http://127.0.0.1:{port}/ping", 60, server)
        with httpx.Client() as client:
            assert client.get(f"http://127.0.0.1:{port}/ping?after=3").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
    text = log.read_text()
    access = [line for line in text.splitlines() if "uvicorn.access" in line and "/ping?after=3" in line]
    assert access, text
    assert all("127.0.0.1" not in line for line in access), access
    assert all('- - "GET /ping?after=3 HTTP/1.1" 200' in line for line in access), access
