"""`SmsConnector.parse`: one test per recorded Twilio body, then the edges."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError, InboxConfig, MalformedPayload, UnsupportedEvent
from connectors.sms.connector import SmsConnector
from conversation.types import Attachment, ChannelKind, DeliveryStatus, DeliveryUpdate, ExternalIdentity, InboundMessage
from tests.connectors.conftest import load_fixture, make_raw_request
from tests.connectors.sms.conftest import STATUS_URL, WEBHOOK_URL, load_twilio

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SAMPLE_AC = "AC0123456789abcdef0123456789abcdef"
WA_AC = "AC1a03647d811fab342c0ad608e382fab2"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def parse_one(connector: SmsConnector, account: InboxConfig, name: str, url: str = WEBHOOK_URL):
    result = connector.parse(make_raw_request(load_twilio(name), url=url), account)
    assert result.reply is None
    assert len(result.items) == 1
    return result.items[0]


def form(name: str) -> dict[str, str]:
    return dict(parse_qsl(load_twilio(name).decode(), keep_blank_values=True))


# -- inbound messages ----------------------------------------------------------------------------------
def test_inbound_sms(connector: SmsConnector, account: InboxConfig) -> None:
    message = parse_one(connector, account, "inbound_sms_received.txt")
    assert message == InboundMessage(
        channel_kind=ChannelKind.SMS,
        inbox_id=7,
        external_message_id="SM1521fa559fb923c1ed64f56cd1bed8ef",
        sender=ExternalIdentity(address="+19253920364", phone="+19253920364"),
        text="twilio-go testing!",
        sent_at=NOW,
        external_thread_ref="+19253920364",
        raw=form("inbound_sms_received.txt"),
        meta={"to": "+19253920364"},
    )


def test_monitor_alert_echoes_the_same_inbound_request(connector: SmsConnector, account: InboxConfig) -> None:
    """Twilio's Monitor Alert kept the request it posted: same bytes as the recorded webhook."""
    alert = json.loads(load_fixture("twilio", "monitor_alert_with_inbound_sms_request.json"))
    assert alert["request_variables"].encode() == load_twilio("inbound_sms_received.txt")
    assert alert["resource_sid"] == "SM1521fa559fb923c1ed64f56cd1bed8ef"
    result = connector.parse(make_raw_request(alert["request_variables"].encode(), url=WEBHOOK_URL), account)
    assert result.items[0].external_message_id == alert["resource_sid"]


def test_whatsapp_text(connector: SmsConnector, account: InboxConfig) -> None:
    message = parse_one(connector, account, "whatsapp_inbound_text.txt")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "SM892512e202b34d4109b10a3893fa9640"
    assert message.text == "test"
    assert message.sender == ExternalIdentity(
        address="whatsapp:+31612345678", phone="+31612345678", extra={"channel_prefix": "whatsapp"}
    )
    assert message.meta == {"to": "whatsapp:+14123456789", "channel_prefix": "whatsapp"}
    assert message.external_thread_ref == "whatsapp:+31612345678"
    assert message.attachments == ()
    assert message.sent_at == NOW


def test_whatsapp_image(connector: SmsConnector, account: InboxConfig) -> None:
    message = parse_one(connector, account, "whatsapp_inbound_media_image.txt")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "MM21151abfaadc1fb79b782f8460862a52"
    assert message.text == ""
    assert message.sender.phone == "+31612345678"
    assert message.attachments == (
        Attachment(
            filename="ME5f0afa2336bd0f73ca553fb5a2e3150bc.jpg",
            content_type="image/jpeg",
            source_url=(
                "https://api.twilio.com/2010-04-01/Accounts/AC1a03647d811fab342c0ad608e382fab2"
                "/Messages/MM21151abfaadc1fb79b782f8460862a52/Media/ME5f0afa2336bd0f73ca553fb5a2e3150bc"
            ),
            source_ref={
                "message_sid": "MM21151abfaadc1fb79b782f8460862a52",
                "media_sid": "ME5f0afa2336bd0f73ca553fb5a2e3150bc",
                "index": 0,
            },
        ),
    )


def test_whatsapp_location(connector: SmsConnector, account: InboxConfig) -> None:
    message = parse_one(connector, account, "whatsapp_inbound_location.txt")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "SM9c871cd9649aa3829298e153ae6a8123"
    assert message.text == (
        "Location: Microsoft, Evert van de Beekstraat 354, Schiphol, North Holland 1118 CZ\n"
        "https://www.google.com/maps/search/?api=1&query=52.303897857666016%2C4.750025749206543"
    )
    assert message.meta["location"] == {
        "latitude": "52.303897857666016",
        "longitude": "4.750025749206543",
        "address": "Evert van de Beekstraat 354, Schiphol, North Holland 1118 CZ",
        "label": "Microsoft",
    }
    assert message.meta["channel_prefix"] == "whatsapp"


def test_location_without_label_or_address(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SM1", "From": "whatsapp:+15555550100", "Latitude": "1.5", "Longitude": "-2"})
    message = connector.parse(make_raw_request(body.encode()), account).items[0]
    assert message.text == "Location\nhttps://www.google.com/maps/search/?api=1&query=1.5%2C-2"


def test_mms_with_two_media(connector: SmsConnector, account: InboxConfig) -> None:
    message = parse_one(connector, account, "message__mms_two_media.txt")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "MM8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d"
    assert message.text == "Here is the damaged box and my receipt"
    assert message.sender == ExternalIdentity(address="+15555550100", phone="+15555550100")
    assert [(a.filename, a.content_type, a.source_ref["index"]) for a in message.attachments] == [
        ("ME0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d.jpg", "image/jpeg", 0),
        ("ME1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e.pdf", "application/pdf", 1),
    ]
    assert all(
        a.source_url and a.source_url.startswith("https://api.twilio.com/2010-04-01/") for a in message.attachments
    )
    assert all(a.content is None for a in message.attachments)


def test_whatsapp_reply_with_profile_name(connector: SmsConnector, account: InboxConfig) -> None:
    message = parse_one(connector, account, "message__whatsapp_reply.txt")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "SM9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e"
    assert message.text == "Yes, order 1001 please"
    assert message.sender == ExternalIdentity(
        address="whatsapp:+15555550102",
        name="Ada Lovelace",
        phone="+15555550102",
        extra={"channel_prefix": "whatsapp", "wa_id": "15555550102"},
    )
    assert message.in_reply_to_external_id == "SM7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"


def test_opt_out_keyword_is_flagged(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SM1", "From": "+15555550100", "Body": "STOP", "OptOutType": "STOP"})
    message = connector.parse(make_raw_request(body.encode()), account).items[0]
    assert message.text == "STOP"
    assert message.meta["opt_out_type"] == "STOP"


def test_short_code_sender_has_no_phone(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SM1", "From": "72345", "Body": "hi", "SmsStatus": "received"})
    message = connector.parse(make_raw_request(body.encode()), account).items[0]
    assert message.sender == ExternalIdentity(address="72345")


# -- status callbacks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "sid", "status", "error"),
    [
        ("whatsapp_status_sent.txt", "SM0cec4ed334e74bcbb64eb8b6684e9654", DeliveryStatus.SENT, None),
        ("whatsapp_status_delivered.txt", "SMdf55df64a2ff4920bb0748193cfbb640", DeliveryStatus.DELIVERED, None),
        ("status_accepted__messaging_service.txt", "SM5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a", DeliveryStatus.SENT, None),
        ("status_queued__sms.txt", "SM4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f", DeliveryStatus.SENT, None),
        ("status_sending__sms.txt", "SM4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f", DeliveryStatus.SENT, None),
        ("status_delivered__sms_dlr.txt", "SM3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e", DeliveryStatus.DELIVERED, None),
        ("status_read__whatsapp.txt", "SM7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c", DeliveryStatus.READ, None),
        (
            "status_undelivered__sms_30003.txt",
            "SM1f0e7a3c9b8d4e2f8a6b5c4d3e2f1a0b",
            DeliveryStatus.FAILED,
            "Twilio error 30003: Unreachable destination handset: the phone is off or out of coverage",
        ),
        (
            "status_failed__messaging_service_21610.txt",
            "SM2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d",
            DeliveryStatus.FAILED,
            "Twilio error 21610: The recipient has opted out (replied STOP); "
            "they must text START to receive messages again",
        ),
        (
            "status_canceled__scheduled_message.txt",
            "SM6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b",
            DeliveryStatus.FAILED,
            "the message was canceled before it was sent",
        ),
    ],
)
def test_status_callback(
    connector: SmsConnector, account: InboxConfig, name: str, sid: str, status: DeliveryStatus, error: str | None
) -> None:
    update = parse_one(connector, account, name, url=STATUS_URL)
    assert update == DeliveryUpdate(
        channel_kind=ChannelKind.SMS,
        inbox_id=7,
        external_message_id=sid,
        status=status,
        occurred_at=NOW,
        error=error,
        raw=form(name),
    )


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (
            "30005",
            "Twilio error 30005: Unknown destination handset: the number does not exist or is no longer in service",
        ),
        ("30006", "Twilio error 30006: Landline or unreachable carrier: the number cannot receive text messages"),
        ("30007", "Twilio error 30007: Message filtered by the carrier (spam or content rules)"),
        ("21211", "Twilio error 21211: Invalid 'To' phone number"),
        ("12345", "Twilio error 12345: see https://www.twilio.com/docs/api/errors"),
    ],
)
def test_failure_codes_are_explained(connector: SmsConnector, account: InboxConfig, code: str, error: str) -> None:
    body = urlencode(
        {"MessageSid": "SMx", "MessageStatus": "undelivered", "SmsStatus": "undelivered", "ErrorCode": code}
    )
    update = connector.parse(make_raw_request(body.encode(), url=STATUS_URL), account).items[0]
    assert update.status is DeliveryStatus.FAILED
    assert update.error == error


def test_undelivered_without_code(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SMx", "MessageStatus": "undelivered"})
    update = connector.parse(make_raw_request(body.encode(), url=STATUS_URL), account).items[0]
    assert update.error == "the carrier reported the message undelivered"


def test_unknown_code_uses_twilio_error_message(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SMx", "MessageStatus": "failed", "ErrorCode": "63999", "ErrorMessage": "Oops"})
    update = connector.parse(make_raw_request(body.encode(), url=STATUS_URL), account).items[0]
    assert update.error == "Twilio error 63999: Oops"


def test_legacy_callback_with_only_sms_status(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"SmsSid": "SMold", "SmsStatus": "delivered"})
    update = connector.parse(make_raw_request(body.encode(), url=STATUS_URL), account).items[0]
    assert (update.external_message_id, update.status) == ("SMold", DeliveryStatus.DELIVERED)


def test_delivered_with_error_code_is_not_an_error(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SMx", "MessageStatus": "delivered", "ErrorCode": "30008"})
    update = connector.parse(make_raw_request(body.encode(), url=STATUS_URL), account).items[0]
    assert update.error is None


# -- ignored, unsupported, malformed -----------------------------------------------------------------
def test_scheduled_status_is_ignored(connector: SmsConnector, account: InboxConfig) -> None:
    result = connector.parse(make_raw_request(load_twilio("status_scheduled__messaging_service.txt")), account)
    assert result.items == []


@pytest.mark.parametrize("event", sorted(SmsConnector.ignored_events))
def test_every_ignored_event_parses_to_nothing(connector: SmsConnector, account: InboxConfig, event: str) -> None:
    status = event.removeprefix("status.")
    body = urlencode({"MessageSid": "SMx", "MessageStatus": status, "SmsStatus": status})
    assert connector.parse(make_raw_request(body.encode()), account).items == []


def test_unknown_status_is_unsupported(connector: SmsConnector, account: InboxConfig) -> None:
    body = urlencode({"MessageSid": "SMx", "MessageStatus": "teleported"})
    with pytest.raises(UnsupportedEvent, match=r"status\.teleported"):
        connector.parse(make_raw_request(body.encode()), account)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "MessageSid"),
        (b'{"MessageSid": "SM1", "From": "+15555550100"}', "MessageSid"),
        (b"From=%2B15555550100&Body=hi", "MessageSid"),
        (b"MessageSid=SM1&Body=hi", "From"),
        (b"MessageStatus=delivered&To=%2B15555550100", "MessageSid"),
        (b"MessageSid=SM1&From=whatsapp%3A%2B1555&Latitude=north&Longitude=1", "Latitude"),
        (b"MessageSid=SM1&From=whatsapp%3A%2B1555&Latitude=91&Longitude=1", "range"),
        (b"MessageSid=SM1&From=whatsapp%3A%2B1555&Latitude=nan&Longitude=1", "range"),
        (b"MessageSid=SM1&From=%2B15555550100&NumMedia=1&MediaUrl0=file%3A%2F%2F%2Fetc%2Fpasswd", "MediaUrl0"),
    ],
)
def test_malformed(connector: SmsConnector, account: InboxConfig, body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        connector.parse(make_raw_request(body), account)


def test_events_are_declared(connector: SmsConnector) -> None:
    assert "message" in connector.supported_events
    assert {"status.delivered", "status.undelivered", "status.failed", "status.read"} <= connector.supported_events
    assert not connector.supported_events & connector.ignored_events


# -- property tests -----------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_our_errors(body: bytes) -> None:
    account = InboxConfig(id=1, kind="sms", name="sms", settings={})
    with contextlib.suppress(ConnectorError):
        SmsConnector().parse(make_raw_request(body), account)


_KEYS = st.sampled_from(
    [
        "MessageSid",
        "SmsSid",
        "From",
        "To",
        "Body",
        "MessageStatus",
        "SmsStatus",
        "ErrorCode",
        "NumMedia",
        "MediaUrl0",
        "MediaContentType0",
        "MediaUrl1",
        "Latitude",
        "Longitude",
        "Label",
        "ProfileName",
        "WaId",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_KEYS | st.text(max_size=12), st.text(max_size=40)), max_size=12))
def test_arbitrary_forms_raise_only_our_errors(pairs: list[tuple[str, str]]) -> None:
    account = InboxConfig(id=1, kind="sms", name="sms", settings={})
    try:
        result = SmsConnector().parse(make_raw_request(urlencode(pairs).encode()), account)
    except ConnectorError:
        return
    assert all(isinstance(item, (InboundMessage, DeliveryUpdate)) for item in result.items)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=10)), max_size=6))
def test_arbitrary_json_raises_only_our_errors(data: dict) -> None:
    account = InboxConfig(id=1, kind="sms", name="sms", settings={})
    with contextlib.suppress(ConnectorError):
        SmsConnector().parse(make_raw_request(json.dumps(data).encode()), account)
