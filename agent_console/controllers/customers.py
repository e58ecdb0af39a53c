"""`/api/v1/customers`: profiles with identities, orders and conversations; merge and undo."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody

from conversation.access import visible_inbox_ids, visible_inbox_subquery
from conversation.customers import MergeRejected, merge_customers, open_suggestions, undo_merge
from conversation.models import Agent, Conversation, Customer
from conversation.repository import get_customer_profile
from conversation.uow import UnitOfWork
from conversation.views import customer_view


class MergeRequest(msgspec.Struct):
    """Merge `other_id` into the customer in the URL."""

    other_id: int


async def _check_visible(uow: UnitOfWork, agent: Agent, customer_id: int, inbox_ids: list[int]) -> None:
    """Agents see customers who wrote to one of their inboxes (or have no conversation yet); admins all."""
    if agent.role == "admin":
        return
    rows = (
        await uow.session.exec(sa.select(Conversation.inbox_id).where(Conversation.customer_id == customer_id))
    ).all()  # type: ignore[call-overload]
    inboxes = {r[0] for r in rows}
    if inboxes and not inboxes & set(inbox_ids):
        raise NotFoundException("customer not found")


def _merge_error(exc: MergeRejected) -> Exception:
    return NotFoundException(str(exc)) if exc.status_code == 404 else ValidationException(str(exc))


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get("/", summary="Find customers by name, email or phone")
    async def search(
        self,
        request: Request[Agent, Any, Any],
        uow: NamedDependency[UnitOfWork],
        q: FromQuery[str] = "",
        limit: FromQuery[int] = 25,
    ) -> dict[str, Any]:
        query = sa.select(Customer).where(Customer.merged_into_id.is_(None))  # type: ignore[union-attr]
        if q.strip():
            like = f"%{q.strip().lower()}%"
            query = query.where(
                sa.or_(
                    sa.func.lower(Customer.name).like(like),
                    sa.func.lower(Customer.email).like(like),
                    Customer.phone.like(like),
                )  # type: ignore[union-attr]
            )
        rows = (
            (await uow.session.exec(query.order_by(Customer.id.desc()).limit(max(1, min(limit, 100))))).scalars().all()
        )  # type: ignore[union-attr,call-overload]
        return {"items": [customer_view(c) for c in rows]}

    @get("/{customer_id:int}", summary="A customer with identities, orders and conversations")
    async def get_one(
        self, request: Request[Agent, Any, Any], customer_id: FromPath[int], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        # Visibility rides on the profile's first statement (a fixed statement budget per request).
        inboxes = visible_inbox_subquery(request.user)
        profile = await get_customer_profile(uow.session, customer_id, inboxes, visible_only=True)
        if profile is None:
            raise NotFoundException("customer not found")
        profile["merge_suggestions"] = await open_suggestions(uow, customer_id)
        return profile

    @post("/{customer_id:int}/merge", status_code=200, summary="Merge another customer into this one")
    async def merge(
        self,
        request: Request[Agent, Any, Any],
        customer_id: FromPath[int],
        data: JSONBody[MergeRequest],
        uow: NamedDependency[UnitOfWork],
    ) -> dict[str, Any]:
        agent = request.user
        inbox_ids = await visible_inbox_ids(uow.session, agent)
        await _check_visible(uow, agent, customer_id, inbox_ids)
        await _check_visible(uow, agent, data.other_id, inbox_ids)
        try:
            audit_id = await merge_customers(uow, customer_id, data.other_id, agent)
        except MergeRejected as exc:
            raise _merge_error(exc) from exc
        await uow.commit()
        profile = await get_customer_profile(uow.session, customer_id, None)
        return {"merge_id": audit_id, "customer": profile}

    @post("/merges/{merge_id:int}/undo", status_code=200, summary="Undo a merge")
    async def undo(
        self, request: Request[Agent, Any, Any], merge_id: FromPath[int], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        try:
            restored = await undo_merge(uow, merge_id, request.user)
        except MergeRejected as exc:
            raise _merge_error(exc) from exc
        await uow.commit()
        return {"restored_customer_id": restored}
