"""Messenger webhooks -> InboundMessage / DeliveryUpdate, one test per recorded payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.base import MalformedPayload, UnsupportedEvent
from connectors.meta.connector import WATERMARK_PREFIX, MessengerConnector
from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    InboundMessage,
    Watermark,
)
from tests.connectors.conftest import load_fixture
from tests.connectors.meta.conftest import body_of, local_fixture, messenger_account, signed_request

CONNECTOR = MessengerConnector()
ACCOUNT = messenger_account()
PSID = "1254477777772919"


def parse(body: bytes, account=ACCOUNT) -> list[InboundMessage | DeliveryUpdate]:
    return CONNECTOR.parse(signed_request(body), account).items


def shared(name: str) -> list[InboundMessage | DeliveryUpdate]:
    return parse(load_fixture("messenger", name))


def local(name: str) -> list[InboundMessage | DeliveryUpdate]:
    return parse(local_fixture(f"messenger/{name}.json"))


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


# -- recorded 2016 payloads (shared fixtures) ---------------------------------------------------------------


def test_text_message() -> None:
    [message] = shared("fbmessenger-api-hs_wsTextMessageRequest.json")
    assert message == InboundMessage(
        channel_kind=ChannelKind.MESSENGER,
        inbox_id=1,
        external_message_id="mid.1457764197618:41d102a3e1ae206a38",
        sender=ExternalIdentity(address="USER_ID"),
        text="hello, world!",
        sent_at=ms(1457764197627),
        external_thread_ref="USER_ID",
        raw=message.raw,
    )
    assert message.raw["message"]["seq"] == 73


def test_image_attachment_has_its_url_as_source_url() -> None:
    [message] = shared("fbmessenger-api-hs_wsStructuredMessageRequest.json")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "mid.1458696618141:b4ef9d19ec21086067"
    assert message.text == ""
    assert message.attachments == (
        Attachment(
            filename="image.jpg", content_type="image/jpeg", source_url="IMAGE_URL", source_ref={"type": "image"}
        ),
    )


def test_postback_without_mid_gets_a_stable_id() -> None:
    [message] = shared("fbmessenger-api-hs_wsPostbackRequest.json")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "postback:USER_ID:1458692752478"
    assert message.text == "USER_DEFINED_PAYLOAD"
    assert message.meta == {"postback_payload": "USER_DEFINED_PAYLOAD", "postback_title": None}
    assert shared("fbmessenger-api-hs_wsPostbackRequest.json")[0].external_message_id == message.external_message_id


def test_delivery_with_mids() -> None:
    [update] = shared("fbmessenger-api-hs_wsDeliveryRequest.json")
    assert update == DeliveryUpdate(
        channel_kind=ChannelKind.MESSENGER,
        inbox_id=1,
        external_message_id="mid.1458668856218:ed81099e15d3f4f233",
        status=DeliveryStatus.DELIVERED,
        occurred_at=ms(1458668856253),
        raw=update.raw,
    )


def test_optin_is_ignored() -> None:
    assert shared("fbmessenger-api-hs_wsAuthRequest.json") == []


# -- current payloads from Meta's docs (local fixtures) ------------------------------------------------------


def test_reply_to() -> None:
    [message] = local("message_reply_to")
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "m_1457764197618:41d102a3e1ae206a38"
    assert message.in_reply_to_external_id == "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"
    assert message.sender == ExternalIdentity(address=PSID)
    assert message.external_thread_ref == PSID


def test_quick_reply_payload_is_kept() -> None:
    [message] = local("message_quick_reply")
    assert isinstance(message, InboundMessage)
    assert message.text == "Track my order"
    assert message.meta == {"quick_reply_payload": "TRACK_ORDER"}


def test_attachments_of_every_file_type() -> None:
    [message] = local("message_attachments")
    assert isinstance(message, InboundMessage)
    assert message.sent_at == ms(1518479195308)
    assert [(a.filename, a.content_type, a.source_ref["type"]) for a in message.attachments] == [
        ("photo_123.jpg", "image/jpeg", "image"),
        ("clip_456.mp4", "video/mp4", "video"),
        ("audioclip.mp4", "video/mp4", "audio"),
        ("invoice_1001.pdf", "application/pdf", "file"),
    ]
    assert message.attachments[3].source_url == (
        "https://cdn.fbsbx.com/v/t59.2708-21/invoice_1001.pdf/invoice_1001.pdf?_nc_cat=1&oh=jkl"
    )


def test_location_is_a_maps_link() -> None:
    [message] = local("message_location")
    assert isinstance(message, InboundMessage)
    assert message.text == "Location: https://maps.google.com/?q=37.483872693672,-122.14900441942"
    assert message.attachments == ()


def test_sticker_sent_twice_during_metas_transition_is_one_attachment() -> None:
    [message] = local("message_sticker")
    assert isinstance(message, InboundMessage)
    [attachment] = message.attachments
    assert attachment.content_type == "image/png"
    assert attachment.source_ref == {"type": "sticker", "sticker_id": 369239263222822}


def test_fallback_link_share() -> None:
    [message] = local("message_fallback")
    assert isinstance(message, InboundMessage)
    assert message.text == (
        "look at this https://shop.example.com/p/42\n[fallback] Blue mug - Example Shop https://shop.example.com/p/42"
    )


def test_echo_of_our_own_message_is_ignored() -> None:
    assert local("message_echo") == []


def test_standby_events_are_ignored() -> None:
    assert local("standby_echo") == []


def test_edit_replaces_the_text() -> None:
    [message] = local("message_edit")
    assert isinstance(message, InboundMessage)
    assert message.is_edit is True
    assert message.external_message_id == "m_1457764197618:41d102a3e1ae206a38"
    assert message.text == "hello, world! (edited)"
    assert message.meta == {"num_edit": 1}


def test_read_becomes_a_watermark_update() -> None:
    [update] = local("message_reads")
    assert isinstance(update, DeliveryUpdate)
    assert update.status is DeliveryStatus.READ
    assert update.occurred_at == ms(1458668856253)
    assert update.external_message_id == f"{WATERMARK_PREFIX}{PSID}:1458668856253"
    assert update.watermark == Watermark(PSID, ms(1458668856253))


def test_delivery_without_mids_becomes_a_watermark_update() -> None:
    [update] = local("message_deliveries_watermark_only")
    assert isinstance(update, DeliveryUpdate)
    assert update.status is DeliveryStatus.DELIVERED
    assert update.watermark == Watermark(PSID, ms(1458668856253))


def test_per_message_updates_are_not_watermarks() -> None:
    [update] = shared("fbmessenger-api-hs_wsDeliveryRequest.json")
    assert isinstance(update, DeliveryUpdate)
    assert update.watermark is None


def test_reaction_is_ignored() -> None:
    assert local("message_reactions") == []


def test_postback_uses_its_title_and_mid() -> None:
    [message] = local("messaging_postbacks")
    assert isinstance(message, InboundMessage)
    assert (message.external_message_id, message.text) == ("m_POSTBACK_0001", "Talk to a human")
    assert message.meta == {"postback_payload": "HUMAN_HANDOFF", "postback_title": "Talk to a human"}
    assert message.sent_at == ms(1527459824000)


def test_dashboard_test_event_from_a_user_ref_is_skipped() -> None:
    assert local("dashboard_test_postback") == []


def test_changes_form_with_a_psid_is_parsed() -> None:
    payload = json.loads(local_fixture("messenger/dashboard_test_postback.json"))
    payload["entry"][0]["changes"][0]["value"]["sender"] = {"id": PSID}
    [message] = parse(body_of(payload))
    assert isinstance(message, InboundMessage)
    assert (message.external_message_id, message.text) == ("m_MESSAGE-ID", "TITLE-FOR-THE-CTA")
    assert message.sent_at == datetime.fromtimestamp(1527459824, tz=UTC)  # seconds, as strings, in this form


# -- pages, unknown, malformed ------------------------------------------------------------------------------


def test_events_for_another_page_are_ignored() -> None:
    assert (
        parse(load_fixture("messenger", "fbmessenger-api-hs_wsTextMessageRequest.json"), messenger_account("222")) == []
    )


def test_unknown_event_is_unsupported() -> None:
    event = {"sender": {"id": PSID}, "recipient": {"id": "111111"}, "timestamp": 1, "game_play": {"score": 3}}
    with pytest.raises(UnsupportedEvent, match="game_play"):
        parse(body_of({"object": "page", "entry": [{"id": "111111", "messaging": [event]}]}))


def test_feed_changes_are_unsupported() -> None:
    body = body_of(
        {"object": "page", "entry": [{"id": "111111", "changes": [{"field": "feed", "value": {"item": "post"}}]}]}
    )
    with pytest.raises(UnsupportedEvent, match=r"changes\.feed"):
        parse(body)


def test_whatsapp_body_sent_to_a_messenger_inbox_is_unsupported() -> None:
    with pytest.raises(UnsupportedEvent, match="whatsapp_business_account"):
        parse(load_fixture("whatsapp", "text_message_body_compact.json"))


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"sender": {"id": PSID}, "timestamp": 1, "message": {"text": "no mid"}}, "mid"),
        ({"sender": {"id": PSID}, "message": {"mid": "m_1", "text": "no time"}}, "timestamp"),
        ({"sender": {"id": PSID}, "timestamp": "soon", "message": {"mid": "m_1"}}, "timestamp"),
        ({"sender": {"id": PSID}, "timestamp": 1, "read": {}}, "watermark"),
        (
            {"sender": {"id": PSID}, "timestamp": 1, "message": {"mid": "m_1", "attachments": [{"type": "image"}]}},
            "url",
        ),
        ({"sender": "me", "timestamp": 1, "message": {"mid": "m_1"}}, "sender"),
    ],
)
def test_malformed_events(event: dict, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(body_of({"object": "page", "entry": [{"id": "111111", "messaging": [event]}]}))


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b'{"object":"page","entry":"x"}', b'{"object":"page","entry":[{"id":"111111","messaging":{}}]}'],
)
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse(body)
