"""The email connector's contract: bearer-token verification, request bodies, ignored mail, settings."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from connectors.base import HandshakeReply, InboxConfig, MalformedPayload, SignatureInvalid
from connectors.email.connector import ORIGINAL_SIZE_HEADER, EmailConnector
from connectors.registry import get_connector
from conversation.types import DeliveryUpdate, InboundMessage
from hub.channel_specs import channel_specs
from tests.connectors.conftest import make_raw_request
from tests.connectors.email.mail import SHOP, build, dsn

CONNECTOR = EmailConnector()
SETTINGS = {
    "address": SHOP,
    "imap_host": "imap.shop.example.com",
    "imap_port": 993,
    "imap_username": "support",
    "imap_password": "imap-pw",
    "smtp_host": "smtp.shop.example.com",
    "smtp_port": 587,
    "smtp_username": "support",
    "smtp_password": "smtp-pw",
    "webhook_token": "s3cret-token",
}
ACCOUNT = InboxConfig(id=5, kind="email", name="Support", settings=SETTINGS)


def test_registered_with_the_contract_settings() -> None:
    assert get_connector("email") is not None
    spec = channel_specs()["email"]
    assert spec.required == {
        "address", "imap_host", "imap_port", "imap_username", "imap_password",
        "smtp_host", "smtp_port", "smtp_username", "smtp_password",
    }  # fmt: skip
    assert {"imap_tls", "imap_starttls", "smtp_tls", "smtp_starttls", "webhook_token", "from_name"} <= spec.optional
    assert {"bot_enabled", "bot", "agent_bot_url", "agent_bot_secret", "plus_addressing"} <= spec.optional
    assert spec.secrets == {"imap_password", "smtp_password", "webhook_token", "agent_bot_secret"}
    assert spec.validate({k: v for k, v in SETTINGS.items() if k != "smtp_password"}) == [
        "missing required settings: smtp_password"
    ]


@pytest.mark.parametrize("header", ["Bearer s3cret-token", "bearer s3cret-token", "Bearer  s3cret-token "])
def test_verify_accepts_the_bearer_token(header: str) -> None:
    CONNECTOR.verify(make_raw_request(build(), headers={"Authorization": header}), ACCOUNT)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}, {"Authorization": "s3cret-token"},
     {"Authorization": "Bearer "}],
)  # fmt: skip
def test_verify_rejects_anything_else(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid):
        CONNECTOR.verify(make_raw_request(build(), headers=headers), ACCOUNT)


def test_an_inbox_without_a_webhook_token_takes_no_http_mail() -> None:
    account = InboxConfig(id=5, kind="email", name="Support", settings={**SETTINGS, "webhook_token": ""})
    with pytest.raises(SignatureInvalid, match="webhook_token"):
        CONNECTOR.verify(make_raw_request(build(), headers={"Authorization": "Bearer "}), account)


def test_parse_a_raw_body() -> None:
    result = CONNECTOR.parse(make_raw_request(build(), headers={"Content-Type": "message/rfc822"}), ACCOUNT)
    (message,) = result.items
    assert isinstance(message, InboundMessage) and message.inbox_id == 5 and result.reply is None


def test_parse_an_inbound_parse_service_form() -> None:
    raw = build(text="from the form")
    boundary = "FORMBOUNDARY"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="to"\r\n\r\n{SHOP}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
        ).encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    (message,) = CONNECTOR.parse(make_raw_request(body, headers=headers), ACCOUNT).items
    assert isinstance(message, InboundMessage) and message.text == "from the form"
    form = urlencode({"body-mime": raw.decode()}).encode()
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    (again,) = CONNECTOR.parse(make_raw_request(form, headers=urlencoded), ACCOUNT).items
    assert isinstance(again, InboundMessage) and again.external_message_id == message.external_message_id
    with pytest.raises(MalformedPayload, match="none of the fields"):
        CONNECTOR.parse(make_raw_request(b"x=1", headers=urlencoded), ACCOUNT)


def test_loops_are_answered_with_the_reason_and_nothing_stored() -> None:
    result = CONNECTOR.parse(make_raw_request(build(from_=SHOP)), ACCOUNT)
    assert result.items == []
    assert result.reply == HandshakeReply(200, {"ok": True, "ignored": f"mail from our own address {SHOP}"})


def test_bounces_parse_to_delivery_updates() -> None:
    (update,) = CONNECTOR.parse(make_raw_request(dsn("omnihub.1.a@shop.example.com")), ACCOUNT).items
    assert isinstance(update, DeliveryUpdate) and update.inbox_id == 5


def test_the_pollers_size_note_reaches_the_message() -> None:
    request = make_raw_request(build(text=""), headers={ORIGINAL_SIZE_HEADER: str(50 * 1024 * 1024)})
    (message,) = CONNECTOR.parse(request, ACCOUNT).items
    assert isinstance(message, InboundMessage) and "was too large" in message.text


def test_garbage_is_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedPayload):
        CONNECTOR.parse(make_raw_request(b""), ACCOUNT)
