"""WhatsApp Cloud API webhooks -> InboundMessage / DeliveryUpdate, one test per recorded payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.base import MalformedPayload, UnsupportedEvent
from connectors.meta.connector import WhatsAppConnector
from conversation.types import Attachment, ChannelKind, DeliveryStatus, DeliveryUpdate, ExternalIdentity, InboundMessage
from tests.connectors.conftest import load_fixture, load_json_fixture
from tests.connectors.meta.conftest import body_of, local_fixture, shared_kind, signed_request, whatsapp_account

CONNECTOR = WhatsAppConnector()
ACCOUNT = whatsapp_account()
TEST_NAME = ExternalIdentity(
    address="+972987654321",
    name="Test Name",
    phone="+972987654321",
    extra={"wa_id": "972987654321", "bsuid": "US.13491208655302741918"},
)
#: Every kind in pywa_message.json, each asserted by a test below.
MESSAGE_KINDS_TESTED = {
    "text", "image", "media_with_url", "video", "document", "audio", "voice", "static_sticker",
    "animated_sticker", "reaction", "unreaction_empty", "unreaction_no_emoji", "current_location",
    "chosen_location", "contacts", "order", "unsupported", "unsupported_with_type", "reply", "forwarded",
    "forwarded_many_times", "interactive_message_with_err", "referral",
}  # fmt: skip


def parse(body: bytes, account=ACCOUNT) -> list[InboundMessage | DeliveryUpdate]:
    return CONNECTOR.parse(signed_request(body), account).items


def one(kind: str, name: str = "pywa_message.json", account=ACCOUNT) -> InboundMessage:
    items = parse(shared_kind("whatsapp", name, kind), account)
    assert len(items) == 1
    assert isinstance(items[0], InboundMessage)
    return items[0]


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def test_every_kind_of_the_recorded_message_file_is_tested() -> None:
    assert set(load_json_fixture("whatsapp", "pywa_message.json")) == MESSAGE_KINDS_TESTED


# -- messages ---------------------------------------------------------------------------------------------


def test_text() -> None:
    message = one("text")
    assert message.channel_kind is ChannelKind.WHATSAPP
    assert message.inbox_id == 1
    assert message.external_message_id == "wamid.xyzxyz"
    assert message.sender == TEST_NAME
    assert message.text == "Body Text"
    assert message.sent_at == at(1697043223)
    assert message.external_thread_ref == "972987654321"
    assert message.in_reply_to_external_id is None
    assert message.attachments == ()
    assert message.is_edit is False
    assert message.raw["message"]["text"] == {"body": "Body Text"}
    assert message.raw["metadata"]["phone_number_id"] == "1122334455667"


def test_compact_text_body_with_its_recorded_signature() -> None:
    [message] = parse(load_fixture("whatsapp", "text_message_body_compact.json"))
    assert isinstance(message, InboundMessage)
    assert (message.external_message_id, message.text) == ("wamid.xyzxyz", "Body Text")


def test_image_becomes_an_attachment_fetched_by_media_id() -> None:
    message = one("image")
    assert message.text == ""
    assert message.sent_at == at(1697043379)
    assert message.attachments == (
        Attachment(
            filename="image-65463453.jpg",
            content_type="image/jpeg",
            source_ref={"media_id": "65463453", "sha256": "4654+8g=", "mime_type": "image/jpeg"},
        ),
    )


def test_media_with_url_keeps_the_url_in_source_ref_not_source_url() -> None:
    [attachment] = one("media_with_url").attachments
    assert attachment.source_url is None  # it needs the bearer token: fetch_attachment downloads it
    assert attachment.source_ref["media_id"] == "65463453"
    assert attachment.source_ref["url"].startswith("https://lookaside.fbsbx.com/whatsapp_business/attachments/")


def test_video_caption_is_the_text_and_forwarding_is_noted() -> None:
    message = one("video")
    assert message.text == "caption"
    assert message.meta == {"forwarded": True}
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type) == ("video-765756756.mp4", "video/mp4")
    assert attachment.source_ref["media_id"] == "765756756"


def test_document_keeps_its_filename() -> None:
    message = one("document")
    assert message.text == "caption"
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type) == ("filename.pdf", "application/pdf")
    assert attachment.source_ref["media_id"] == "1234567890987654321"


def test_audio() -> None:
    message = one("audio")
    [attachment] = message.attachments
    assert attachment.content_type == "audio/ogg; codecs=opus"
    assert attachment.filename.startswith("audio-1234567890987654321")
    assert "voice" not in message.meta


def test_voice_note() -> None:
    message = one("voice")
    [attachment] = message.attachments
    assert attachment.filename.startswith("voice-1234567890987654321")
    assert message.meta == {"voice": True}


@pytest.mark.parametrize(("kind", "animated"), [("static_sticker", False), ("animated_sticker", True)])
def test_stickers(kind: str, animated: bool) -> None:
    message = one(kind)
    [attachment] = message.attachments
    assert (attachment.filename, attachment.content_type) == ("sticker-1234567890987654321.webp", "image/webp")
    assert message.meta == {"sticker": {"animated": animated}}


@pytest.mark.parametrize("kind", ["reaction", "unreaction_empty", "unreaction_no_emoji"])
def test_reactions_are_not_customer_messages(kind: str) -> None:
    assert parse(shared_kind("whatsapp", "pywa_message.json", kind)) == []


def test_current_location_is_a_maps_link() -> None:
    message = one("current_location")
    assert message.text == "Location: https://maps.google.com/?q=12.25089,43.90539"
    assert message.meta["location"]["latitude"] == 12.25089


def test_chosen_location_has_name_and_address() -> None:
    message = one("chosen_location")
    assert message.text == (
        "Location: Facebook HQ\n1 Hacker Way, Menlo Park, CA 94025\nhttps://maps.google.com/?q=37.4611978,-122.2164385"
    )


def test_shared_contacts_are_readable() -> None:
    assert one("contacts").text == (
        "Shared contact: Chandler Bing, +1 555-555-5555 (CELL)\n"
        "Shared contact: Monica, +1 666-666-6666 (HOME)\n"
        "Shared contact: Rachel Green, +1 777-777-7777 (WORK)"
    )


def test_order_lists_its_items() -> None:
    message = one("order")
    assert message.text.splitlines() == [
        "Order from catalog 354160437058781:",
        "- 3 x HAMBURGER at 30 ILS",
        "- 2 x FRENCH_FRIES at 35 ILS",
        "- 2 x SODA at 10 ILS",
    ]
    assert message.meta == {"order": {"catalog_id": "354160437058781"}}


def test_unsupported_tells_the_agent_something_arrived() -> None:
    message = one("unsupported")
    assert message.external_message_id == "wamid.xyzxyz"
    assert message.text == "[Unsupported WhatsApp message: Message type is currently not supported.]"
    assert message.meta == {"unsupported": True, "error_codes": [131051]}


def test_unsupported_with_type_names_it() -> None:
    assert (
        one("unsupported_with_type").text
        == "[Unsupported WhatsApp message (pool): Message type is currently not supported.]"
    )


def test_reply_context_is_in_reply_to() -> None:
    message = one("reply")
    assert message.text == "replied text"
    assert message.in_reply_to_external_id == "wamid.xyzxyz=="
    assert message.meta == {}


def test_forwarded_text() -> None:
    message = one("forwarded")
    assert (message.text, message.meta, message.in_reply_to_external_id) == (
        "forwarded text",
        {"forwarded": True},
        None,
    )


def test_frequently_forwarded_text() -> None:
    message = one("forwarded_many_times")
    assert (message.text, message.meta) == ("text forwarded many times", {"forwarded": "frequently"})


def test_interactive_without_body_uses_the_value_errors() -> None:
    message = one("interactive_message_with_err")
    assert message.external_message_id == "wamid.wegrchytvwcggt="
    assert message.text == "[Unsupported WhatsApp message: Unsupported webhook payload]"
    assert message.in_reply_to_external_id == "wamid.gvwegfretge=="
    assert message.sent_at == at(1700505494)


def test_referral_from_an_ad() -> None:
    message = one("referral")
    assert (message.external_message_id, message.text) == ("wamid.ID", "BODY")
    assert message.meta == {
        "referral": {"source_url": "AD_OR_POST_FB_URL", "source_type": "ad or post", "headline": "AD_TITLE"}
    }


# -- interactive replies -----------------------------------------------------------------------------------


def test_reply_button() -> None:
    message = one("button", "pywa_callback_button.json")
    assert message.text == "title"
    assert message.in_reply_to_external_id == "wamid.xyzxyz"
    assert message.meta == {"reply_id": "callback_data", "reply_kind": "button_reply"}


def test_template_quick_reply() -> None:
    message = one("quick_reply", "pywa_callback_button.json")
    assert (message.external_message_id, message.text) == ("wamid.xsidjw", "title")
    assert message.in_reply_to_external_id == "wamid.xyzxyz=="
    assert message.meta == {"reply_id": "callback_data"}


def test_template_quick_reply_without_context() -> None:
    message = one("quick_reply_without_context", "pywa_callback_button.json")
    assert (message.external_message_id, message.in_reply_to_external_id) == ("wamid.xsidjx", None)
    assert message.sender == TEST_NAME


def test_list_reply() -> None:
    message = one("callback", "pywa_callback_selection.json")
    assert (message.external_message_id, message.text) == ("wamid.zyzxyz", "title")
    assert message.meta == {"reply_id": "callback_data", "reply_kind": "list_reply"}


def test_list_reply_with_description() -> None:
    assert one("description", "pywa_callback_selection.json").text == "title (description)"


def test_flow_reply() -> None:
    [message] = parse(local_fixture("whatsapp/interactive_nfm_reply.json"))
    assert isinstance(message, InboundMessage)
    assert message.text == "Sent"
    assert message.meta["flow_response"] == '{"flow_token": "order-1001", "reason": "damaged"}'
    assert message.sender.name == "Ada Lovelace"


# -- edits, deletes, system --------------------------------------------------------------------------------


def test_edit_replaces_the_text_of_the_original_message() -> None:
    account = whatsapp_account(phone_number_id="106540352242922")
    message = one("image", "pywa_edited_message.json", account)
    assert message.is_edit is True
    assert message.external_message_id == "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    assert message.text == "Updated image caption"
    assert message.attachments == ()  # only the text changes
    assert message.sender.address == "+16505551234"
    assert message.sent_at == at(1749854575)
    assert message.meta["edit_id"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="


def test_deleted_message_is_ignored() -> None:
    account = whatsapp_account(phone_number_id="<BUSINESS_PHONE_NUMBER_ID>")
    assert parse(shared_kind("whatsapp", "pywa_deleted_message.json", "revoke"), account) == []


def test_system_message_is_ignored() -> None:
    assert parse(local_fixture("whatsapp/system_user_changed_number.json")) == []


# -- statuses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "ts"),
    [
        ("sent", DeliveryStatus.SENT, 1698266945),
        ("delivered", DeliveryStatus.DELIVERED, 1698266945),
        ("read", DeliveryStatus.READ, 1689380458),
        ("played", DeliveryStatus.READ, 1689380458),
        ("with_tracker", DeliveryStatus.SENT, 1698266945),
    ],
)
def test_status_updates(kind: str, status: DeliveryStatus, ts: int) -> None:
    [update] = parse(shared_kind("whatsapp", "pywa_message_status.json", kind))
    assert update == DeliveryUpdate(
        channel_kind=ChannelKind.WHATSAPP,
        inbox_id=1,
        external_message_id="wamid.xyzxyz",
        status=status,
        occurred_at=at(ts),
        error=None,
        raw=update.raw,
    )
    assert update.raw["status"]["status"] == ("sent" if kind == "with_tracker" else kind)


def test_failed_status_carries_the_error_title_and_details() -> None:
    [update] = parse(shared_kind("whatsapp", "pywa_message_status.json", "failed"))
    assert isinstance(update, DeliveryUpdate)
    assert update.status is DeliveryStatus.FAILED
    assert update.error == (
        "User's number is part of an experiment (code 130472): "
        "Failed to send message because this user's phone number is part of an experiment"
    )


def test_group_status() -> None:
    account = whatsapp_account(phone_number_id="<BUSINESS_PHONE_NUMBER_ID>")
    [update] = parse(shared_kind("whatsapp", "pywa_message_status.json", "group"), account)
    assert isinstance(update, DeliveryUpdate)
    assert (update.external_message_id, update.status) == ("<WHATSAPP_MESSAGE_ID>", DeliveryStatus.READ)


# -- batches, numbers, identities --------------------------------------------------------------------------


def test_one_body_with_several_entries_changes_and_messages() -> None:
    items = parse(local_fixture("whatsapp/batch_multiple_entries.json"))
    assert [(type(i).__name__, i.external_message_id) for i in items] == [
        ("InboundMessage", "wamid.BATCH1"),
        ("InboundMessage", "wamid.BATCH2"),
        ("DeliveryUpdate", "wamid.OUT1"),
    ]  # the reaction is dropped, the other number's message is not ours
    first, second = items[0], items[1]
    assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
    assert (first.sender.name, first.sender.address) == ("Ada Lovelace", "+15555550100")
    assert (second.sender.name, second.sender.address) == ("Grace Hopper", "+15555550102")


def test_messages_for_another_phone_number_are_ignored() -> None:
    body = shared_kind("whatsapp", "pywa_message.json", "text")
    assert parse(body, whatsapp_account(phone_number_id="9988776655443")) == []


def test_username_only_customer_is_addressed_by_bsuid() -> None:
    [message] = parse(local_fixture("whatsapp/text_username_only.json"))
    assert isinstance(message, InboundMessage)
    assert message.sender == ExternalIdentity(
        address="US.13491208655302741918", name="Ada", extra={"bsuid": "US.13491208655302741918", "username": "@ada"}
    )
    assert message.external_thread_ref == "US.13491208655302741918"


# -- ignored, unknown, malformed ----------------------------------------------------------------------------


def test_account_level_fields_are_ignored() -> None:
    assert parse(local_fixture("whatsapp/message_template_status_update.json")) == []


def test_value_with_only_errors_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1122334455667"},
        "errors": [{"code": 131000, "title": "Something went wrong", "error_data": {"details": "x"}}],
    }
    body = body_of(
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": value}]}]}
    )
    assert parse(body) == []
    assert "131000" in caplog.text


def test_unknown_field_is_unsupported() -> None:
    body = body_of({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "calls", "value": {}}]}]})
    with pytest.raises(UnsupportedEvent, match="calls"):
        parse(body)


def test_unknown_message_type_is_unsupported() -> None:
    payload = json.loads(shared_kind("whatsapp", "pywa_message.json", "text"))
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["type"] = "poll"
    with pytest.raises(UnsupportedEvent, match=r"messages\.poll"):
        parse(body_of(payload))


def test_unknown_type_next_to_a_known_one_keeps_the_known_one(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(shared_kind("whatsapp", "pywa_message.json", "text"))
    messages = payload["entry"][0]["changes"][0]["value"]["messages"]
    messages.append({**messages[0], "id": "wamid.new", "type": "poll"})
    [message] = parse(body_of(payload))
    assert isinstance(message, InboundMessage)
    assert message.external_message_id == "wamid.xyzxyz"
    assert "messages.poll" in caplog.text


def test_messenger_body_sent_to_a_whatsapp_inbox_is_unsupported() -> None:
    with pytest.raises(UnsupportedEvent, match="page"):
        parse(load_fixture("messenger", "fbmessenger-api-hs_wsTextMessageRequest.json"))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"object":"whatsapp_business_account","entry":{}}', "entry"),
        (b'{"object":"whatsapp_business_account","entry":[{"changes":{}}]}', "changes"),
        (b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":[]}]}]}', "object"),
        (b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{}}]}]}', "metadata"),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse(body)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"text": None}, "without text"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"text": {"body": 42}}, r"\$\.messages\[0\]\.text\.body"),
        ({"from": None}, "neither"),
    ],
)
def test_malformed_messages(patch: dict, reason: str) -> None:
    payload = json.loads(shared_kind("whatsapp", "pywa_message.json", "text"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(patch)
    if patch.get("text", 0) is None:
        del message["text"]
    with pytest.raises(MalformedPayload, match=reason):
        parse(body_of(payload))


def test_image_without_media_id_is_malformed() -> None:
    payload = json.loads(shared_kind("whatsapp", "pywa_message.json", "image"))
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["id"]
    with pytest.raises(MalformedPayload, match="media id"):
        parse(body_of(payload))
