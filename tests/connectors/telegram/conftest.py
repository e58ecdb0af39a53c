"""Fixtures for the `telegram` connector tests: an inbox, the connector, updates as Telegram POSTs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import InboxConfig, RawRequest
from connectors.telegram.connector import TelegramConnector
from tests.connectors.conftest import load_fixture, make_account, make_raw_request
from tests.fakes.telegram import FakeTelegram
from tests.paths import LOCAL_FIXTURES

BOT_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the example token of Telegram's docs
SECRET_TOKEN = "omnihub_Test-Secret_0123456789"
INBOX_ID = 5
WEBHOOK_URL = f"https://hub.example.com/webhooks/telegram/{INBOX_ID}"


def telegram_headers(secret_token: str | None = SECRET_TOKEN) -> dict[str, str]:
    """The headers of a webhook delivery, written from https://core.telegram.org/bots/api#setwebhook.

    Telegram POSTs the Update as JSON and, when the webhook was set with `secret_token`, sends it back
    verbatim in `X-Telegram-Bot-Api-Secret-Token`. Telegram signs nothing else: no body HMAC, no timestamp.
    """
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    return headers


def telegram_request(body: bytes, *, secret_token: str | None = SECRET_TOKEN, url: str = WEBHOOK_URL) -> RawRequest:
    """A webhook delivery of `body` as the hub hands it to the connector."""
    return make_raw_request(body, url=url, headers=telegram_headers(secret_token))


def load_telegram(name: str) -> bytes:
    """A recorded Update: the shared fixtures first (`derived/...` included), then tests/fixtures/telegram/."""
    local = LOCAL_FIXTURES / "telegram" / name
    return local.read_bytes() if local.exists() else load_fixture("telegram", name)


def wrap(message: dict[str, Any], update_type: str = "message", update_id: int = 900000001) -> bytes:
    """A Message object delivered as an Update of `update_type`."""
    return json.dumps({"update_id": update_id, update_type: message}).encode()


def telegram_settings(**overrides: Any) -> dict[str, Any]:
    return {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN, **overrides}


@pytest.fixture
def account() -> InboxConfig:
    return make_account("telegram", telegram_settings(), inbox_id=INBOX_ID)


@pytest.fixture
def connector() -> TelegramConnector:
    return TelegramConnector(timeout=0.5)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=BOT_TOKEN) as server:
        yield server


@pytest.fixture
def live_account(fake: FakeTelegram) -> InboxConfig:
    """The inbox with its Bot API pointed at the fake."""
    return make_account("telegram", telegram_settings(api_base_url=fake.url), inbox_id=INBOX_ID)
