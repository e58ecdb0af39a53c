"""customer name lookups: an index on lower(name) for same-name merge suggestions

Revision ID: 0003_customer_name
Revises: 0002_read_paths
Create Date: 2026-11-25 03:15:00

A new customer with a full name another customer already has becomes a merge suggestion (DESIGN.md,
identity resolution: weaker matches are suggested, never merged). The lookup runs once per new customer,
inside ingest: an expression index keeps it a probe at any number of customers, on both databases.
Not described by the models (see `_UNMAPPED` in hub/storage/migrate.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_customer_name"
down_revision: str | Sequence[str] | None = "0002_read_paths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_customer_name_lower ON customer (lower(name))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_customer_name_lower")
