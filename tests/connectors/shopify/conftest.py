"""Shopify test helpers: recorded bodies with their headers, and a signer written from Shopify's docs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from connectors.base import InboxConfig
from tests.connectors.conftest import load_fixture, make_account
from tests.paths import LOCAL_FIXTURES

SECRET = "hush"  # the secret of the shared HMAC vectors
SHOP = "example-outfitters.myshopify.com"
SDK_ORDER = "shopify_python_api_order_webhook_body.json"
SDK_FULFILLMENT = "shopify_python_api_fulfillment_webhook_body.json"


def shopify_signature(secret: str, body: bytes) -> str:
    """https://shopify.dev/docs/apps/build/webhooks/subscribe/https: base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shared_vectors() -> dict[str, str]:
    """The HMACs published with the shared SDK bodies (computed with secret `hush`)."""
    data: dict[str, Any] = json.loads(load_fixture("shopify", "hmac_vectors_computed.json"))
    assert data["secret"] == SECRET
    vectors: dict[str, str] = data["X-Shopify-Hmac-Sha256"]
    return vectors


def local_body(name: str) -> bytes:
    """A modern-shape body from tests/fixtures/shopify/ (see SOURCES.md there)."""
    return (LOCAL_FIXTURES / "shopify" / name).read_bytes()


def local_headers(name: str) -> dict[str, str]:
    """The headers recorded with a tests/fixtures/shopify/ body (without the signature)."""
    path = LOCAL_FIXTURES / "shopify" / name.replace(".json", ".headers.json")
    headers: dict[str, str] = json.loads(path.read_text())
    return headers


def signed(body: bytes, topic: str, *, secret: str = SECRET, webhook_id: str | None = "w-1") -> dict[str, str]:
    """Headers of a delivery of `body` as Shopify sends it."""
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
    }
    if webhook_id:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    return headers


def account(secret: str = SECRET) -> InboxConfig:
    return make_account("shopify", {"shop_domain": SHOP, "webhook_secret": secret})
