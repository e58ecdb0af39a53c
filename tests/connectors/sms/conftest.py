"""Fixtures for the Twilio `sms` connector tests: an inbox, the connector, signed raw requests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from connectors.base import InboxConfig, RawRequest
from connectors.sms.connector import SmsConnector
from tests.connectors.conftest import load_fixture, make_account, make_raw_request
from tests.fakes.twilio import twilio_signature
from tests.paths import LOCAL_FIXTURES

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SHOP_NUMBER = "+15555550199"
WEBHOOK_URL = "https://hub.example.com/webhooks/sms/7"
STATUS_URL = WEBHOOK_URL + "/status"


def load_twilio(name: str) -> bytes:
    """A recorded Twilio body: the shared fixtures first, then tests/fixtures/twilio/."""
    local = LOCAL_FIXTURES / "twilio" / name
    return local.read_bytes() if local.exists() else load_fixture("twilio", name)


def sign(url: str, pairs: Iterable[tuple[str, str]], token: str = AUTH_TOKEN) -> str:
    """The `X-Twilio-Signature` Twilio would send (the test signer, written from Twilio's docs)."""
    return twilio_signature(token, url, list(pairs))


def twilio_request(body: bytes, *, url: str = WEBHOOK_URL, token: str = AUTH_TOKEN, **headers: str) -> RawRequest:
    """A form-encoded Twilio webhook for `body`, signed for `url` unless headers say otherwise."""
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sign(url, pairs, token)}
    all_headers.update({key.replace("_", "-"): value for key, value in headers.items()})
    return make_raw_request(body, url=url, headers=all_headers)


def sms_settings(**overrides: Any) -> dict[str, Any]:
    return {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_number": SHOP_NUMBER, **overrides}


@pytest.fixture
def account() -> InboxConfig:
    return make_account("sms", sms_settings(), inbox_id=7)


@pytest.fixture
def connector() -> SmsConnector:
    return SmsConnector()
