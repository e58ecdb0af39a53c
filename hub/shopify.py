"""`POST /webhooks/shopify/{integration_id}`: verified Shopify order webhooks, deduplicated, stored, then 200."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from connectors.base import InboxConfig, MalformedPayload, SignatureInvalid, UnsupportedEvent
from connectors.registry import ORDER_SOURCES
from conversation.inboxes import full_settings
from conversation.models import Integration, ProcessedWebhook, utcnow
from conversation.orders import (
    InvalidOrder,
    apply_fulfillment,
    fulfillment_input_from_payload,
    order_input_from_payload,
    upsert_order,
)
from conversation.sql import insert_or_ignore
from conversation.types import OrderEvent
from conversation.uow import UnitOfWork
from hub.errors import ApiError
from hub.services import Services
from hub.webhooks import raw_request

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
_processed = ProcessedWebhook.__table__  # type: ignore[attr-defined]


async def _claim_delivery(uow: UnitOfWork, integration_id: int, event: OrderEvent) -> bool:
    """Record the delivery id in this transaction; False when it was handled before (a replay)."""
    if not event.external_event_id:
        return True  # without an id the upsert's own `updated_at` check is the only guard
    inserted = await uow.session.exec(
        insert_or_ignore(uow.session, _processed, ["source", "external_id"])
        .values(source=f"shopify:{integration_id}", external_id=event.external_event_id[:300], received_at=utcnow())
        .returning(_processed.c.id)
    )
    return inserted.scalar_one_or_none() is not None


async def store_order_event(services: Services, integration_id: int, event: OrderEvent) -> str:
    """Apply one order event in one transaction. Returns `orders`, `unchanged`, `unmatched` or `duplicates`."""
    async with services.uow() as uow:
        if not await _claim_delivery(uow, integration_id, event):
            await uow.rollback()
            return "duplicates"
        try:
            if event.payload.get("kind") == "fulfillment":
                update = fulfillment_input_from_payload(event.payload, source=event.source)
                order, changed = await apply_fulfillment(uow, update)
            else:
                order, changed = await upsert_order(uow, order_input_from_payload(event.payload, source=event.source))
        except InvalidOrder as exc:
            raise ApiError(400, f"malformed payload: {exc}") from exc
        await uow.commit()
    if order is None:
        return "unmatched"  # a shipment of an order this hub never received
    return "orders" if changed else "unchanged"


async def handle_shopify_webhook(
    services: Services, request: Request[Any, Any, Any], integration_id: int
) -> Response[Any]:
    """Verify, parse and store one Shopify delivery; answer 2xx only after it is committed."""
    async with services.sessions() as session:
        integration = await session.get(Integration, integration_id)
    connector = ORDER_SOURCES.get(integration.kind) if integration is not None else None
    if integration is None or connector is None or integration.kind != "shopify":
        raise ApiError(404, "unknown integration")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "request body too large")
    raw = raw_request(request, body, services.settings.public_base)
    account = InboxConfig(
        id=integration_id,
        kind=integration.kind,
        name=integration.name,
        settings=full_settings(integration, services.box),  # type: ignore[arg-type]
        webhook_url=f"{services.settings.public_base}/webhooks/shopify/{integration_id}",
        public_url=services.settings.public_base,
    )
    try:
        connector.verify(raw, account)
    except SignatureInvalid as exc:
        log.info("shopify webhook signature rejected", extra={"integration_id": integration_id})
        raise ApiError(401, str(exc) or "invalid signature") from exc
    try:
        parsed = connector.parse(raw, account)
    except MalformedPayload as exc:
        raise ApiError(400, f"malformed payload: {exc}") from exc
    except UnsupportedEvent as exc:
        log.info("unsupported shopify topic ignored: %s", exc)
        return Response(content={"ok": True, "ignored": str(exc)}, status_code=200)
    counts: dict[str, int] = {}
    for item in parsed.items:
        if isinstance(item, OrderEvent):
            outcome = await store_order_event(services, integration_id, item)
            counts[outcome] = counts.get(outcome, 0) + 1
    return Response(content={"ok": True, **counts}, status_code=200)


def shopify_webhook_handlers(services: Services) -> list[Any]:
    """The Shopify webhook route, bound to this process's services."""

    @post(
        "/webhooks/shopify/{integration_id:int}",
        status_code=200,
        name="webhooks_shopify_id_post",
        exclude_from_auth=True,
        exclude_from_csrf=True,
        include_in_schema=False,
    )
    async def shopify_webhook(request: Request[Any, Any, Any], integration_id: FromPath[int]) -> Response[Any]:
        return await handle_shopify_webhook(services, request, integration_id)

    return [shopify_webhook]
