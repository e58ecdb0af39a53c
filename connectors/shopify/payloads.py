"""Typed shapes of Shopify's REST-format order and fulfillment webhook bodies (only the fields we read).

Webhooks deliver the bare resource (no `{"order": ...}` wrapper). Shopify adds fields without notice and
sends `null` for most absent values, so every field here is optional and unknown fields are ignored.
Money is a decimal string in current API versions; very old payloads used numbers, so both are accepted.

- Order: https://shopify.dev/docs/api/admin-rest/latest/resources/order
- Fulfillment: https://shopify.dev/docs/api/admin-rest/latest/resources/fulfillment
"""

from __future__ import annotations

import msgspec

Money = str | int | float | None


class ShopifyAddress(msgspec.Struct, forbid_unknown_fields=False):
    """A shipping or billing address."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    province: str | None = None
    province_code: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class ShopifyCustomer(msgspec.Struct, forbid_unknown_fields=False):
    """The order's customer (a subset of the Customer resource)."""

    id: int | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class ShopifyLineItem(msgspec.Struct, forbid_unknown_fields=False):
    """One line of an order."""

    id: int | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    sku: str | None = None
    quantity: int | None = None
    price: Money = None


class ShopifyFulfillment(msgspec.Struct, forbid_unknown_fields=False):
    """One shipment of an order (also the whole body of `fulfillments/*` webhooks)."""

    id: int | None = None
    order_id: int | None = None
    name: str | None = None  # "#1001.1": the order's name, a dot, the shipment's number
    status: str | None = None  # pending | open | success | cancelled | error | failure
    shipment_status: str | None = None  # label_printed ... in_transit ... delivered | failure
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_numbers: list[str] | None = None
    tracking_url: str | None = None
    tracking_urls: list[str] | None = None
    estimated_delivery_at: str | None = None  # not in every API version: read when present
    created_at: str | None = None
    updated_at: str | None = None


class ShopifyOrder(msgspec.Struct, forbid_unknown_fields=False):
    """The body of `orders/*` webhooks."""

    id: int | None = None
    name: str | None = None  # "#1001": what the customer sees
    order_number: int | None = None
    email: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    currency: str | None = None
    total_price: Money = None
    current_total_price: Money = None
    subtotal_price: Money = None
    current_subtotal_price: Money = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    cancelled_at: str | None = None
    created_at: str | None = None
    processed_at: str | None = None
    updated_at: str | None = None
    customer: ShopifyCustomer | None = None
    line_items: list[ShopifyLineItem] | None = None
    fulfillments: list[ShopifyFulfillment] | None = None
    shipping_address: ShopifyAddress | None = None
    billing_address: ShopifyAddress | None = None
