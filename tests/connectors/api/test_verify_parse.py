"""The generic `api` channel: signature checks and parsing (CONTRACT.md, `POST /webhooks/api/{inbox_id}`)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.api.connector import ApiConnector
from connectors.base import MalformedPayload, SignatureInvalid, UnsupportedEvent
from conversation.types import ChannelKind, DeliveryStatus, DeliveryUpdate, InboundMessage
from tests.connectors.conftest import make_account, make_raw_request
from tests.factories import api_signature

ACCOUNT = make_account("api", {"hmac_secret": "s3cret"}, inbox_id=7)
CONNECTOR = ApiConnector()


def signed(body: bytes, secret: str = "s3cret") -> object:
    return make_raw_request(body, headers={"X-Omnihub-Signature": api_signature(secret, body)})


def test_a_valid_signature_passes_and_every_bad_one_is_refused() -> None:
    body = json.dumps({"contact": {"identifier": "c1"}, "text": "hi", "external_id": "m1"}).encode()
    CONNECTOR.verify(signed(body), ACCOUNT)  # type: ignore[arg-type]
    bad = [
        make_raw_request(body),  # missing header
        make_raw_request(body, headers={"X-Omnihub-Signature": api_signature("other", body)}),  # wrong secret
        make_raw_request(body + b" ", headers={"X-Omnihub-Signature": api_signature("s3cret", body)}),  # tampered
        make_raw_request(body, headers={"X-Omnihub-Signature": api_signature("s3cret", body)[7:]}),  # no sha256= prefix
    ]
    for request in bad:
        with pytest.raises(SignatureInvalid):
            CONNECTOR.verify(request, ACCOUNT)


def test_a_message_is_parsed_with_its_contact_details() -> None:
    body = json.dumps(
        {"contact": {"identifier": " c-42 ", "name": "Ada", "email": "ada@example.com", "phone": "+15555550100"},
         "text": "Where is my order?", "external_id": "msg-1", "sent_at": "2026-11-01T10:00:00Z",
         "attachments": [{"url": "https://files.example.com/a.png", "filename": "a.png", "content_type": "image/png"}]}
    ).encode()  # fmt: skip
    (item,) = CONNECTOR.parse(signed(body), ACCOUNT).items  # type: ignore[arg-type]
    assert isinstance(item, InboundMessage)
    assert (item.channel_kind, item.inbox_id, item.external_message_id, item.text) == (
        ChannelKind.API,
        7,
        "msg-1",
        "Where is my order?",
    )
    assert (item.sender.address, item.sender.name, item.sender.email, item.sender.phone) == (
        "c-42",
        "Ada",
        "ada@example.com",
        "+15555550100",
    )
    assert item.sender.verified and item.sent_at.isoformat() == "2026-11-01T10:00:00+00:00"
    assert [(a.filename, a.content_type, a.source_url) for a in item.attachments] == [
        ("a.png", "image/png", "https://files.example.com/a.png")
    ]


def test_status_reports_ignored_and_unknown_events() -> None:
    report = json.dumps(
        {"event": "message_status", "external_id": "omnihub-9", "status": "failed", "error": "no such user"}
    ).encode()
    (update,) = CONNECTOR.parse(signed(report), ACCOUNT).items  # type: ignore[arg-type]
    assert (
        isinstance(update, DeliveryUpdate) and update.status == DeliveryStatus.FAILED and update.error == "no such user"
    )
    assert CONNECTOR.parse(signed(b'{"event": "ping"}'), ACCOUNT).items == []  # type: ignore[arg-type]
    with pytest.raises(UnsupportedEvent):
        CONNECTOR.parse(signed(b'{"event": "contact_deleted"}'), ACCOUNT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"contact": {"identifier": "c"}, "text": "x"}', "external_id"),
        (b'{"contact": {"identifier": " "}, "text": "x", "external_id": "e"}', "identifier must not be empty"),
        (b'{"contact": {"identifier": "c"}, "text": " ", "external_id": "e"}', "needs text"),
        (b'{"contact": {"identifier": "c"}, "text": "x", "external_id": "e", "sent_at": "yesterday"}', "ISO 8601"),
        (b'{"event": "message_status", "external_id": "e", "status": "lost"}', "status must be one of"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        CONNECTOR.parse(signed(body), ACCOUNT)  # type: ignore[arg-type]


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_our_errors(body: bytes) -> None:
    with contextlib.suppress(MalformedPayload, UnsupportedEvent):
        CONNECTOR.parse(make_raw_request(body), ACCOUNT)
