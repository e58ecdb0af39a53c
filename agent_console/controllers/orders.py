"""`/api/v1/orders`: upsert by number, read back."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody
from sqlmodel import select

from conversation.models import Agent, Order
from conversation.orders import InvalidOrder, order_input_from_payload, upsert_order
from conversation.uow import UnitOfWork
from conversation.views import order_view


class OrderController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]

    @post("/", status_code=200, summary="Create or update an order (by number)")
    async def upsert(
        self, request: Request[Agent, Any, Any], data: JSONBody[dict[str, Any]], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        try:
            order_input = order_input_from_payload(data, source="api")
        except InvalidOrder as exc:
            raise ValidationException(str(exc), extra=exc.problems) from exc
        order, changed = await upsert_order(uow, order_input)
        await uow.commit()
        return {**order_view(order), "changed": changed}

    @get("/{number:str}", summary="An order by its number")
    async def get_one(
        self, request: Request[Agent, Any, Any], number: FromPath[str], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        order = (await uow.session.exec(select(Order).where(Order.number == number.lstrip("#")))).first()
        if order is None:
            raise NotFoundException("order not found")
        return order_view(order)
