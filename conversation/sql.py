"""Small dialect-aware SQL helpers (PostgreSQL and SQLite share the same statements otherwise)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession


def insert_or_ignore(session: AsyncSession, table: sa.Table, conflict_columns: list[str]) -> Any:
    """`INSERT ... ON CONFLICT (cols) DO NOTHING` for the session's dialect (add .values/.returning)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)


def dialect_name(session: AsyncSession) -> str:
    """ "postgresql" or "sqlite"."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"
