"""Shopify order source: verify `X-Shopify-Hmac-Sha256`, turn order and fulfillment webhooks into order events.

Status mapping (Shopify -> ours), first rule that applies:

| Shopify | ours |
| --- | --- |
| `financial_status` `refunded` | `refunded` |
| `cancelled_at` set, or `financial_status` `voided` | `cancelled` |
| `fulfillment_status` `partial` | `partially_fulfilled` |
| `fulfillment_status` `fulfilled` and every live shipment `shipment_status` `delivered` | `delivered` |
| `fulfillment_status` `fulfilled` and a live shipment in transit (see `IN_TRANSIT`) | `shipped` |
| `fulfillment_status` `fulfilled` | `fulfilled` |
| `financial_status` `paid` or `partially_refunded` | `paid` |
| anything else (`pending`, `authorized`, `partially_paid`, `expired`, none) | `pending` |

A shipment is live unless its `status` is `cancelled`, `error` or `failure`. A `fulfillments/*` webhook
carries one shipment: it can move an order on to `shipped`/`delivered`, never back (conversation.orders).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from connectors.base import (
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SendFailed,
    SignatureInvalid,
    UnsupportedEvent,
)
from connectors.shopify.payloads import ShopifyAddress, ShopifyFulfillment, ShopifyOrder
from conversation.addresses import normalize_email, normalize_phone
from conversation.types import OrderEvent, OutboundMessage, SendReceipt, SettingsSpec

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
SHOP_HEADER = "X-Shopify-Shop-Domain"
SOURCE = "shopify"

#: Shipment states of a parcel that has left the shop (https://shopify.dev/docs/api/admin-graphql/latest/enums/FulfillmentEventStatus).
IN_TRANSIT = frozenset(
    {"in_transit", "out_for_delivery", "attempted_delivery", "ready_for_pickup", "carrier_picked_up", "delayed",
     "picked_up"}
)  # fmt: skip
_INACTIVE = frozenset({"cancelled", "error", "failure"})
_ADDRESS_FIELDS = ("name", "company", "address1", "address2", "city", "zip", "province", "country", "country_code")


def shopify_hmac(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body with the app's webhook secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _shop(value: str | None) -> str:
    text = (value or "").strip().lower()
    return text.removeprefix("https://").removeprefix("http://").rstrip("/")


def order_number(name: str | None, number: int | None) -> str:
    """The number a customer quotes: the order's name without its `#` ("#1001" -> "1001")."""
    text = (name or "").strip().lstrip("#").strip()
    return text or (str(number) if number is not None else "")


def shipment_progress(fulfillment: ShopifyFulfillment) -> str | None:
    """What one shipment says about its order: `delivered`, `shipped`, or None (not on its way yet)."""
    if fulfillment.status in _INACTIVE:
        return None
    if fulfillment.shipment_status == "delivered":
        return "delivered"
    if fulfillment.shipment_status in IN_TRANSIT:
        return "shipped"
    return None


def order_status(order: ShopifyOrder) -> str:
    """Our status for a Shopify order (the table in the module docstring)."""
    financial = (order.financial_status or "").lower()
    fulfillment = (order.fulfillment_status or "").lower()
    if financial == "refunded":
        return "refunded"
    if order.cancelled_at or financial == "voided":
        return "cancelled"
    if fulfillment == "partial":
        return "partially_fulfilled"
    if fulfillment == "fulfilled":
        progress = [shipment_progress(f) for f in order.fulfillments or [] if f.status not in _INACTIVE]
        if progress and all(p == "delivered" for p in progress):
            return "delivered"
        return "shipped" if any(progress) else "fulfilled"
    return "paid" if financial in ("paid", "partially_refunded") else "pending"


def _first(single: str | None, several: list[str] | None) -> str | None:
    return single or next((v for v in several or [] if v), None)


def fulfillment_view(fulfillment: ShopifyFulfillment) -> dict[str, Any]:
    """One shipment, normalised (the shape conversation.orders keeps in `Order.fulfillments`)."""
    view = {
        "id": str(fulfillment.id) if fulfillment.id is not None else None,
        "name": fulfillment.name,
        "status": fulfillment.status,
        "shipment_status": fulfillment.shipment_status,
        "order_status": shipment_progress(fulfillment),
        "carrier": fulfillment.tracking_company,
        "tracking_number": _first(fulfillment.tracking_number, fulfillment.tracking_numbers),
        "tracking_url": _first(fulfillment.tracking_url, fulfillment.tracking_urls),
        "eta": fulfillment.estimated_delivery_at,
        "created_at": fulfillment.created_at,
        "updated_at": fulfillment.updated_at,
    }
    return {k: v for k, v in view.items() if v is not None}


def _address(address: ShopifyAddress | None) -> dict[str, Any]:
    if address is None:
        return {}
    return {k: getattr(address, k) for k in _ADDRESS_FIELDS if getattr(address, k)}


def _money(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _customer(order: ShopifyOrder) -> dict[str, Any]:
    customer = order.customer
    email = normalize_email(order.email or order.contact_email or (customer.email if customer else None))
    # Shopify keeps whatever the buyer typed; a phone without a country code cannot be linked safely.
    phone = normalize_phone(order.phone or (customer.phone if customer else None))
    names = [customer.first_name, customer.last_name] if customer else []
    name = " ".join(n for n in names if n) or (order.shipping_address.name if order.shipping_address else None)
    return {"email": email, "phone": phone, "name": name or None}


def _latest_live(fulfillments: list[ShopifyFulfillment]) -> ShopifyFulfillment | None:
    live = [f for f in fulfillments if f.status not in _INACTIVE]
    return max(live, key=lambda f: f.created_at or "") if live else None


def order_payload(order: ShopifyOrder, store: str) -> dict[str, Any]:
    """A Shopify order as the CONTRACT.md order object (plus addresses, every shipment and ids)."""
    number = order_number(order.name, order.order_number)
    if not number:
        raise MalformedPayload("the order has neither a name nor an order_number")
    fulfillments = order.fulfillments or []
    latest = _latest_live(fulfillments)
    fulfillment = None
    if latest is not None:
        view = fulfillment_view(latest)
        fulfillment = {
            "status": latest.shipment_status or latest.status,
            "carrier": view.get("carrier"),
            "tracking_number": view.get("tracking_number"),
            "tracking_url": view.get("tracking_url"),
            "eta": view.get("eta"),
        }
    items = [
        {"name": item.name or item.title or "item", "sku": item.sku, "quantity": item.quantity or 1,
         "price": _money(item.price)}
        for item in order.line_items or []
    ]  # fmt: skip
    return {
        "number": number,
        "external_id": str(order.id) if order.id is not None else None,
        "store": store,
        "status": order_status(order),
        "customer": _customer(order),
        "items": items,
        "total": _money(order.current_total_price if order.current_total_price is not None else order.total_price),
        "subtotal": _money(order.current_subtotal_price or order.subtotal_price),
        "currency": order.currency or "USD",
        "placed_at": order.processed_at or order.created_at,
        "updated_at": order.updated_at,
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "fulfillment": fulfillment,
        "fulfillments": [fulfillment_view(f) for f in fulfillments],
    }


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"updated_at is not an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decode(body: bytes, shape: type[Any]) -> Any:
    try:
        value = msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"unexpected {shape.__name__} shape: {exc}") from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedPayload("body is not JSON") from exc
    return value


class ShopifyConnector:
    """Order webhooks from one Shopify store (an `Integration`, not an inbox: it never sends)."""

    kind: ClassVar[str] = SOURCE
    supported_events: ClassVar[frozenset[str]] = frozenset(
        {"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
         "orders/partially_fulfilled", "fulfillments/create", "fulfillments/update"}
    )  # fmt: skip
    # Known topics we drop on purpose: a refund or an edit also fires `orders/updated` with the result,
    # and a deleted order keeps its history here.
    ignored_events: ClassVar[frozenset[str]] = frozenset(
        {"orders/delete", "orders/edited", "refunds/create", "order_transactions/create", "app/uninstalled",
         "customers/create", "customers/update", "shop/update"}
    )  # fmt: skip
    settings_spec: ClassVar[SettingsSpec] = SettingsSpec(
        required=frozenset({"shop_domain", "webhook_secret"}),
        optional=frozenset({"access_token", "api_version"}),
        secrets=frozenset({"webhook_secret", "access_token"}),
    )

    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Check the HMAC over the raw body in constant time, and that the shop is this integration's."""
        given = (request.headers.get(HMAC_HEADER) or "").strip()
        expected = shopify_hmac(str(account.settings.get("webhook_secret") or ""), request.body)
        if not given or not account.settings.get("webhook_secret"):
            raise SignatureInvalid(f"{HMAC_HEADER} is missing")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureInvalid(f"{HMAC_HEADER} does not match")
        # One app secret signs for every shop that installed the app: a delivery for another shop must
        # not land in this store's orders.
        shop = request.headers.get(SHOP_HEADER)
        if shop and _shop(shop) != _shop(account.settings.get("shop_domain")):
            raise SignatureInvalid(f"{SHOP_HEADER} is another shop")

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """Dispatch on `X-Shopify-Topic`."""
        topic = (request.headers.get(TOPIC_HEADER) or "").strip().lower()
        if not topic:
            raise MalformedPayload(f"{TOPIC_HEADER} is missing")
        if topic in self.ignored_events:
            return ParseResult()
        handler = self._handlers.get(topic.split("/", 1)[0]) if topic in self.supported_events else None
        if handler is None:
            raise UnsupportedEvent(topic)
        event_id = (request.headers.get(WEBHOOK_ID_HEADER) or "").strip() or None
        return ParseResult(items=[handler(request.body, _shop(account.settings.get("shop_domain")), event_id)])

    @staticmethod
    def _order(body: bytes, store: str, event_id: str | None) -> OrderEvent:
        order: ShopifyOrder = _decode(body, ShopifyOrder)
        payload = order_payload(order, store)
        return OrderEvent(
            number=payload["number"], payload=payload, updated_at=_time(order.updated_at), source=SOURCE,
            external_event_id=event_id,
        )  # fmt: skip

    @staticmethod
    def _fulfillment(body: bytes, store: str, event_id: str | None) -> OrderEvent:
        fulfillment: ShopifyFulfillment = _decode(body, ShopifyFulfillment)
        if fulfillment.id is None or fulfillment.order_id is None:
            raise MalformedPayload("a fulfillment needs its id and order_id")
        # Newer API versions name the shipment "#1001.1": the order's name, a dot, a counter.
        name = (fulfillment.name or "").rpartition(".")[0] if fulfillment.name and "." in fulfillment.name else None
        number = order_number(name, None) or None
        payload = {
            "kind": "fulfillment",
            "order_number": number,
            "order_external_id": str(fulfillment.order_id),
            "fulfillment": fulfillment_view(fulfillment),
            "updated_at": fulfillment.updated_at,
        }
        return OrderEvent(
            number=number or "", payload=payload, updated_at=_time(fulfillment.updated_at), source=SOURCE,
            external_event_id=event_id,
        )  # fmt: skip

    _handlers: ClassVar[dict[str, Callable[[bytes, str, str | None], OrderEvent]]] = {
        "orders": _order,
        "fulfillments": _fulfillment,
    }

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """An order source has no conversation to send to."""
        raise SendFailed("a Shopify integration does not send messages", retryable=False)
