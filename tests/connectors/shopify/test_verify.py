"""X-Shopify-Hmac-Sha256: the shared vectors, wrong secret, missing header, tampered body, another shop."""

from __future__ import annotations

import pytest

from connectors.base import SignatureInvalid
from connectors.shopify.connector import ShopifyConnector, shopify_hmac
from tests.connectors.conftest import load_fixture, make_raw_request
from tests.connectors.shopify.conftest import (
    SDK_FULFILLMENT,
    SDK_ORDER,
    SECRET,
    account,
    local_body,
    shared_vectors,
    shopify_signature,
    signed,
)

CONNECTOR = ShopifyConnector()


@pytest.mark.parametrize("name", [SDK_ORDER, SDK_FULFILLMENT])
def test_shared_vectors_verify(name: str) -> None:
    body = load_fixture("shopify", name)
    expected = shared_vectors()[name]
    assert shopify_signature(SECRET, body) == expected  # our test signer agrees with the vector
    assert shopify_hmac(SECRET, body) == expected
    request = make_raw_request(body, headers={"X-Shopify-Hmac-Sha256": expected, "X-Shopify-Topic": "orders/create"})
    CONNECTOR.verify(request, account())


def test_modern_body_signed_by_docs_signer_verifies() -> None:
    body = local_body("orders_create__paid.json")
    CONNECTOR.verify(make_raw_request(body, headers=signed(body, "orders/create")), account())


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Shopify-Hmac-Sha256": ""}, "missing"),
        ({"X-Shopify-Hmac-Sha256": shopify_signature("not-the-secret", b"{}")}, "does not match"),
        # The right digest in hex instead of base64 is still wrong.
        ({"X-Shopify-Hmac-Sha256": "0" * 64}, "does not match"),
    ],
)
def test_bad_signatures_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        CONNECTOR.verify(make_raw_request(b"{}", headers=headers), account())


def test_tampered_body_is_refused() -> None:
    body = load_fixture("shopify", SDK_ORDER)
    headers = {"X-Shopify-Hmac-Sha256": shared_vectors()[SDK_ORDER]}
    with pytest.raises(SignatureInvalid):
        CONNECTOR.verify(make_raw_request(body.replace(b"409.94", b"0.01"), headers=headers), account())


def test_a_delivery_for_another_shop_is_refused() -> None:
    body = local_body("orders_create__paid.json")
    headers = {**signed(body, "orders/create"), "X-Shopify-Shop-Domain": "someone-else.myshopify.com"}
    with pytest.raises(SignatureInvalid, match="another shop"):
        CONNECTOR.verify(make_raw_request(body, headers=headers), account())


def test_an_integration_without_secret_refuses_everything() -> None:
    body = b"{}"
    headers = {"X-Shopify-Hmac-Sha256": shopify_signature("", body)}
    with pytest.raises(SignatureInvalid):
        CONNECTOR.verify(make_raw_request(body, headers=headers), account(secret=""))
