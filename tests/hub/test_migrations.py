"""Migrations create exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import conversation.models  # noqa: F401  (registers the tables)
from hub.storage.engine import create_engine
from hub.storage.migrate import current_heads, expected_heads, include_object, pending_migrations


# SQLite's reflection cannot read expression indexes (0003's lower(name)); they are listed in _UNMAPPED.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_database_is_at_head_and_matches_the_models(database_url: str) -> None:
    assert await current_heads(database_url) == expected_heads()
    assert not await pending_migrations(database_url)
    engine = create_engine(database_url, pool_size=1)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        return list(compare_metadata(context, SQLModel.metadata))

    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []
