"""Test fixtures: a real database (SQLite, or PostgreSQL + Redis in the integration pass) and a live hub.

`OMNIHUB_TEST_BACKEND=postgres` runs the suite against `OMNIHUB_TEST_DATABASE_URL` (default: the local
server) in a fresh database per run, with Redis (`OMNIHUB_TEST_REDIS_URL`) under a fresh namespace.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from connectors.http import close_shared_client
from hub.config import Settings, load_settings
from hub.storage.engine import SessionFactory, create_engine, create_session_factory
from hub.storage.migrate import upgrade
from tests.live import LiveHub

BACKEND = os.environ.get("OMNIHUB_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("OMNIHUB_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OMNIHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


def pytest_report_header(config: pytest.Config) -> str:
    return f"omnihub test backend: {BACKEND}" + (f" (redis {REDIS_URL})" if BACKEND == "postgres" else "")


async def _pg_admin(statement: str) -> None:
    import asyncpg

    url = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(autouse=True)
async def _close_shared_http_client() -> AsyncIterator[None]:
    """Each test's event loop closes the pooled connector HTTP client it opened, as `Services.close` does."""
    yield
    await close_shared_client()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this test run, dropped at the end."""
    if BACKEND == "postgres":
        name = f"omnihub_test_{RUN_ID}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = _pg_url(name)
        upgrade(url)
        yield url
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / "omnihub.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str | None]:
    """Redis for the integration pass (keys under this run's namespace are deleted afterwards)."""
    if BACKEND != "postgres":
        yield None
        return
    yield REDIS_URL
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"*omnihub_test_{RUN_ID}*"):  # ours and SAQ's "saq:<queue>" keys
        client.delete(key)
    client.close()


_TABLES_IN_DELETE_ORDER: list[str] = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]


async def _reset(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            if url.startswith("postgresql"):
                tables = ", ".join(f'"{t}"' for t in _TABLES_IN_DELETE_ORDER)
                await connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            else:
                for table in _TABLES_IN_DELETE_ORDER:
                    await connection.execute(sa.text(f'DELETE FROM "{table}"'))
                await connection.execute(sa.text("INSERT INTO message_fts(message_fts) VALUES ('rebuild')"))
    finally:
        await engine.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[SessionFactory]:
    """A session factory on the emptied test database (the test's own engine and loop)."""
    await _reset(database_url)
    engine = create_engine(database_url, pool_size=2)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def settings(database_url: str, redis_url: str | None, tmp_path: Path) -> Settings:
    """Settings for a hub under test (its own var dir, this run's Redis namespace)."""
    return load_settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_namespace=f"omnihub_test_{RUN_ID}_{uuid.uuid4().hex[:6]}",
        var_dir=tmp_path / "var",
        secret_key="test-secret-key-" + "x" * 32,
        public_url="https://hub.example.com",
        send_retry_base_seconds=0.05,
        sweeper_interval_seconds=0.5,
        sweeper_grace_seconds=1.0,
        auto_migrate=False,
    )


@pytest.fixture
async def hub(db: SessionFactory, settings: Settings) -> AsyncIterator[LiveHub]:
    """A running hub (uvicorn in a thread) on the emptied database."""
    live = LiveHub(settings)
    await asyncio.to_thread(live.start)
    try:
        yield live
    finally:
        await asyncio.to_thread(live.stop)


DB_FIXTURES = {"db", "hub", "database_url", "settings"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[Any]) -> None:
    """The PostgreSQL pass runs the tests that touch the database; pure logic ran in the SQLite pass."""
    if BACKEND != "postgres":
        return
    keep = [item for item in items if DB_FIXTURES & set(getattr(item, "fixturenames", ()))]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
