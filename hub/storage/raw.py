"""Driver connections for the hot paths, outside SQLAlchemy's pool.

A pooled SQLAlchemy checkout costs a reset (rollback) round trip on return; the hot paths run one
autocommit statement per message, so they keep their own asyncpg pool (PostgreSQL) or one writer
connection (SQLite, where writes are serialised anyway).

The SQLite writer is a plain `sqlite3` connection owned by one thread: a caller hands it a whole
transaction (`await writer.run(fn, ...)`, `fn(connection, ...)` runs there synchronously), so a message
costs one hop between the event loop and that thread. Through aiosqlite every statement and every
`fetchone` was a hop of its own (seven per message), and each hop back waits for the GIL while the loop
is busy with other requests: the writer lock was held mostly for those waits (bench/NOTES.md, *ingest*).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000")


class SqliteWriter:
    """One `sqlite3` connection in autocommit mode, used only from its own thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnihub-sqlite-writer")
        self._connection: sqlite3.Connection | None = None

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            for pragma in _SQLITE_PRAGMAS:
                connection.execute(f"PRAGMA {pragma}")
            self._connection = connection
        return fn(self._connection, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on the writer thread; its exceptions propagate."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, args)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)


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
                self._sqlite = SqliteWriter(_sqlite_path(self.url))
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
        """An asyncpg connection from the hot-path pool, or the SQLite writer (`SqliteWriter`)."""
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
