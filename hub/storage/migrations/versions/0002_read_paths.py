"""read paths: indexes for search by order-number prefix and customer substring (PostgreSQL)

Revision ID: 0002_read_paths
Revises: 0001_initial
Create Date: 2026-11-25 00:10:00

`GET /api/v1/search` matched orders with `number LIKE 'x%'` and customers with `lower(name|email) LIKE
'%x%'`: sequential scans, ~35 ms each on 100,000 orders / 50,000 customers (bench/console.py). The
default btree on `orders.number` serves LIKE prefixes only under the C collation; `text_pattern_ops`
serves them under any. Substring matches need trigram indexes (pg_trgm, a trusted extension shipped with
PostgreSQL's contrib; skipped with a notice where it is not available: search then still works, slower).
SQLite needs no index: the repository matches prefixes there with a range on the unique index.
These indexes are not described by the models (see `_UNMAPPED` in hub/storage/migrate.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_read_paths"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGRAM = {
    "ix_customer_name_trgm": "customer USING gin (lower(name) gin_trgm_ops)",
    "ix_customer_email_trgm": "customer USING gin (lower(email) gin_trgm_ops)",
    "ix_customer_phone_trgm": "customer USING gin (phone gin_trgm_ops)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_orders_number_prefix ON orders (number text_pattern_ops)")
    available = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in _TRIGRAM.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in (*_TRIGRAM, "ix_orders_number_prefix"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
