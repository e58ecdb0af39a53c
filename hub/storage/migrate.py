"""Apply and check Alembic migrations (`omnihub migrate`, start-up checks)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from hub.storage.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


#: Full-text search lives outside the ORM (a generated tsvector column on PostgreSQL, an FTS5 table and
#: triggers on SQLite); keep autogenerate from proposing to drop it. NB: on SQLite, a batch migration
#: that recreates `message` drops the FTS triggers: recreate them in that migration.
_UNMAPPED = {
    "search_vector",
    "message_fts",
    "message_fts_data",
    "message_fts_idx",
    "message_fts_docsize",
    "message_fts_config",
    "ix_message_search",
    # Search indexes of 0002_read_paths (PostgreSQL-only operator classes the models cannot express).
    "ix_orders_number_prefix",
    "ix_customer_name_trgm",
    "ix_customer_email_trgm",
    "ix_customer_phone_trgm",
    # 0003_customer_name: an expression index (lower(name)).
    "ix_customer_name_lower",
}


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic filter: ignore the full-text search objects the models do not describe."""
    return not (reflected and name in _UNMAPPED)


def alembic_config(url: str) -> Config:
    """An Alembic config for `url` (no alembic.ini needed at run time)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _in_thread(fn: object, *args: object) -> None:
    """Alembic's env.py runs its own event loop: give it a thread when one is already running."""
    error: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` up to `revision` (all heads by default)."""
    cfg = alembic_config(url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(cfg, revision)
    else:
        _in_thread(command.upgrade, cfg, revision)


def expected_heads() -> set[str]:
    """The head revisions in the code."""
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def current_heads(url: str) -> set[str]:
    """The revisions the database at `url` is at (empty for an unmigrated database)."""
    engine = create_engine(url, pool_size=1)

    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def pending_migrations(url: str) -> bool:
    """True when the database is not at the code's head revisions."""
    return await current_heads(url) != expected_heads()
