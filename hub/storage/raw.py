"""Driver connections for the ingest hot path, outside SQLAlchemy's pool.

A pooled SQLAlchemy checkout costs a reset (rollback) round trip on return; the hot path runs one
autocommit statement per message, so it keeps its own asyncpg pool (PostgreSQL) or its one writer
connection (SQLite, where writes are serialised anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


async def _no_reset(connection: Any) -> None:
    # The hot path runs single autocommit statements: no session state to clean between uses, so skip the
    # default reset query (a round trip per release).
    return None


def _plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


class RawConnections:
    """Lazily opened, per-process driver connections (create them in the loop that uses them)."""

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.url = url
        self.max_size = max_size
        self._pool: Any = None
        self._sqlite: Any = None
        self._lock = asyncio.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def _open(self) -> None:
        async with self._lock:
            if self._pool is not None or self._sqlite is not None:
                return
            if self.is_sqlite:
                import aiosqlite

                connection = await aiosqlite.connect(_sqlite_path(self.url), timeout=30, isolation_level=None)
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
                    await connection.execute(f"PRAGMA {pragma}")
                self._sqlite = connection
            else:
                import asyncpg

                self._pool = await asyncpg.create_pool(
                    _plain_url(self.url),
                    min_size=1,
                    max_size=self.max_size,
                    server_settings={"application_name": "omnihub"},
                    reset=_no_reset,
                )

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """An asyncpg connection from the hot-path pool, or the SQLite writer connection."""
        if self._pool is None and self._sqlite is None:
            await self._open()
        if self._sqlite is not None:
            yield self._sqlite
            return
        async with self._pool.acquire() as connection:
            yield connection

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = None
