"""Search statements can use their indexes (PostgreSQL): order-number prefixes and customer substrings.

Without them `GET /api/v1/search` scanned every order and customer (~35 ms each at 100,000 orders /
50,000 customers, bench/console.py). Tables here are tiny, so sequential scans are disabled to ask the
planner whether an index *can* serve each statement the repository really sends.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from conversation.models import Customer, Inbox, Order
from conversation.repository import search
from hub.storage.engine import SessionFactory


def _letters(n: int) -> str:
    """`n` in base 26 as letters (names whose trigrams never look like order numbers)."""
    word = ""
    while True:
        n, digit = divmod(n, 26)
        word += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return word


async def test_order_and_customer_search_statements_use_indexes(db: SessionFactory) -> None:
    async with db() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("PostgreSQL-only indexes (0002_read_paths); SQLite scans its small tables")
        inbox = Inbox(kind="api", name="shop")
        session.add_all([inbox, Customer(name="Ada Lovelace", email="ada@example.com"), Order(number="150123")])
        # Enough rows that an index is worth it to the planner (statistics, then ANALYZE).
        people = [{"name": f"Person {_letters(i)}", "email": f"{_letters(i)}@example.org"} for i in range(20000)]
        raw = await session.connection()  # bulk statements below the ORM
        await raw.execute(sa.insert(Customer), people)
        await raw.execute(sa.insert(Order), [{"number": str(200000 + i)} for i in range(20000)])
        await session.commit()
        raw = await session.connection()
        # Rows inserted after CREATE INDEX wait in GIN's pending list (merged by autovacuum in production),
        # which the planner prices high: merge it, as the bench's freshly built indexes are.
        await raw.execute(
            sa.text(
                "SELECT gin_clean_pending_list(oid::regclass) FROM pg_class WHERE relname LIKE 'ix_customer_%_trgm'"
            )
        )
        for table in ("customer", "orders"):
            await raw.execute(sa.text(f"ANALYZE {table}"))
        statements: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            statements.append((statement, parameters))

        sync_engine = getattr(session.bind, "sync_engine", session.bind)
        event.listen(sync_engine, "before_cursor_execute", capture)
        try:
            found = await search(session, "#150123", [inbox.id or 0])
            by_name = await search(session, "lovelace", [inbox.id or 0])
        finally:
            event.remove(sync_engine, "before_cursor_execute", capture)
        assert [o["number"] for o in found["orders"]] == ["150123"]
        assert [c["name"] for c in by_name["customers"]] == ["Ada Lovelace"]
        plans = []
        raw = await session.connection()
        await raw.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for statement, parameters in statements:
            if "FROM orders" in statement or "FROM customer" in statement:
                result = await raw.exec_driver_sql("EXPLAIN " + statement, parameters)
                plans.append("\n".join(r[0] for r in result.all()))
        text = "\n".join(plans)
        for index in ("ix_orders_number_prefix", "ix_customer_name_trgm", "ix_customer_email_trgm"):
            assert index in text, f"{index} not used:\n{text}"
        assert "Seq Scan" not in text, text
