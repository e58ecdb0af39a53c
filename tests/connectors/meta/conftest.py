"""Fixtures for the Meta connectors: accounts, signed requests, the local fixture loaders and the fake Graph API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import InboxConfig, RawRequest
from tests.connectors.conftest import load_fixture, make_account, make_raw_request
from tests.fakes.meta import FakeGraph, meta_signature
from tests.paths import LOCAL_FIXTURES

APP_SECRET = "test_app_secret"
VERIFY_TOKEN = "verify-me"
PHONE_NUMBER_ID = "1122334455667"
PAGE_ID = "111111"
WEBHOOK_URL = "https://hub.example.com/webhooks/meta/1"

#: The signer, written from Meta's docs (see tests/fakes/meta.py), re-exported for the tests.
sign = meta_signature


def whatsapp_account(phone_number_id: str = PHONE_NUMBER_ID, **extra: Any) -> InboxConfig:
    """A WhatsApp inbox as the hub hands it to the connector."""
    settings = {"access_token": "EAAG-token", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    return make_account("whatsapp", {**settings, "phone_number_id": phone_number_id, **extra})


def messenger_account(page_id: str = PAGE_ID, **extra: Any) -> InboxConfig:
    """A Messenger inbox as the hub hands it to the connector."""
    settings = {"access_token": "EAAG-page-token", "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    return make_account("messenger", {**settings, "page_id": page_id, **extra})


def signed_request(body: bytes, secret: str = APP_SECRET) -> RawRequest:
    """A POST as Meta sends it: raw body plus `X-Hub-Signature-256`."""
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}
    return make_raw_request(body, url=WEBHOOK_URL, headers=headers)


def body_of(payload: Any) -> bytes:
    """Serialise a payload compactly, as Meta does."""
    return json.dumps(payload, separators=(",", ":")).encode()


def shared_kind(provider: str, name: str, kind: str) -> bytes:
    """One webhook body out of a shared multi-kind fixture file (e.g. `pywa_message.json` -> "text")."""
    return body_of(json.loads(load_fixture(provider, name))[kind])


def local_fixture(path: str) -> bytes:
    """Bytes of tests/fixtures/meta/<path>."""
    return (LOCAL_FIXTURES / "meta" / path).read_bytes()


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """A running fake Graph API."""
    fake = FakeGraph(app_secret=APP_SECRET)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
