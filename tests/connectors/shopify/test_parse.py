"""Shopify bodies -> order events: every fixture, the status mapping, ignored and unknown topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from connectors.base import MalformedPayload, UnsupportedEvent
from connectors.shopify.connector import ShopifyConnector, order_status
from connectors.shopify.payloads import ShopifyOrder
from conversation.types import OrderEvent
from tests.connectors.conftest import load_fixture, make_raw_request
from tests.connectors.shopify.conftest import (
    SDK_FULFILLMENT,
    SDK_ORDER,
    SHOP,
    account,
    local_body,
    local_headers,
    signed,
)

CONNECTOR = ShopifyConnector()


def parse(body: bytes, headers: dict[str, str]) -> OrderEvent:
    result = CONNECTOR.parse(make_raw_request(body, headers=headers), account())
    assert len(result.items) == 1 and result.reply is None
    event = result.items[0]
    assert isinstance(event, OrderEvent)
    return event


def parse_local(name: str) -> OrderEvent:
    return parse(local_body(name), local_headers(name))


def test_sdk_order() -> None:
    event = parse(load_fixture("shopify", SDK_ORDER), signed(b"", "orders/create", webhook_id="abc"))
    payload = event.payload
    assert event.number == payload["number"] == "1001"
    assert event.external_event_id == "abc" and event.source == "shopify"
    assert event.updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert payload["external_id"] == "450789469" and payload["store"] == SHOP
    # authorized, unfulfilled; its one shipment failed, so no carrier is shown
    assert payload["status"] == "pending" and payload["fulfillment"] is None
    assert payload["customer"] == {"email": "bob.norman@hostmail.com", "phone": None, "name": "Bob Norman"}
    assert [i["sku"] for i in payload["items"]] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert payload["total"] == "409.94" and payload["subtotal"] == "398.00" and payload["currency"] == "USD"
    assert payload["shipping_address"]["zip"] == "40202"
    assert "phone" not in payload["shipping_address"]
    assert payload["fulfillments"][0]["status"] == "failure"
    assert payload["fulfillments"][0]["tracking_number"] == "1Z2345"


def test_sdk_fulfillment_names_its_order_by_id() -> None:
    event = parse(load_fixture("shopify", SDK_FULFILLMENT), signed(b"", "fulfillments/create"))
    assert event.number == ""  # this old shape has no "#1001.1" name
    assert event.payload["kind"] == "fulfillment"
    assert event.payload["order_external_id"] == "450789469" and event.payload["order_number"] is None
    assert event.payload["fulfillment"] == {
        "id": "255858046",
        "status": "pending",
        "carrier": "null-company",
        "tracking_number": "1Z2345",
        "tracking_url": "http://www.google.com/search?q=1Z2345",
        "created_at": "2013-11-01T16:06:08-04:00",
        "updated_at": "2013-11-01T16:06:08-04:00",
    }


def test_modern_order_create() -> None:
    event = parse_local("orders_create__paid.json")
    payload = event.payload
    assert event.external_event_id == "b1d6a3f0-6f3e-4a7e-9a53-1f0c2d3e4a01"
    assert payload["number"] == "1002" and payload["status"] == "paid"
    assert payload["customer"] == {"email": "ada.lovelace@example.com", "phone": "+15555550142", "name": "Ada Lovelace"}
    assert payload["total"] == "89.90" and payload["currency"] == "EUR"
    assert payload["placed_at"] == "2026-03-02T09:14:58+01:00"
    assert payload["shipping_address"]["zip"] == "1015 CJ"
    assert payload["fulfillments"] == [] and payload["fulfillment"] is None


def test_modern_order_in_transit() -> None:
    payload = parse_local("orders_updated__in_transit.json").payload
    assert payload["status"] == "shipped"
    assert payload["fulfillment"] == {
        "status": "in_transit",
        "carrier": "PostNL",
        "tracking_number": "3SABCD0123456789",
        "tracking_url": "https://jouw.postnl.nl/track-and-trace/3SABCD0123456789-NL-1015CJ",
        "eta": None,
    }
    assert payload["fulfillments"][0]["name"] == "#1002.1"
    assert payload["fulfillments"][0]["order_status"] == "shipped"


def test_modern_fulfillment_names_its_order() -> None:
    event = parse_local("fulfillments_update__delivered.json")
    assert event.number == "1002"
    assert event.payload["order_number"] == "1002" and event.payload["order_external_id"] == "5871302148255"
    assert event.payload["fulfillment"]["order_status"] == "delivered"
    assert event.payload["updated_at"] == "2026-03-05T11:42:07+01:00"


def test_modern_order_cancelled_and_refunded() -> None:
    assert parse_local("orders_cancelled__refunded.json").payload["status"] == "refunded"


def _order(**fields: Any) -> ShopifyOrder:
    return msgspec.convert(fields, ShopifyOrder)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"financial_status": "pending"}, "pending"),
        ({"financial_status": "authorized"}, "pending"),
        ({"financial_status": "partially_paid"}, "pending"),
        ({"financial_status": "paid"}, "paid"),
        ({"financial_status": "partially_refunded"}, "paid"),
        ({"financial_status": "refunded", "cancelled_at": "2026-01-01T00:00:00Z"}, "refunded"),
        ({"financial_status": "voided"}, "cancelled"),
        ({"financial_status": "paid", "cancelled_at": "2026-01-01T00:00:00Z"}, "cancelled"),
        ({"financial_status": "paid", "fulfillment_status": "partial"}, "partially_fulfilled"),
        ({"financial_status": "paid", "fulfillment_status": "fulfilled"}, "fulfilled"),
        ({"fulfillment_status": "fulfilled",
          "fulfillments": [{"status": "success", "shipment_status": "label_printed"}]}, "fulfilled"),
        ({"fulfillment_status": "fulfilled",
          "fulfillments": [{"status": "success", "shipment_status": "out_for_delivery"}]}, "shipped"),
        ({"fulfillment_status": "fulfilled",
          "fulfillments": [{"status": "success", "shipment_status": "delivered"},
                           {"status": "success", "shipment_status": "in_transit"}]}, "shipped"),
        ({"fulfillment_status": "fulfilled",
          "fulfillments": [{"status": "success", "shipment_status": "delivered"},
                           {"status": "cancelled", "shipment_status": "in_transit"}]}, "delivered"),
        ({"financial_status": "paid", "fulfillment_status": "restocked"}, "paid"),
        ({}, "pending"),
    ],
)  # fmt: skip
def test_status_mapping(fields: dict[str, Any], expected: str) -> None:
    assert order_status(_order(**fields)) == expected


@pytest.mark.parametrize("topic", sorted(ShopifyConnector.ignored_events))
def test_ignored_topics_parse_to_nothing(topic: str) -> None:
    result = CONNECTOR.parse(make_raw_request(b'{"id": 1}', headers={"X-Shopify-Topic": topic}), account())
    assert result.items == []


def test_unknown_topic_is_unsupported() -> None:
    with pytest.raises(UnsupportedEvent, match="products/create"):
        CONNECTOR.parse(make_raw_request(b"{}", headers={"X-Shopify-Topic": "products/create"}), account())


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{}", {}, "X-Shopify-Topic is missing"),
        (b"not json", {"X-Shopify-Topic": "orders/create"}, "not JSON"),
        (b'{"id": 1}', {"X-Shopify-Topic": "orders/create"}, "neither a name nor an order_number"),
        (b'{"name": 5}', {"X-Shopify-Topic": "orders/updated"}, "unexpected ShopifyOrder shape"),
        (b'{"id": 1}', {"X-Shopify-Topic": "fulfillments/create"}, "id and order_id"),
        (json.dumps({"name": "#1", "updated_at": "yesterday"}).encode(), {"X-Shopify-Topic": "orders/paid"},
         "ISO 8601"),
    ],
)  # fmt: skip
def test_malformed_bodies(body: bytes, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        CONNECTOR.parse(make_raw_request(body, headers=headers), account())


def test_every_supported_topic_has_a_fixture_or_a_shape() -> None:
    covered = {"orders/create", "orders/updated", "orders/cancelled", "fulfillments/create", "fulfillments/update"}
    body = local_body("orders_create__paid.json")
    for topic in sorted(ShopifyConnector.supported_events - covered):
        assert parse(body, {"X-Shopify-Topic": topic}).payload["number"] == "1002"
