"""Slack connector test helpers: the documented v0 signer, fixtures, accounts and a fake Slack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import InboxConfig, RawRequest
from connectors.slack.connector import SlackConnector
from tests.connectors.conftest import load_fixture, make_account, make_raw_request
from tests.fakes.slack import FakeSlack, signed_headers, slack_signature
from tests.paths import LOCAL_FIXTURES

__all__ = ["signed_headers", "slack_signature"]

SIGNING_SECRET = "test-signing-secret-0123456789ab"  # a fake secret, not the published vector's
WEBHOOK_URL = "https://hub.example.com/webhooks/slack/7"
INBOX_ID = 7


def shared_fixture(name: str) -> bytes:
    """A recorded payload from ../shared/fixtures/payloads/slack/."""
    return load_fixture("slack", name)


def local_fixture(name: str) -> bytes:
    """A payload transcribed into tests/fixtures/slack/ (sources in its README)."""
    return (LOCAL_FIXTURES / "slack" / name).read_bytes()


def signed_request(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> RawRequest:
    """A `RawRequest` signed the way Slack signs Events API deliveries (now, unless `timestamp`)."""
    headers = signed_headers(secret, body, int(time.time()) if timestamp is None else timestamp)
    headers.update(extra_headers or {})
    return make_raw_request(body, url=WEBHOOK_URL, headers=headers)


def slack_account(**settings: Any) -> InboxConfig:
    """A Slack inbox as the hub hands it to the connector."""
    base = {"bot_token": "xoxb-not-used-offline", "signing_secret": SIGNING_SECRET}
    base.update(settings)
    return make_account("slack", base, inbox_id=INBOX_ID)


@pytest.fixture
def connector() -> SlackConnector:
    return SlackConnector(timeout=2)


@pytest.fixture
def account() -> InboxConfig:
    return slack_account()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def live_account(fake_slack: FakeSlack) -> InboxConfig:
    """An inbox whose Web API calls go to the fake."""
    return slack_account(bot_token=fake_slack.bot_token, api_base_url=fake_slack.api_url)
