"""Run the whole product: Rasa, the action server and the API, each a process of its
own, restarted when it crashes and stopped together (Ctrl-C or SIGTERM).

    python -m api.supervisor          # what scripts/run.sh starts
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from urllib.parse import urlsplit

from knowledge_base import rasa_project
from knowledge_base.logging_setup import configure_logging
from knowledge_base.settings import REPO_DIR, Settings, get_settings

logger = logging.getLogger("opastin.supervisor")

MAX_BACKOFF_SECONDS = 30.0
STOP_GRACE_SECONDS = 10.0
READY_WAIT_SECONDS = 60.0


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    next_start: float = 0.0
    backoff: float = field(default=1.0)
    started_at: float = 0.0
    ready_port: tuple[str, int] | None = None  # the next process starts once this listens

    def start(self) -> None:
        logger.info("starting %s", self.name)
        self.process = subprocess.Popen(self.argv, cwd=REPO_DIR, env=self.env)
        self.started_at = time.monotonic()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def product_processes(settings: Settings) -> list[ManagedProcess]:
    python = sys.executable
    token = rasa_project.rasa_token(settings)
    env = {**os.environ, "OPASTIN_RASA_TOKEN": token}
    # The API first: it answers searches within seconds, while Rasa needs about a minute
    # to load anyway; starting all three at once on 2 cores slowed the API's start 2-3x.
    rasa_env = rasa_project.rasa_env(settings)
    rasa_urls = rasa_project.rasa_urls(settings)
    return [
        ManagedProcess("api", [python, "-m", "api"], env, ready_port=(settings.api_host, settings.api_port)),
        ManagedProcess("actions", rasa_project.action_server_argv(python, port_of(settings.action_server_url)), env),
        *(
            ManagedProcess("rasa" if len(rasa_urls) == 1 else f"rasa-{i}", rasa_project.server_argv(settings, port_of(url)), rasa_env)
            for i, url in enumerate(rasa_urls)
        ),
    ]


def port_of(url: str) -> int:
    """The port Rasa or the action server listens on: the one in its URL setting."""
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def wait_until_listening(address: tuple[str, int], process: subprocess.Popen[bytes], seconds: float) -> None:
    """Until `address` accepts connections, the process exits, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(address) == 0:
                return
        time.sleep(0.1)


def supervise(processes: list[ManagedProcess]) -> None:
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        logger.info("signal %s: stopping everything", signum)
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    for managed in processes:
        managed.start()
        if managed.ready_port is not None and managed.process is not None:
            wait_until_listening(managed.ready_port, managed.process, READY_WAIT_SECONDS)
    while not stopping:
        now = time.monotonic()
        for managed in processes:
            code = managed.exited()
            if code is None or now < managed.next_start:
                continue
            if managed.next_start == 0.0:
                # Crashed: wait a little longer after each crash that came soon after a start.
                quick = now - managed.started_at < 60
                managed.backoff = min(managed.backoff * 2, MAX_BACKOFF_SECONDS) if quick else 1.0
                managed.next_start = now + managed.backoff
                logger.warning("%s exited with %s; restarting in %.0f s", managed.name, code, managed.backoff)
                continue
            managed.next_start = 0.0
            managed.start()
        time.sleep(0.5)
    for managed in processes:
        managed.stop()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for managed in processes:
        managed.wait_or_kill(deadline)


def main() -> None:
    configure_logging()
    settings = get_settings()
    rasa_project.train(settings)
    supervise(product_processes(settings))


if __name__ == "__main__":
    main()
