"""Settings: one typed object, read once from the environment or a `.env` file."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/omnihub.db"


class Settings(BaseSettings):
    """Everything configurable. Names are `OMNIHUB_<FIELD>` (CONTRACT.md, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="OMNIHUB_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")
    #: Prefix for Redis keys and channels, so several hubs (or test runs) can share one Redis.
    redis_namespace: str = "omnihub"
    #: A resolved conversation reopens when the customer writes again within this many days.
    reopen_window_days: float = 7.0
    #: Outbound delivery: attempts before a message is `failed`, and the first retry delay.
    send_max_attempts: int = 5
    send_retry_base_seconds: float = 2.0
    #: How often the sweeper re-enqueues messages left `queued`/`sending` by a lost job or crash.
    sweeper_interval_seconds: float = 15.0
    #: A queued row younger than this still has its job in flight: the sweeper leaves it alone.
    sweeper_grace_seconds: float = 10.0
    stuck_sending_seconds: float = 120.0
    #: Run the outbound worker inside `serve` (the embedded default); `omnihub worker` runs it apart.
    inprocess_worker: bool = True
    worker_concurrency: int = 20
    max_attachment_bytes: int = 25 * 1024 * 1024
    #: PostgreSQL connections per process: the general pool (plus half again in bursts) and the ingest hot
    #: path's own pool. Two web processes and a worker stay at 3 x 25 = 75, under PostgreSQL's default 100.
    db_pool_size: int = 10
    db_hot_pool_size: int = 10
    log_level: str = "INFO"
    log_json: bool = False
    #: Apply migrations at start-up on the embedded SQLite default (never on other databases).
    auto_migrate: bool = True
    #: Debug aid: count SQL statements per HTTP request into an `X-SQL-Statements` header (hub/storage/sqlcount.py).
    debug_sql_count: bool = False

    @cached_property
    def resolved_secret_key(self) -> str:
        """The configured key, else one generated once into `var/secret_key` (kept private)."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key)
        tmp.chmod(0o600)
        tmp.replace(path)
        return key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")

    def prepare_dirs(self) -> None:
        """Create `var/` and the SQLite file's folder when they are missing."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.is_sqlite and ":memory:" not in self.database_url:
            db_path = self.database_url.split(":///", 1)[-1]
            if db_path:
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment/.env, with explicit overrides (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
