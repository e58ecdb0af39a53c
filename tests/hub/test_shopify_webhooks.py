"""Shopify order webhooks on the live hub: recorded bodies with good and bad HMACs, replays, out-of-order
updates, shipments merged into their order, and the order joining its customer's profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from conversation.models import Order, OrderStatusChange, ProcessedWebhook
from hub.storage.engine import SessionFactory
from tests.connectors.conftest import load_fixture
from tests.connectors.shopify.conftest import (
    SDK_FULFILLMENT,
    SDK_ORDER,
    SHOP,
    local_body,
    local_headers,
    shared_vectors,
    shopify_signature,
)
from tests.factories import make_agent
from tests.live import LiveHub

SECRET = "whsec-shop-0123456789"


@dataclass
class Shop:
    hub: LiveHub
    api: httpx.AsyncClient
    integration_id: int

    @property
    def path(self) -> str:
        return f"/webhooks/shopify/{self.integration_id}"

    async def deliver(self, name: str, *, webhook_id: str | None = None, secret: str = SECRET) -> httpx.Response:
        """A tests/fixtures/shopify/ delivery, signed with `secret`, optionally under another webhook id."""
        body = local_body(name)
        headers = {**local_headers(name), "X-Shopify-Hmac-Sha256": shopify_signature(secret, body)}
        if webhook_id is not None:
            headers["X-Shopify-Webhook-Id"] = webhook_id
        return await self.post(body, headers)

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.hub.url, timeout=10) as shopify:
            return await shopify.post(self.path, content=body, headers=headers)

    async def order(self, number: str) -> dict[str, Any]:
        response = await self.api.get(f"/api/v1/orders/{number}")
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()
        return order


@pytest.fixture
async def shop(hub: LiveHub, db: SessionFactory) -> AsyncIterator[Shop]:
    _, token = await make_agent(db, role="admin")
    async with httpx.AsyncClient(base_url=hub.url, timeout=10, headers={"Authorization": f"Bearer {token}"}) as api:
        created = await api.post(
            "/api/v1/integrations",
            json={"kind": "shopify", "settings": {"shop_domain": SHOP, "webhook_secret": SECRET}},
        )
        assert created.status_code == 201, created.text
        integration = created.json()
        assert integration["webhook_url"] == f"https://hub.example.com/webhooks/shopify/{integration['id']}"
        assert SECRET not in created.text
        yield Shop(hub, api, integration["id"])


async def _statuses(db: SessionFactory, number: str) -> list[tuple[str | None, str]]:
    async with db() as session:
        order = (await session.exec(sa.select(Order).where(Order.number == number))).scalars().one()  # type: ignore[call-overload]
        rows = await session.exec(
            sa.select(OrderStatusChange.from_status, OrderStatusChange.to_status)  # type: ignore[call-overload]
            .where(OrderStatusChange.order_id == order.id)
            .order_by(OrderStatusChange.id)
        )
        return [(r[0], r[1]) for r in rows.all()]


async def _processed(db: SessionFactory) -> int:
    async with db() as session:
        return int((await session.exec(sa.select(sa.func.count()).select_from(ProcessedWebhook))).scalar_one())  # type: ignore[call-overload]


async def test_order_lifecycle_replays_and_out_of_order(shop: Shop, db: SessionFactory) -> None:
    created = await shop.deliver("orders_create__paid.json")
    assert created.status_code == 200 and created.json() == {"ok": True, "orders": 1}
    order = await shop.order("1002")
    assert order["status"] == "paid" and order["source"] == "shopify" and order["store"] == SHOP
    assert order["customer"]["email"] == "ada.lovelace@example.com" and order["customer"]["phone"] == "+15555550142"
    first_update = order["updated_at"]

    # Shopify retries the same delivery (same X-Shopify-Webhook-Id): 200, nothing changes.
    replay = await shop.deliver("orders_create__paid.json")
    assert replay.status_code == 200 and replay.json() == {"ok": True, "duplicates": 1}
    assert (await shop.order("1002"))["updated_at"] == first_update

    shipped = await shop.deliver("orders_updated__in_transit.json")
    assert shipped.json() == {"ok": True, "orders": 1}
    order = await shop.order("1002")
    assert order["status"] == "shipped"
    assert order["fulfillment"]["carrier"] == "PostNL"
    assert order["fulfillment"]["tracking_url"].startswith("https://jouw.postnl.nl/")

    # A late copy of the creation (another delivery id, older updated_at) never rolls the order back.
    late = await shop.deliver("orders_create__paid.json", webhook_id="late-redelivery")
    assert late.json() == {"ok": True, "unchanged": 1}
    assert (await shop.order("1002"))["status"] == "shipped"

    delivered = await shop.deliver("fulfillments_update__delivered.json")
    assert delivered.json() == {"ok": True, "orders": 1}
    order = await shop.order("1002")
    assert order["status"] == "delivered" and order["fulfillment"]["status"] == "delivered"
    assert len(order["fulfillments"]) == 1

    # The in-transit order body again, under a new id: older than what the delivered shipment told us.
    stale = await shop.deliver("orders_updated__in_transit.json", webhook_id="stale-order-update")
    assert stale.json() == {"ok": True, "unchanged": 1}
    assert (await shop.order("1002"))["status"] == "delivered"

    refunded = await shop.deliver("orders_cancelled__refunded.json")
    assert refunded.json() == {"ok": True, "orders": 1}
    assert (await shop.order("1002"))["status"] == "refunded"
    assert await _statuses(db, "1002") == [
        (None, "paid"),
        ("paid", "shipped"),
        ("shipped", "delivered"),
        ("delivered", "refunded"),
    ]
    assert await _processed(db) == 6


async def test_bad_signatures_unknown_integration_and_malformed_bodies(shop: Shop, db: SessionFactory) -> None:
    wrong = await shop.deliver("orders_create__paid.json", secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "X-Shopify-Hmac-Sha256 does not match", "status_code": 401}
    body = local_body("orders_create__paid.json")
    unsigned = await shop.post(body, local_headers("orders_create__paid.json"))
    assert unsigned.status_code == 401
    tampered_headers = {
        **local_headers("orders_create__paid.json"),
        "X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body),
    }
    tampered = await shop.post(body.replace(b'"89.90"', b'"0.01"'), tampered_headers)
    assert tampered.status_code == 401
    assert (await shop.api.get("/api/v1/orders/1002")).status_code == 404

    async with httpx.AsyncClient(base_url=shop.hub.url) as client:
        unknown = await client.post(
            f"/webhooks/shopify/{shop.integration_id + 99}", content=body, headers=tampered_headers
        )
    assert unknown.status_code == 404

    junk = b"{not json"
    malformed = await shop.post(
        junk, {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": shopify_signature(SECRET, junk)}
    )
    assert malformed.status_code == 400 and "not JSON" in malformed.json()["detail"]
    product = b'{"id": 1}'
    ignored = await shop.post(
        product, {"X-Shopify-Topic": "products/update", "X-Shopify-Hmac-Sha256": shopify_signature(SECRET, product)}
    )
    assert ignored.status_code == 200 and ignored.json() == {"ok": True, "ignored": "products/update"}
    assert await _processed(db) == 0


async def test_sdk_payloads_with_the_shared_vectors(hub: LiveHub, db: SessionFactory) -> None:
    _, token = await make_agent(db, role="admin")
    async with httpx.AsyncClient(base_url=hub.url, timeout=10, headers={"Authorization": f"Bearer {token}"}) as api:
        created = await api.post(
            "/api/v1/integrations",
            json={"kind": "shopify", "settings": {"shop_domain": "sdk.myshopify.com", "webhook_secret": "hush"}},
        )
        shop = Shop(hub, api, created.json()["id"])
        vectors = shared_vectors()
        deliveries = ((SDK_ORDER, "orders/create", "orders"), (SDK_FULFILLMENT, "fulfillments/create", "unchanged"))
        for name, topic, outcome in deliveries:
            headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": vectors[name], "X-Shopify-Webhook-Id": name}
            answer = await shop.post(load_fixture("shopify", name), headers)
            assert answer.status_code == 200 and answer.json() == {"ok": True, outcome: 1}, answer.text
        order = await shop.order("1001")
    # The fulfillment named its order only by Shopify's id, and it is the same shipment the order body
    # already carried, reported earlier (2013) than the order's copy (2014, `failure`): nothing changes.
    assert order["status"] == "pending" and order["customer"]["email"] == "bob.norman@hostmail.com"
    assert [(f["id"], f["status"]) for f in order["fulfillments"]] == [("255858046", "failure")]
    assert order["fulfillment"]["carrier"] is None  # a failed shipment is not shown as the order's parcel


async def test_a_shipment_of_an_unknown_order_is_acknowledged(shop: Shop) -> None:
    answer = await shop.deliver("fulfillments_update__delivered.json")
    assert answer.status_code == 200 and answer.json() == {"ok": True, "unmatched": 1}
    assert (await shop.api.get("/api/v1/orders/1002")).status_code == 404


async def test_the_order_joins_its_customer_profile(shop: Shop) -> None:
    await shop.deliver("orders_create__paid.json")
    order = await shop.order("1002")
    profile = (await shop.api.get(f"/api/v1/customers/{order['customer']['id']}")).json()
    assert profile["name"] == "Ada Lovelace"
    assert sorted((i["channel"], i["address"]) for i in profile["identities"]) == [
        ("email", "ada.lovelace@example.com"),
        ("sms", "+15555550142"),
    ]
    assert [o["number"] for o in profile["orders"]] == ["1002"]
