"""`WebchatConnector`: settings, origins, the shop's HMAC, frames -> InboundMessage, uploads, releasing replies."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from connectors.base import Connector, Headers, MalformedPayload, RawRequest, SignatureInvalid, UnsupportedEvent
from connectors.registry import get_connector
from connectors.webchat.connector import (
    FileRefused,
    MessageTooLarge,
    Visitor,
    WebchatConnector,
    origin_allowed,
    signature_valid,
    sniff_content_type,
    widget_settings,
)
from conversation.types import ChannelKind, DeliveryStatus, ExternalIdentity, OutboundMessage
from tests.connectors.conftest import make_account
from tests.paths import LOCAL_FIXTURES

SPEC = WebchatConnector.settings_spec
SITE = "https://shop.example.com"
VISITOR = "v_" + "a" * 22
SETTINGS = {"website_url": SITE + "/", "hmac_secret": "s3cret", "allowed_origins": ["https://*.shop.example.net"]}
ACCOUNT = make_account("webchat", SETTINGS, inbox_id=7)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def frame(name: str) -> bytes:
    return (LOCAL_FIXTURES / "webchat" / name).read_bytes()


def request(body: bytes, origin: str = SITE, visitor: str | None = VISITOR) -> RawRequest:
    headers = Visitor(visitor, "nl").headers(origin) if visitor else Headers({"origin": origin})
    return RawRequest(method="WS", url="", headers=headers, body=body)


def test_registered_and_implements_the_protocol() -> None:
    assert isinstance(get_connector("webchat"), WebchatConnector)
    assert isinstance(WebchatConnector(), Connector)


def test_settings_keys_and_secrets() -> None:
    assert SPEC.required == {"website_url", "hmac_secret"}
    assert SPEC.secrets == {"hmac_secret", "agent_bot_secret"}
    assert {
        "bot_enabled",
        "bot",
        "agent_bot_url",
        "agent_bot_secret",
        "email_inbox_id",
        "pre_chat_form",
    } <= SPEC.optional
    assert SPEC.validate(SETTINGS) == []
    assert SPEC.validate({"website_url": SITE}) == ["missing required settings: hmac_secret"]


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("website_url", "javascript:alert(1)", "website_url must be the shop's http(s) URL"),
        ("color", "red; background: url(x)", "color must be a hex colour like #2f5bd3"),
        ("avatar_url", "http://cdn.example.com/a.png", "avatar_url must be an https URL"),
        ("allowed_origins", "https://a.example.com", "allowed_origins must be a list of origins"),
        ("allowed_origins", ["ftp://a.example.com"], "allowed_origins: 'ftp://a.example.com' is not an http(s) origin"),
        ("offline_email_delay_seconds", -1, "offline_email_delay_seconds must be a number of seconds"),
        ("email_inbox_id", "3", "email_inbox_id must be an inbox id"),
        ("pre_chat_form", {"fields": ["age"]}, "pre_chat_form must be true/false or"),
        ("locale", "xx", "locale must be auto or one of"),
    ],
)
def test_bad_values_are_named(key: str, value: object, problem: str) -> None:
    problems = SPEC.validate({**SETTINGS, key: value})
    assert len(problems) == 1 and problems[0].startswith(problem), problems


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("https://SHOP.example.com:443", True),
        ("https://www.shop.example.net", True),
        ("https://shop.example.net", False),  # "*." means subdomains only
        ("http://shop.example.com", False),  # another scheme is another origin
        ("https://shop.example.com.evil.test", False),
        ("https://evilshop.example.net", False),
        ("null", False),
        (None, False),
    ],
)
def test_origins(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin, SETTINGS) is allowed


def test_shop_signature_matches_rfc_4231_and_is_case_insensitive() -> None:
    # RFC 4231, test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?")
    vector = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert signature_valid("Jefe", "what do ya want for nothing?", vector)
    assert signature_valid("Jefe", "what do ya want for nothing?", vector.upper())
    ours = hmac.new(b"s3cret", b"cust-42", hashlib.sha256).hexdigest()
    assert signature_valid("s3cret", "cust-42", ours)
    assert not signature_valid("s3cret", "cust-43", ours)
    assert not signature_valid("s3cret", "cust-42", None)
    assert not signature_valid("", "cust-42", ours)


def test_a_message_frame_becomes_an_inbound_message() -> None:
    connector = WebchatConnector()
    raw = request(frame("message__text.json"))
    connector.verify(raw, ACCOUNT)
    (msg,) = connector.parse(raw, ACCOUNT).items
    assert msg.channel_kind == ChannelKind.WEBCHAT and msg.inbox_id == 7
    assert msg.external_message_id == f"{VISITOR}:3f9a1c0e5b7d4e21a8c6f0b2"
    assert msg.sender == ExternalIdentity(address=VISITOR, verified=False, extra={"inbox_id": 7, "locale": "nl"})
    assert msg.text == "Hi, where is my order #1001?"
    assert msg.external_thread_ref == VISITOR and msg.meta == {"client_id": "3f9a1c0e5b7d4e21a8c6f0b2", "locale": "nl"}
    assert msg.raw == json.loads(frame("message__text.json"))
    assert msg.sent_at.tzinfo is UTC and abs((datetime.now(UTC) - msg.sent_at).total_seconds()) < 5


def test_verify_needs_the_site_and_a_visitor_session() -> None:
    connector = WebchatConnector()
    with pytest.raises(SignatureInvalid, match="not allowed"):
        connector.verify(request(frame("message__text.json"), origin="https://evil.example.org"), ACCOUNT)
    with pytest.raises(SignatureInvalid, match="visitor"):
        connector.verify(request(frame("message__text.json"), visitor=None), ACCOUNT)
    with pytest.raises(SignatureInvalid, match="visitor"):
        connector.verify(request(frame("message__text.json"), visitor="v_short"), ACCOUNT)


@pytest.mark.parametrize("name", ["typing.json", "receipt.json"])
def test_ignored_frames_parse_to_nothing(name: str) -> None:
    assert WebchatConnector().parse(request(frame(name)), ACCOUNT).items == []


def test_bad_frames() -> None:
    connector = WebchatConnector()
    with pytest.raises(UnsupportedEvent):
        connector.parse(request(b'{"type": "dance"}'), ACCOUNT)
    with pytest.raises(MalformedPayload, match="not JSON"):
        connector.parse(request(b"{nope"), ACCOUNT)
    with pytest.raises(MalformedPayload, match="client_id"):
        connector.parse(request(b'{"type": "message", "client_id": "a b", "text": "x"}'), ACCOUNT)
    with pytest.raises(MalformedPayload, match="needs text"):
        connector.parse(request(b'{"type": "message", "client_id": "c1", "text": "   "}'), ACCOUNT)
    with pytest.raises(MessageTooLarge, match="5000"):
        connector.parse(request(json.dumps({"client_id": "c1", "text": "x" * 5001}).encode()), ACCOUNT)
    with pytest.raises(MessageTooLarge, match="frame"):
        connector.parse(request(json.dumps({"client_id": "c1", "text": "é" * 20000}).encode()), ACCOUNT)


def test_uploads_are_typed_by_their_bytes() -> None:
    connector = WebchatConnector()
    visitor = Visitor(VISITOR)
    msg = connector.parse_upload(ACCOUNT, visitor, "c2", "my receipt", "../../etc/receipt.png", PNG)
    (att,) = msg.attachments
    assert (att.filename, att.content_type, att.size, att.content) == ("receipt.png", "image/png", len(PNG), PNG)
    assert msg.text == "my receipt" and msg.external_message_id == f"{VISITOR}:c2"
    assert sniff_content_type(b"%PDF-1.7\n") == "application/pdf"
    assert sniff_content_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    with pytest.raises(FileRefused, match="only images"):
        connector.parse_upload(ACCOUNT, visitor, "c3", "", "evil.png", b"<html><script>alert(1)</script>")
    with pytest.raises(FileRefused, match="empty"):
        connector.parse_upload(ACCOUNT, visitor, "c4", "", "a.png", b"")
    with pytest.raises(MessageTooLarge, match="10 MB"):
        connector.parse_upload(ACCOUNT, visitor, "c5", "", "a.png", PNG + b"\x00" * (10 * 1024 * 1024))


async def test_send_releases_the_reply() -> None:
    message = OutboundMessage(
        message_id=99, conversation_id=5, channel_kind=ChannelKind.WEBCHAT, inbox_id=7,
        recipient=ExternalIdentity(address=VISITOR), text="It ships today",
    )  # fmt: skip
    receipt = await WebchatConnector().send(message, ACCOUNT)
    assert receipt.external_message_id == "webchat:99" and receipt.status == DeliveryStatus.SENT


def test_widget_settings_never_carry_secrets() -> None:
    view = widget_settings(make_account("webchat", {**SETTINGS, "agent_bot_secret": "bot", "greeting": "Hoi!"}))
    assert "s3cret" not in json.dumps(view) and "bot" not in json.dumps(view)
    assert view["greeting"] == "Hoi!" and view["title"] == "webchat test"
    assert view["pre_chat_form"] == {"enabled": False, "require_email": True, "require_name": False}
