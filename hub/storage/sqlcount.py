"""Debug aid (`OMNIHUB_DEBUG_SQL_COUNT=true`): count the SQL statements of each HTTP request.

Every statement the engine sends through a DBAPI cursor while a request is being handled (the auth
middleware's too) is counted in a per-request context variable, and the response carries the total in
an `X-SQL-Statements` header. Benchmarks print it and tests assert per-endpoint budgets with it, so a
query per list row (N+1) shows up as a failing number. Off by default: it costs a listener call per
statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

HEADER = "x-sql-statements"

# A one-element list rather than an int: the listener runs in SQLAlchemy's greenlet, which sees a copy
# of the request's context, so it must mutate a shared object instead of setting the variable.
_counter: ContextVar[list[int] | None] = ContextVar("omnihub_sql_statements", default=None)


def _count_statement(*_args: Any) -> None:
    counter = _counter.get()
    if counter is not None:
        counter[0] += 1


def install(engine: AsyncEngine) -> None:
    """Count the statements `engine` runs inside `counting()` blocks (idempotent)."""
    if not event.contains(engine.sync_engine, "before_cursor_execute", _count_statement):
        event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)


@contextmanager
def counting() -> Iterator[list[int]]:
    """Count statements run inside the block; the total is `counter[0]`."""
    counter = [0]
    token = _counter.set(counter)
    try:
        yield counter
    finally:
        _counter.reset(token)


def sql_count_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding `X-SQL-Statements: N` to every HTTP response (outermost, so auth counts)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with counting() as counter:

            async def send_with_count(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers") or [])
                    headers.append((HEADER.encode(), str(counter[0]).encode()))
                    message = {**message, "headers": headers}  # type: ignore[typeddict-item]
                await send(message)

            await app(scope, receive, send_with_count)

    return middleware
