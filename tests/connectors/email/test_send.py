"""Sending over a real SMTP server (aiosmtpd): headers that thread, parts, attachments, no injection, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import InboxConfig, SendFailed
from connectors.email.connector import EmailConnector
from connectors.email.signals import LOOP_HEADER, loop_token
from conversation.types import Attachment, ChannelKind, DeliveryStatus, ExternalIdentity, OutboundMessage
from tests.connectors.email.mail import CUSTOMER, SHOP
from tests.fakes.base import free_port
from tests.fakes.smtp import SmtpServer

TOKEN = "0123456789abcdef0123"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def account(port: int, **extra: Any) -> InboxConfig:
    settings = {
        "address": SHOP,
        "imap_host": "imap.shop.example.com",
        "imap_port": 993,
        "imap_username": "support",
        "imap_password": "pw",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_username": "",
        "smtp_password": "",
        "smtp_starttls": False,
        **extra,
    }
    return InboxConfig(id=3, kind="email", name="Shop Support", settings=settings)


def outbound(**overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "message_id": 42,
        "conversation_id": 9,
        "channel_kind": ChannelKind.EMAIL,
        "inbox_id": 3,
        "recipient": ExternalIdentity(address=CUSTOMER, name="Ada Lovelace", email=CUSTOMER),
        "text": "Your order ships today.\n\nBest,\nSam",
        "subject": "Where is my order?",
        "in_reply_to_external_id": "m2@customer.example.org",
        "references": ("m1@customer.example.org", "omnihub.7.x@shop.example.com", "m2@customer.example.org"),
        "thread_token": TOKEN,
        "author_name": "Sam Rivera",
    }
    values.update(overrides)
    return OutboundMessage(**values)


async def test_a_reply_threads_and_has_both_parts(smtp: SmtpServer) -> None:
    receipt = await EmailConnector().send(outbound(), account(smtp.port))
    (received,) = smtp.received
    mail = received.message
    assert received.mail_from == SHOP and received.rcpt_tos == [CUSTOMER]
    assert mail["From"] == f'"Sam Rivera (Shop Support)" <{SHOP}>'
    assert mail["To"] == f"Ada Lovelace <{CUSTOMER}>"
    assert "Reply-To" not in mail  # plus addressing is off by default
    assert mail["Subject"] == "Re: Where is my order?"
    assert mail["Message-ID"] == f"<{receipt.external_message_id}>"
    assert receipt.external_message_id.endswith("@shop.example.com") and "omnihub.42" in receipt.external_message_id
    assert receipt.status is DeliveryStatus.SENT
    assert mail["In-Reply-To"] == "<m2@customer.example.org>"
    assert str(mail["References"]).split() == [
        "<m1@customer.example.org>",
        "<omnihub.7.x@shop.example.com>",
        "<m2@customer.example.org>",
    ]
    assert mail[LOOP_HEADER] == loop_token(SHOP)
    plain = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert plain.strip() == "Your order ships today.\n\nBest,\nSam"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Your order ships today.<br><br>Best,<br>Sam" in html
    assert mail["Date"] is not None and "Auto-Submitted" not in mail


async def test_plus_addressing_subject_token_and_attachments(smtp: SmtpServer) -> None:
    message = outbound(
        subject="Re: Where is my order?",
        attachments=(Attachment(filename="label.pdf", content_type="application/pdf", content=b"%PDF-1.4 x"),),
        meta={"bot_name": "Shop bot"},
        author_name="Shop bot",
    )
    await EmailConnector().send(message, account(smtp.port, plus_addressing=True, subject_token=True, from_name="ACME"))
    mail = smtp.received[0].message
    assert mail["Reply-To"] == f"ACME <support+{TOKEN}@shop.example.com>"
    assert mail["Subject"] == f"Re: Where is my order? [#{TOKEN}]"  # never "Re: Re:"
    assert mail["Auto-Submitted"] == "auto-replied"
    (pdf,) = list(mail.iter_attachments())
    assert pdf.get_filename() == "label.pdf" and pdf.get_content() == b"%PDF-1.4 x"
    assert pdf.get_content_type() == "application/pdf"


async def test_synthetic_ids_never_leave_the_hub(smtp: SmtpServer) -> None:
    message = outbound(
        in_reply_to_external_id="abc@message-id.invalid", references=("abc@message-id.invalid", "real@x.example")
    )
    await EmailConnector().send(message, account(smtp.port))
    mail = smtp.received[0].message
    assert "In-Reply-To" not in mail and mail["References"] == "<real@x.example>"
    assert mail["Subject"] == "Where is my order?"  # not answering a known message: no "Re:"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\r\nBcc: victim@evil.example"),
        ("subject", "Hello\nX-Injected: yes"),
        ("author_name", "Sam\r\nBcc: victim@evil.example"),
    ],
)
async def test_headers_cannot_be_injected(smtp: SmtpServer, field: str, value: str) -> None:
    await EmailConnector().send(outbound(**{field: value}), account(smtp.port))
    (received,) = smtp.received
    mail = received.message
    assert received.rcpt_tos == [CUSTOMER]
    assert "Bcc" not in mail and "X-Injected" not in mail
    head = received.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\r\nX-Injected:" not in head


async def test_a_recipient_name_with_newlines_stays_one_header(smtp: SmtpServer) -> None:
    recipient = ExternalIdentity(address=CUSTOMER, name="Ada\r\nCc: victim@evil.example", email=CUSTOMER)
    await EmailConnector().send(outbound(recipient=recipient), account(smtp.port))
    mail = smtp.received[0].message
    assert "Cc" not in mail and smtp.received[0].rcpt_tos == [CUSTOMER]


@pytest.mark.parametrize(
    ("reply", "stage", "retryable", "reason"),
    [
        ("550 5.1.1 No such user", "RCPT", False, "the mail server refused the recipient: 550 5.1.1 No such user"),
        ("451 4.7.1 Try again later", "RCPT", True, "the mail server refused the recipient: 451 4.7.1 Try again later"),
        ("552 5.3.4 Message too big", "DATA", False, "the mail server answered 552 5.3.4 Message too big"),
        ("421 4.3.0 Shutting down", "DATA", True, "the mail server answered 421 4.3.0 Shutting down"),
    ],
)
async def test_smtp_errors_become_send_failed(
    smtp: SmtpServer, reply: str, stage: str, retryable: bool, reason: str
) -> None:
    smtp.refuse_next(reply, stage)
    with pytest.raises(SendFailed) as failure:
        await EmailConnector().send(outbound(), account(smtp.port))
    assert failure.value.retryable is retryable and failure.value.reason == reason


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_failures_and_unreachable_servers() -> None:
    with SmtpServer(users={"support": "right"}) as server:
        bad = account(server.port, smtp_username="support", smtp_password="wrong")
        with pytest.raises(SendFailed) as failure:
            await EmailConnector().send(outbound(), bad)
        assert failure.value.retryable is False and "SMTP login failed" in failure.value.reason
        good = account(server.port, smtp_username="support", smtp_password="right")
        await EmailConnector().send(outbound(), good)
        assert len(server.received) == 1
    with pytest.raises(SendFailed) as unreachable:
        await EmailConnector(smtp_timeout=2).send(outbound(), account(free_port()))
    assert unreachable.value.retryable is True and "cannot reach the mail server" in unreachable.value.reason


async def test_starttls_is_required_unless_switched_off(smtp: SmtpServer) -> None:
    with pytest.raises(SendFailed) as failure:
        await EmailConnector().send(outbound(), account(smtp.port, smtp_starttls=True))
    assert failure.value.retryable is False and "TLS" in failure.value.reason
    assert smtp.received == []


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"address": "not an address"}, "address must be an email address"),
        ({"smtp_port": "smtp"}, "smtp_port must be a number"),
        ({"smtp_tls": "maybe"}, "smtp_tls must be true or false"),
    ],
)
async def test_unusable_settings_fail_permanently(settings: dict[str, Any], reason: str) -> None:
    with pytest.raises(SendFailed) as failure:
        await EmailConnector().send(outbound(), account(25, **settings))
    assert failure.value.retryable is False and reason in failure.value.reason


async def test_a_missing_attachment_fails_permanently(smtp: SmtpServer) -> None:
    message = outbound(attachments=(Attachment(filename="gone.pdf", content_type="application/pdf"),))
    with pytest.raises(SendFailed, match=r"gone\.pdf") as failure:
        await EmailConnector().send(message, account(smtp.port))
    assert failure.value.retryable is False
