"""Property tests: header decoding and the parser never crash, and what they return is safe to store."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import MalformedPayload
from connectors.email.mime import decode_bytes, decode_header_value, message_ids
from connectors.email.parser import Mailbox, parse_email
from conversation.types import DeliveryUpdate, InboundMessage

MAILBOX = Mailbox(inbox_id=1, address="support@shop.example.com")
CHARSETS = ["utf-8", "iso-8859-1", "koi8-r", "shift_jis", "x-unknown", "NONE", "iso-2022-jp", "utf-7", "gb2312", ""]


def storable(text: str | None) -> bool:
    """What PostgreSQL accepts in text and JSON: no NUL, no lone surrogates."""
    if text is None:
        return True
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


encoded_words = st.builds(
    lambda charset, enc, payload: f"=?{charset}?{enc}?{payload}?=",
    st.sampled_from(CHARSETS),
    st.sampled_from(["B", "Q", "b", "x"]),
    st.one_of(
        st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode()),
        st.text(alphabet="=ABCDEFabcdef0123456789_?", max_size=30),
    ),
)
header_values = st.lists(st.one_of(encoded_words, st.text(max_size=20)), max_size=6).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(header_values)
def test_header_decoding_never_raises_and_is_one_clean_line(value: str) -> None:
    decoded = decode_header_value(value)
    assert storable(decoded)
    assert "\n" not in decoded and "\r" not in decoded
    for ident in message_ids(value):
        assert storable(ident) and len(ident) <= 250 and " " not in ident


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([*CHARSETS, None]))
def test_body_decoding_never_raises(data: bytes, charset: str | None) -> None:
    assert storable(decode_bytes(data, charset))


def check_parse(raw: bytes) -> None:
    try:
        parsed = parse_email(raw, MAILBOX)
    except MalformedPayload:
        return
    for item in parsed.items:
        if isinstance(item, InboundMessage):
            for text in (
                item.text,
                item.full_text,
                item.subject,
                item.sender.name,
                item.sender.address,
                item.external_message_id,
                item.in_reply_to_external_id,
                item.thread_token,
            ):
                assert storable(text)
            assert all(storable(a.filename) and storable(a.content_id) for a in item.attachments)
            assert item.sent_at.tzinfo is not None
        else:
            assert isinstance(item, DeliveryUpdate) and storable(item.error)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_the_parser(raw: bytes) -> None:
    check_parse(raw)


HEADER_LINES = [
    b"From: Ada <ada@example.org>",
    b"From: =?utf-8?q?J=C3=B6rg?= <j@x.example>",
    b"From: MAILER DAEMON <>",
    b'From: "broken <x@y',
    b"To: support@shop.example.com",
    b"To: support+0123456789abcdef0123@shop.example.com",
    b"Subject: =?iso-8859-1?q?caf=E9?=",
    b"Subject: =?NONE?B?VEVTVA=?=",
    b"Message-ID: <a@b>",
    b"Message-ID:",
    b"In-Reply-To: <<<>>>",
    b"References: <a@b> <c@d> junk",
    b"Date: Mon, 2 Mar 2026 09:00:00 +0100",
    b"Date: yesterday",
    b"MIME-Version: 1.0",
    b'Content-Type: multipart/mixed; boundary="B"',
    b"Content-Type: multipart/alternative; boundary=B",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=B",
    b"Content-Type: text/html; charset=koi8-r",
    b'Content-Type: text/plain; charset="x-what"',
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Auto-Submitted: auto-replied",
    b"X-Omnihub-Loop: 123",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%9C%93.txt",
    b"Content-ID: <img@x>",
]
BODY_LINES = [
    b"--B",
    b"--B--",
    b"Content-Type: text/plain",
    b"Content-Type: message/delivery-status",
    b"Content-Type: message/rfc822",
    b"Content-Type: image/png",
    b"Action: failed",
    b"Message-ID: <orig@shop.example.com>",
    b"",
    b"> quoted",
    b"On Mon, 2 Mar 2026 at 09:00, Ada <ada@example.org> wrote:",
    b'<html><body><img src="cid:img@x"><div class=gmail_quote>q</div>',
    b"=E9=",
    b"SGVsbG8=",
    b"\xff\xfe\x00garbage",
]
structured = st.builds(
    lambda head, body: b"\r\n".join(head) + b"\r\n\r\n" + b"\r\n".join(body),
    st.lists(st.sampled_from(HEADER_LINES), max_size=12),
    st.lists(st.one_of(st.sampled_from(BODY_LINES), st.binary(max_size=40)), max_size=30),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structured)
def test_mail_shaped_bytes_never_crash_the_parser(raw: bytes) -> None:
    check_parse(raw)
