"""`/api/v1/search`: one query across messages, customers and orders."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from conversation.access import visible_inbox_subquery
from conversation.models import Agent
from conversation.repository import search
from conversation.uow import UnitOfWork


@get("/api/v1/search", tags=["search"], summary="Search messages, customers and order numbers")
async def search_everything(
    request: Request[Agent, Any, Any],
    uow: NamedDependency[UnitOfWork],
    q: FromQuery[str] = "",
    limit: FromQuery[int] = 20,
) -> dict[str, Any]:
    inbox_ids = visible_inbox_subquery(request.user)  # a subquery: no statement of its own
    return {"q": q, **await search(uow.session, q, inbox_ids, limit=limit)}
