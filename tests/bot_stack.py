"""Real Rasa and action servers for the end-to-end tests, started once per test run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from knowledge_base import rasa_project
from knowledge_base.settings import REPO_DIR, Settings

RASA_START_SECONDS = 240
ACTIONS_START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, seconds: float, process: subprocess.Popen[bytes], params: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, params=params, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@dataclass
class BotStack:
    settings: Settings
    rasa_port: int
    actions_port: int
    log_dir: Path
    rasa: subprocess.Popen[bytes] | None = None
    actions: subprocess.Popen[bytes] | None = None

    def start_actions(self) -> None:
        env = {
            **os.environ,
            "OPASTIN_STATE_DIR": str(self.settings.state_dir),
            "OPASTIN_ACTION_SERVER_TOKEN": rasa_project.action_server_token(self.settings),
        }
        env.pop("DATABASE_URL", None)
        with (self.log_dir / "actions.log").open("ab") as log:
            self.actions = subprocess.Popen(
                rasa_project.action_server_argv(sys.executable, self.actions_port),
                cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(f"http://127.0.0.1:{self.actions_port}/health", ACTIONS_START_SECONDS, self.actions)

    def start_rasa(self) -> None:
        with (self.log_dir / "rasa.log").open("ab") as log:
            self.rasa = subprocess.Popen(
                rasa_project.server_argv(self.settings, self.rasa_port),
                cwd=REPO_DIR, env=rasa_project.rasa_env(self.settings), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(
            f"http://127.0.0.1:{self.rasa_port}/status", RASA_START_SECONDS, self.rasa, {"token": self.settings.rasa_token}
        )

    @staticmethod
    def _stop(process: subprocess.Popen[bytes] | None, kill: bool = False) -> None:
        if process is None or process.poll() is not None:
            return
        process.kill() if kill else process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def run_action(
        self, action: str, text: str, *, intent: str, language: str = "en", slots: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Run one custom action in the action server process, as Rasa would after `text`;
        returns the replies' custom payloads (message key, params, services, effects)."""
        tracker = {
            "sender_id": "action-test", "slots": {"failures": 0, **(slots or {})},
            "latest_message": {"text": text, "intent": {"name": intent}},
            "events": [{"event": "user", "text": text, "metadata": {"language": language, **(metadata or {})}}],
            "paused": False, "active_loop": {}, "latest_action_name": "action_listen",
        }  # fmt: skip
        body = {"next_action": action, "sender_id": "action-test", "tracker": tracker,
                "domain": {"version": "3.1", "slots": {}}, "version": "3.6.21"}  # fmt: skip
        headers = {rasa_project.ACTION_TOKEN_HEADER: rasa_project.action_server_token(self.settings)}
        response = httpx.post(f"http://127.0.0.1:{self.actions_port}/webhook", json=body, headers=headers, timeout=60)
        response.raise_for_status()
        return [reply.get("custom") or {} for reply in response.json()["responses"]]

    def kill_rasa(self) -> None:
        self._stop(self.rasa, kill=True)

    def stop_actions(self) -> None:
        self._stop(self.actions)

    def stop(self) -> None:
        self._stop(self.rasa)
        self._stop(self.actions)


def start_bot_stack(settings: Settings, log_dir: Path) -> BotStack:
    """Train if the model is missing or stale (set-up normally did), then start both servers."""
    repo_settings = Settings()
    rasa_project.train(repo_settings)
    models = rasa_project.model_dir(settings)
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(rasa_project.model_path(repo_settings), rasa_project.model_path(settings))
    rasa_port, actions_port = free_port(), free_port()
    stack_settings = settings.model_copy(
        update={
            "rasa_url": f"http://127.0.0.1:{rasa_port}",
            "rasa_servers": 1,  # the stack starts one Rasa server itself
            "action_server_url": f"http://127.0.0.1:{actions_port}",
            "rasa_token": "test-token-" + os.urandom(8).hex(),
            "action_server_token": "test-actions-" + os.urandom(8).hex(),
            "retry_interval_seconds": 0.5,
        }
    )
    stack = BotStack(stack_settings, rasa_port, actions_port, log_dir)
    stack.start_actions()
    stack.start_rasa()
    return stack
