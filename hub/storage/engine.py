"""Async engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the console read while ingest writes; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine tuned for the URL's database."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max(1, pool_size // 2),
        # No pre-ping: it costs a round trip per checkout on the hot path. Recycling bounds connection age, and
        # a connection that died anyway fails its request (a 5xx the provider retries), then leaves the pool.
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "omnihub"}},
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (we serialise after committing)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def create_autocommit_session_factory(engine: AsyncEngine) -> SessionFactory | None:
    """Sessions whose statements each commit on their own: no BEGIN/COMMIT round trips (PostgreSQL).

    For reads and single-statement writes on hot paths (GET requests, outbound delivery state). None on
    SQLite, which opens no transaction for reads and needs one to serialise writers.
    """
    if engine.dialect.name == "sqlite":
        return None
    return create_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
