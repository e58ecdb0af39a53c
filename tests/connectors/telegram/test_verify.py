"""`TelegramConnector.verify`: the `X-Telegram-Bot-Api-Secret-Token` header against the inbox's secret_token."""

from __future__ import annotations

import pytest

from connectors.base import InboxConfig, SignatureInvalid
from connectors.telegram.client import register_webhook
from connectors.telegram.connector import TelegramConnector
from tests.connectors.conftest import make_account, make_raw_request
from tests.connectors.telegram.conftest import (
    BOT_TOKEN,
    SECRET_TOKEN,
    WEBHOOK_URL,
    load_telegram,
    telegram_headers,
    telegram_request,
    telegram_settings,
)
from tests.fakes.telegram import FakeTelegram

BODY = load_telegram("derived/official_patched_text_message.json")


def test_the_secret_token_header_verifies(connector: TelegramConnector, account: InboxConfig) -> None:
    connector.verify(telegram_request(BODY), account)


def test_header_name_is_case_insensitive(connector: TelegramConnector, account: InboxConfig) -> None:
    request = make_raw_request(BODY, url=WEBHOOK_URL, headers={"x-telegram-bot-api-secret-token": SECRET_TOKEN})
    connector.verify(request, account)


@pytest.mark.parametrize(
    "given",
    [
        "wrong-secret",
        SECRET_TOKEN[:-1],  # a prefix
        SECRET_TOKEN + "x",  # an extension
        SECRET_TOKEN.upper(),
        " " + SECRET_TOKEN,
        "sécret-ünicode",
        "\udcff\ud800",  # lone surrogates must not crash the comparison
    ],
)
def test_a_wrong_secret_is_rejected(connector: TelegramConnector, account: InboxConfig, given: str) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        connector.verify(telegram_request(BODY, secret_token=given), account)


@pytest.mark.parametrize("given", [None, ""])
def test_a_missing_header_is_rejected(connector: TelegramConnector, account: InboxConfig, given: str | None) -> None:
    with pytest.raises(SignatureInvalid, match="missing X-Telegram-Bot-Api-Secret-Token"):
        connector.verify(telegram_request(BODY, secret_token=given), account)


@pytest.mark.parametrize("stored", [None, "", 12345])
def test_an_inbox_without_secret_token_accepts_nothing(connector: TelegramConnector, stored: object) -> None:
    settings = telegram_settings(secret_token=stored)
    if stored is None:
        del settings["secret_token"]
    inbox = make_account("telegram", settings)
    with pytest.raises(SignatureInvalid, match="no secret_token"):
        connector.verify(telegram_request(BODY, secret_token=""), inbox)
    with pytest.raises(SignatureInvalid, match="no secret_token"):
        connector.verify(telegram_request(BODY, secret_token=str(stored)), inbox)


def test_another_inboxs_secret_is_rejected(connector: TelegramConnector) -> None:
    other = make_account("telegram", telegram_settings(secret_token="another_inbox_secret"), inbox_id=6)
    with pytest.raises(SignatureInvalid):
        connector.verify(telegram_request(BODY), other)


def test_the_body_is_not_signed_by_telegram(connector: TelegramConnector, account: InboxConfig) -> None:
    """Telegram's scheme authenticates the sender, not the body: a changed body with the right header passes.

    (https://core.telegram.org/bots/api#setwebhook has no body signature; TLS protects the body in transit.)
    A tampered body without the secret is still refused.
    """
    tampered = BODY.replace(b"/start", b"/stop!")
    connector.verify(telegram_request(tampered), account)
    with pytest.raises(SignatureInvalid):
        connector.verify(telegram_request(tampered, secret_token="guess"), account)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7:8000/webhooks/telegram/5",  # behind a proxy: the URL we see differs
        "https://hub.example.com/webhooks/telegram/5?x=1",
        f"https://hub.example.com/webhooks/telegram/5/{BOT_TOKEN}",  # a bot token in the URL proves nothing
    ],
)
def test_the_url_plays_no_part(connector: TelegramConnector, account: InboxConfig, url: str) -> None:
    connector.verify(telegram_request(BODY, url=url), account)
    with pytest.raises(SignatureInvalid):
        connector.verify(telegram_request(BODY, url=url, secret_token=BOT_TOKEN), account)


def test_no_replay_window_exists_a_retry_verifies_again(connector: TelegramConnector, account: InboxConfig) -> None:
    """Telegram sends no timestamp; it retries a delivery for up to 24 h with the same header.

    Duplicates are absorbed by the message id (`"<chat_id>:<message_id>"`), see test_parse.
    """
    connector.verify(telegram_request(BODY), account)
    connector.verify(telegram_request(BODY), account)


async def test_a_delivery_to_the_registered_webhook_verifies(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    """Round trip: setWebhook stores our secret; Telegram (the fake) sends it back on every delivery."""
    await register_webhook(live_account, WEBHOOK_URL)
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ada"},
            "text": "hi",
        },
    }
    delivery = fake.webhook_delivery(update)
    request = make_raw_request(delivery.body, url=delivery.url, headers=delivery.headers)
    connector.verify(request, live_account)
    assert delivery.headers == telegram_headers(SECRET_TOKEN)
    assert [item.text for item in connector.parse(request, live_account).items] == ["hi"]
