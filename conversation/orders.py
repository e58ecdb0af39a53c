"""Orders: upsert by number, link to the customer by email/phone, keep the status history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from conversation.addresses import normalize_email, normalize_phone
from conversation.events import ORDER_UPDATED, DomainEvent
from conversation.identities import find_customer_by_contact
from conversation.models import Conversation, Customer, Identity, Order, OrderStatusChange, utcnow
from conversation.sql import insert_or_ignore
from conversation.types import ChannelKind
from conversation.uow import UnitOfWork
from conversation.views import order_view

ORDER_STATUSES = (
    "pending",
    "paid",
    "fulfilled",
    "partially_fulfilled",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
)
_order = Order.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]


class InvalidOrder(ValueError):
    """An order payload that cannot be stored (422 with the reasons)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(slots=True)
class OrderInput:
    """A validated order from any source (API, import, Shopify)."""

    number: str
    status: str
    email: str | None = None
    phone: str | None = None
    customer_name: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    total: str = "0.00"
    subtotal: str | None = None
    currency: str = "USD"
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    store: str = ""
    source: str = "api"
    external_id: str | None = None
    shipping_address: dict[str, Any] = field(default_factory=dict)
    billing_address: dict[str, Any] = field(default_factory=dict)
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    fulfillment_status: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    eta: datetime | None = None


def parse_time(value: Any, name: str, problems: list[str]) -> datetime | None:
    """An aware datetime from an ISO 8601 string (naive times are taken as UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{name} is not an ISO 8601 date/time: {value!r}")
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(value: Any, name: str, problems: list[str]) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError):
        problems.append(f"{name} is not a number: {value!r}")
        return None


def _items(value: Any, problems: list[str]) -> list[dict[str, Any]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        problems.append("items must be a list of objects")
        return []
    return [
        {
            "name": str(i.get("name") or i.get("title") or "item"),
            "sku": i.get("sku"),
            "quantity": int(i.get("quantity") or 1),
            "price": i.get("price"),
        }
        for i in value
    ]


def _fulfillment_list(value: Any, problems: list[str]) -> list[dict[str, Any]]:
    """Every shipment of an order (a store may split one order into several parcels)."""
    if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
        problems.append("fulfillments must be a list of objects")
        return []
    return [{k: v for k, v in f.items() if v is not None} for f in value]


def order_input_from_payload(data: dict[str, Any], source: str = "api") -> OrderInput:
    """Validate a CONTRACT.md order object (`POST /api/v1/orders`, imports). Raises InvalidOrder."""
    problems: list[str] = []
    number = str(data.get("number") or "").strip()
    if not number:
        problems.append("number is required")
    status = str(data.get("status") or "pending").strip().lower().replace(" ", "_")
    if status not in ORDER_STATUSES:
        problems.append(f"status must be one of: {', '.join(ORDER_STATUSES)}")
    customer = data.get("customer") or {}
    if not isinstance(customer, dict):
        problems.append("customer must be an object")
        customer = {}
    email = normalize_email(customer.get("email")) if customer.get("email") else None
    if customer.get("email") and email is None:
        problems.append(f"customer.email is not a valid email: {customer.get('email')!r}")
    phone = normalize_phone(customer.get("phone")) if customer.get("phone") else None
    if customer.get("phone") and phone is None:
        problems.append(f"customer.phone is not a valid international phone number: {customer.get('phone')!r}")
    fulfillment = data.get("fulfillment") or {}
    if not isinstance(fulfillment, dict):
        problems.append("fulfillment must be an object")
        fulfillment = {}
    currency = str(data.get("currency") or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.append("currency must be a 3-letter ISO 4217 code")
    order = OrderInput(
        number=number[:100],
        status=status,
        email=email,
        phone=phone,
        customer_name=customer.get("name"),
        items=_items(data.get("items"), problems),
        total=_money(data.get("total"), "total", problems) or "0.00",
        subtotal=_money(data.get("subtotal"), "subtotal", problems),
        currency=currency,
        placed_at=parse_time(data.get("placed_at"), "placed_at", problems),
        updated_at=parse_time(data.get("updated_at"), "updated_at", problems),
        store=str(data.get("store") or ""),
        source=source,
        external_id=str(data["external_id"]) if data.get("external_id") else None,
        shipping_address=data.get("shipping_address") or {},
        billing_address=data.get("billing_address") or {},
        fulfillment_status=fulfillment.get("status"),
        carrier=fulfillment.get("carrier"),
        tracking_number=fulfillment.get("tracking_number"),
        tracking_url=fulfillment.get("tracking_url"),
        eta=parse_time(fulfillment.get("eta"), "fulfillment.eta", problems),
    )
    if fulfillment:
        order.fulfillments = [{k: v for k, v in fulfillment.items() if v is not None}]
    if data.get("fulfillments") is not None:
        order.fulfillments = _fulfillment_list(data["fulfillments"], problems)
    if problems:
        raise InvalidOrder(problems)
    return order


async def link_customer(uow: UnitOfWork, order: OrderInput, now: datetime) -> int | None:
    """The customer who owns the order's email/phone; a new customer (with those identities) if none."""
    if not order.email and not order.phone:
        return None
    existing = await find_customer_by_contact(uow.session, order.email, order.phone)
    if existing is not None:
        return existing
    customer_id = (
        await uow.session.exec(
            sa.insert(_customer)
            .values(
                name=order.customer_name,
                email=order.email,
                phone=order.phone,
                attributes={},
                created_at=now,
                updated_at=now,
            )
            .returning(_customer.c.id)
        )
    ).scalar_one()
    # The shop vouches for its customer's contact details: later messages from them join this profile.
    for kind, address in ((ChannelKind.EMAIL, order.email), (ChannelKind.SMS, order.phone)):
        if address:
            await uow.session.exec(
                insert_or_ignore(uow.session, _identity, ["channel_kind", "address"]).values(
                    customer_id=customer_id,
                    channel_kind=kind.value,
                    address=address,
                    email=order.email if kind == ChannelKind.EMAIL else None,
                    phone=order.phone if kind == ChannelKind.SMS else None,
                    display_name=order.customer_name,
                    verified=True,
                    extra={"source": f"order:{order.source}"},
                    created_at=now,
                )
            )
    return int(customer_id)


def _columns(order: OrderInput, customer_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "number": order.number,
        "store": order.store,
        "source": order.source,
        "external_id": order.external_id,
        "customer_id": customer_id,
        "email": order.email,
        "phone": order.phone,
        "status": order.status,
        "currency": order.currency,
        "total": order.total,
        "subtotal": order.subtotal,
        "items": order.items,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "fulfillments": order.fulfillments,
        "fulfillment_status": order.fulfillment_status,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "eta": order.eta,
        "placed_at": order.placed_at,
        "source_updated_at": order.updated_at,
        "updated_at": now,
    }


async def upsert_order(uow: UnitOfWork, order: OrderInput, now: datetime | None = None) -> tuple[Order, bool]:
    """Create or update the order `order.number`. Returns (order, changed).

    An update whose source `updated_at` is older than what we hold is ignored, so webhooks that arrive
    out of order never roll an order back.
    """
    now = now or utcnow()
    current = (await uow.session.exec(sa.select(*_order.c).where(_order.c.number == order.number))).first()
    if (
        current is not None
        and order.updated_at
        and current.source_updated_at
        and order.updated_at < current.source_updated_at
    ):
        return Order(**current._mapping), False
    customer_id = await link_customer(uow, order, now)
    if customer_id is None and current is not None:
        customer_id = current.customer_id
    values = _columns(order, customer_id, now)
    if current is None:
        order_id = (
            await uow.session.exec(sa.insert(_order).values(created_at=now, **values).returning(_order.c.id))
        ).scalar_one()
        previous_status = None
    else:
        order_id = current.id
        previous_status = current.status
        await uow.session.exec(sa.update(_order).where(_order.c.id == order_id).values(**values))
    if previous_status != order.status:
        uow.session.add(
            OrderStatusChange(
                order_id=order_id,
                from_status=previous_status,
                to_status=order.status,
                source=order.source,
                changed_at=now,
            )
        )
    row = (await uow.session.exec(sa.select(*_order.c).where(_order.c.id == order_id))).one()
    stored = Order(**row._mapping)
    await _record_order(uow, stored)
    return stored, True


async def _record_order(uow: UnitOfWork, order: Order) -> None:
    if order.customer_id is None:
        return
    latest = (
        await uow.session.exec(
            sa.select(_conv.c.id, _conv.c.inbox_id)
            .where(_conv.c.customer_id == order.customer_id)
            .order_by(_conv.c.last_activity_at.desc())
            .limit(1)
        )
    ).first()
    if latest is not None:
        uow.record(
            DomainEvent(
                ORDER_UPDATED, {"order": order_view(order), "customer_id": order.customer_id}, latest[1], latest[0]
            )
        )


# --- shipments reported on their own (a store's fulfillment webhooks) ----------------------------------

#: How far along an order is. A shipment update only moves an order forward, and never out of a final state.
_PROGRESS = {"pending": 0, "paid": 1, "partially_fulfilled": 2, "fulfilled": 3, "shipped": 4, "delivered": 5}
_FINAL_STATUSES = frozenset({"cancelled", "refunded"})
#: Fulfillment states that do not describe a parcel on its way (a cancelled or failed shipment).
_INACTIVE_FULFILLMENTS = frozenset({"cancelled", "error", "failure"})


@dataclass(frozen=True, slots=True)
class FulfillmentInput:
    """One shipment of an order, reported apart from the order.

    `fulfillment` is normalised by the source: `id`, `status`, `shipment_status`, `order_status` (what this
    shipment says about the order: `shipped`, `delivered` or None), `carrier`, `tracking_number`,
    `tracking_url`, `eta`, `created_at`, `updated_at` (ISO 8601 strings).
    """

    fulfillment: dict[str, Any]
    order_number: str | None
    order_external_id: str | None
    updated_at: datetime | None
    source: str


def fulfillment_input_from_payload(data: dict[str, Any], source: str) -> FulfillmentInput:
    """Validate a normalised fulfillment event (see `FulfillmentInput`). Raises InvalidOrder."""
    problems: list[str] = []
    fulfillment = data.get("fulfillment")
    if not isinstance(fulfillment, dict) or fulfillment.get("id") in (None, ""):
        problems.append("fulfillment must be an object with an id")
        fulfillment = {}
    number = str(data.get("order_number") or "").strip() or None
    external_id = str(data.get("order_external_id") or "").strip() or None
    if number is None and external_id is None:
        problems.append("a fulfillment must name its order (order_number or order_external_id)")
    updated_at = parse_time(data.get("updated_at"), "updated_at", problems)
    if problems:
        raise InvalidOrder(problems)
    clean = {k: v for k, v in fulfillment.items() if v is not None}
    return FulfillmentInput(clean, number, external_id, updated_at, source)


def _when(value: Any) -> datetime:
    parsed = parse_time(value, "", [])
    return parsed or datetime.min.replace(tzinfo=UTC)


def _latest_active(fulfillments: list[dict[str, Any]]) -> dict[str, Any] | None:
    active = [f for f in fulfillments if f.get("status") not in _INACTIVE_FULFILLMENTS]
    return max(active, key=lambda f: _when(f.get("created_at"))) if active else None


def _shipping_progress(fulfillments: list[dict[str, Any]]) -> str | None:
    """`delivered` when every live parcel arrived, `shipped` when one is on its way, else None."""
    states = [f.get("order_status") for f in fulfillments if f.get("status") not in _INACTIVE_FULFILLMENTS]
    if states and all(state == "delivered" for state in states):
        return "delivered"
    if any(state in ("shipped", "delivered") for state in states):
        return "shipped"
    return None


async def _find_order(uow: UnitOfWork, update: FulfillmentInput) -> Any | None:
    c = _order.c
    if update.order_external_id is not None:
        row = (
            await uow.session.exec(
                sa.select(*_order.c).where(c.source == update.source, c.external_id == update.order_external_id)
            )
        ).first()
        if row is not None:
            return row
    if update.order_number is not None:
        return (await uow.session.exec(sa.select(*_order.c).where(c.number == update.order_number))).first()
    return None


def _merged(current: list[dict[str, Any]], incoming: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The order's shipments with `incoming` added or replaced; None when what we hold is newer."""
    merged = []
    for existing in current:
        if str(existing.get("id")) == str(incoming["id"]):
            both_dated = incoming.get("updated_at") and existing.get("updated_at")
            if both_dated and _when(incoming["updated_at"]) < _when(existing["updated_at"]):
                return None
            continue
        merged.append(existing)
    return [*merged, incoming]


async def apply_fulfillment(
    uow: UnitOfWork, update: FulfillmentInput, now: datetime | None = None
) -> tuple[Order | None, bool]:
    """Add or replace one shipment on its order. Returns (order or None when unknown, changed).

    A report older than the one we hold for that shipment changes nothing; the order's carrier, tracking
    and ETA follow its newest live shipment, and its status only moves forward (shipped, delivered).
    """
    now = now or utcnow()
    current = await _find_order(uow, update)
    if current is None:
        return None, False
    fulfillments = _merged(list(current.fulfillments or []), update.fulfillment)
    if fulfillments is None:
        return Order(**current._mapping), False
    status = current.status
    progress = _shipping_progress(fulfillments)
    if progress and status not in _FINAL_STATUSES and _PROGRESS[progress] > _PROGRESS.get(status, 0):
        status = progress
    latest = _latest_active(fulfillments) or {}
    source_updated = current.source_updated_at
    if update.updated_at and (source_updated is None or update.updated_at > source_updated):
        source_updated = update.updated_at
    values = {
        "fulfillments": fulfillments,
        "status": status,
        "fulfillment_status": latest.get("shipment_status") or latest.get("status") or current.fulfillment_status,
        "carrier": latest.get("carrier"),
        "tracking_number": latest.get("tracking_number"),
        "tracking_url": latest.get("tracking_url"),
        "eta": parse_time(latest.get("eta"), "eta", []),
        "source_updated_at": source_updated,
        "updated_at": now,
    }
    await uow.session.exec(sa.update(_order).where(_order.c.id == current.id).values(**values))
    if status != current.status:
        uow.session.add(
            OrderStatusChange(
                order_id=current.id, from_status=current.status, to_status=status, source=update.source, changed_at=now
            )
        )
    row = (await uow.session.exec(sa.select(*_order.c).where(_order.c.id == current.id))).one()
    stored = Order(**row._mapping)
    await _record_order(uow, stored)
    return stored, True
