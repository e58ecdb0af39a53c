"""`TelegramConnector.parse`: every recorded Update, the lenient path for old payloads, and hostile input."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Message

from connectors.base import InboxConfig, MalformedPayload, ParseResult, UnsupportedEvent
from connectors.telegram.connector import TelegramConnector
from conversation.types import Attachment, ChannelKind, ExternalIdentity, InboundMessage
from tests.connectors.telegram.conftest import INBOX_ID, load_telegram, telegram_request, wrap

OFFICIAL_SENT_AT = datetime(2015, 9, 7, 17, 5, 32, tzinfo=UTC)  # 1441645532
OFFICIAL_SENDER = ExternalIdentity(
    address="1111111", name="Test Firstname Test Lastname", extra={"username": "Testusername"}
)
#: Each official example and its `derived/` copy with the fields PTB requires added.
PATCHED = {
    "official_text_message.json": "derived/official_patched_text_message.json",
    "official_reply_message.json": "derived/official_patched_reply_message.json",
    "official_edited_message.json": "derived/official_patched_edited_message.json",
    "official_message_with_entities.json": "derived/official_patched_message_with_entities.json",
    "official_voice_message.json": "derived/official_patched_voice_message.json",
    "official_document_message.json": "derived/official_patched_document_message.json",
}
OFFICIAL_MESSAGES = list(PATCHED)
MESSAGE_ID = re.compile(r"-?[0-9]+:[0-9]+")


def parse(connector: TelegramConnector, account: InboxConfig, body: bytes) -> ParseResult:
    return connector.parse(telegram_request(body), account)


def parse_one(connector: TelegramConnector, account: InboxConfig, body: bytes) -> InboundMessage:
    result = parse(connector, account, body)
    assert result.reply is None
    assert len(result.items) == 1
    item = result.items[0]
    assert isinstance(item, InboundMessage)
    assert item.channel_kind is ChannelKind.TELEGRAM
    assert item.inbox_id == INBOX_ID
    assert item.raw == json.loads(body)  # the whole Update is kept for audit and replay
    return item


def inner_message(name: str) -> dict[str, Any]:
    update = json.loads(load_telegram(name))
    return update.get("message") or update["edited_message"]


# -- Telegram's own examples (core.telegram.org/bots/webhooks): PTB rejects them, we read them leniently --
@pytest.mark.parametrize("name", OFFICIAL_MESSAGES)
def test_python_telegram_bot_rejects_the_official_examples(name: str) -> None:
    """Why the lenient path exists: `from` lacks `is_bot` (and files lack `file_unique_id`)."""
    with pytest.raises(TypeError):
        Message.de_json(inner_message(name), None)
    Message.de_json(inner_message(PATCHED[name]), None)


def test_official_text_message(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("official_text_message.json"))
    assert item.external_message_id == "1111111:1365"
    assert item.external_thread_ref == "1111111"
    assert item.sender == OFFICIAL_SENDER
    assert item.sender.phone is None
    assert item.text == "/start"
    assert item.html is None
    assert item.sent_at == OFFICIAL_SENT_AT
    assert item.attachments == ()
    assert item.in_reply_to_external_id is None
    assert item.is_edit is False
    assert item.meta == {"update_id": 10000, "chat_type": "private"}


def test_official_reply_message(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("official_reply_message.json"))
    assert item.external_message_id == "1111111:1365"
    assert item.text == "/start"
    # The example's reply_to_message claims chat 1111112; a reply is always in the message's own chat.
    assert item.in_reply_to_external_id == "1111111:1334"
    assert item.sender == OFFICIAL_SENDER


def test_official_edited_message(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("official_edited_message.json"))
    assert item.is_edit is True
    assert item.external_message_id == "1111111:1365"  # the same id as the original: the domain replaces it
    assert item.text == "Edited text"
    assert item.sent_at == OFFICIAL_SENT_AT  # when it was first sent; the edit time is in meta
    assert item.meta == {"update_id": 10000, "chat_type": "private", "edited_at": "2015-09-07T17:23:20+00:00"}


def test_official_message_with_entities(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("official_message_with_entities.json"))
    assert item.text == "Bold and italics"  # formatting entities are not turned into HTML
    assert item.html is None
    assert item.external_message_id == "1111111:1365"


def test_official_voice_message(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("official_voice_message.json"))
    assert item.text == ""
    assert item.attachments == (
        Attachment(
            filename="voice_1365.ogg",
            content_type="audio/ogg",
            size=23000,
            source_ref={"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX"},
        ),
    )


def test_official_document_message(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("official_document_message.json"))
    assert item.text == ""
    assert item.attachments == (
        Attachment(
            filename="Testfile.pdf",
            content_type="application/pdf",
            size=536392,
            source_ref={"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX"},
        ),
    )


@pytest.mark.parametrize("name", ["official_callback_query.json", "derived/official_patched_callback_query.json"])
def test_callback_queries_are_ignored(connector: TelegramConnector, account: InboxConfig, name: str) -> None:
    """We never send inline keyboards: a button press is not a customer message (it has no chat here)."""
    assert parse(connector, account, load_telegram(name)) == ParseResult()


@pytest.mark.parametrize("name", OFFICIAL_MESSAGES)
def test_derived_patched_examples_parse_like_the_originals(
    connector: TelegramConnector, account: InboxConfig, name: str
) -> None:
    """The `derived/` files (fields PTB requires added) take the PTB path and give the same message."""
    derived = parse_one(connector, account, load_telegram(PATCHED[name]))
    original = parse_one(connector, account, load_telegram(name))
    for field in InboundMessage.__slots__:  # slots dataclass: compare field by field, raw aside
        if field != "raw":
            assert getattr(derived, field) == getattr(original, field), field


# -- real captures (teloxide) ----------------------------------------------------------------------
def test_teloxide_private_text(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("teloxide_update_private_text.json"))
    assert item.external_message_id == "408258968:154"
    assert item.external_thread_ref == "408258968"
    assert item.sender == ExternalIdentity(
        address="408258968", name="Hirrolot", extra={"username": "hirrolot", "language_code": "en"}
    )
    assert item.text == "4"
    assert item.sent_at == datetime(2020, 2, 11, 19, 20, 57, tzinfo=UTC)
    assert item.meta == {"update_id": 306197398, "chat_type": "private"}


@pytest.mark.parametrize("name", ["teloxide_message_photo_with_caption.json", "teloxide_message_photo_no_caption.json"])
def test_a_bare_message_is_not_an_update(connector: TelegramConnector, account: InboxConfig, name: str) -> None:
    with pytest.raises(MalformedPayload, match="update_id"):
        parse(connector, account, load_telegram(name))


def test_teloxide_photo_with_caption(connector: TelegramConnector, account: InboxConfig) -> None:
    body = wrap(json.loads(load_telegram("teloxide_message_photo_with_caption.json")))
    item = parse_one(connector, account, body)
    assert item.external_message_id == "27433968:3460"
    assert item.text == "www.example.com"  # a photo's text is its caption
    assert item.sender == ExternalIdentity(
        address="27433968", name="Crax | rats addict", extra={"username": "tacocrasco", "language_code": "en"}
    )
    assert item.attachments == (
        Attachment(
            filename="photo_3460.jpg",
            content_type="image/jpeg",
            size=162061,  # the largest of the four sizes (1280x1280)
            source_ref={
                "file_id": "AgACAgQAAxkBAAINhGKvijUVSn2i3980bQIIc1fqWGNCAAJpvDEbEmaBUfuA43fR-BnlAQADAgADeQADJAQ"
            },
        ),
    )
    assert item.sent_at == datetime(2022, 6, 19, 20, 42, 29, tzinfo=UTC)


def test_derived_wrapped_photo_update(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("derived/teloxide_photo_with_caption_wrapped_update.json"))
    assert item.external_message_id == "27433968:3460"
    assert item.text == "www.example.com"
    assert [(a.size, a.source_ref) for a in item.attachments] == [
        (162061, {"file_id": "AgACAgQAAxkBAAINhGKvijUVSn2i3980bQIIc1fqWGNCAAJpvDEbEmaBUfuA43fR-BnlAQADAgADeQADJAQ"})
    ]
    assert item.meta == {"update_id": 100000001, "chat_type": "private"}


def test_teloxide_photo_without_caption(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, wrap(json.loads(load_telegram("teloxide_message_photo_no_caption.json"))))
    assert item.external_message_id == "250918540:199791"
    assert item.text == ""
    assert item.sender.name == "Андрей Власов"
    assert item.attachments == (
        Attachment(
            filename="photo_199791.jpg",
            content_type="image/jpeg",
            size=75245,  # 962x719, the last and largest
            source_ref={"file_id": "AgADAgAD36sxG-PX0UvQSXIn9rccdw-ACA4ABAEAAwIAA3kAAyTcBAABFgQ"},
        ),
    )


def test_supergroup_reply_in_a_forum_thread(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("message__supergroup_reply_command.json"))
    assert item.external_message_id == "-1001293752024:134546"
    assert item.external_thread_ref == "-1001293752024"  # the group is the thread; the user is the sender
    assert item.sender == ExternalIdentity(
        address="5964236329", name="the Cable Guy", extra={"username": "spacewhaleblues", "language_code": "en"}
    )
    assert item.text == "/report"
    assert item.in_reply_to_external_id == "-1001293752024:134545"
    assert item.sent_at == datetime.fromtimestamp(1721592580, UTC)
    assert item.meta == {"update_id": 439432600, "chat_type": "supergroup", "message_thread_id": 134545}


def test_video(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("message__video.json"))
    assert item.external_message_id == "250918540:198283"
    assert item.text == ""
    assert item.attachments == (
        Attachment(
            filename="video_198283.mp4",
            content_type="video/mp4",
            size=1381334,
            source_ref={"file_id": "BAADAgADpgQAAgX9qEud6QcgPiOAlhYE"},  # the video, not its thumbnail
        ),
    )


def test_sticker_becomes_a_text_line(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("message__sticker_animated.json"))
    assert item.external_message_id == "250918540:199787"
    assert item.text == "[sticker 😡]"
    assert item.attachments == ()  # animated .tgs stickers are not viewable files


def test_venue_in_a_private_chat_without_from(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, load_telegram("message__venue_without_from.json"))
    assert item.external_message_id == "0:0"
    assert item.sender == ExternalIdentity(address="0", name="f")  # a private chat's id is its user's id
    assert item.text == "[venue] Title, Address (0.0, 0.0)"  # the venue, not its duplicated location
    assert item.sent_at == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "message__pinned_service.json",  # service message from a person
        "message__migrate_to_chat_id.json",  # service message from a person
        "message__video_chat_started.json",  # service message from an anonymous admin
        "message__anonymous_admin_forward.json",  # text, but written on behalf of the group
        "message__dice.json",  # content we cannot show
        "message__story_only.json",  # content we cannot show
    ],
)
def test_messages_without_a_customer_or_content_are_dropped(
    connector: TelegramConnector, account: InboxConfig, name: str
) -> None:
    assert parse(connector, account, load_telegram(name)) == ParseResult()


@pytest.mark.parametrize("name", ["my_chat_member__kicked.json", "message_reaction__emoji.json"])
def test_recorded_ignored_updates(connector: TelegramConnector, account: InboxConfig, name: str) -> None:
    assert parse(connector, account, load_telegram(name)) == ParseResult()


def test_unknown_update_type_is_unsupported(connector: TelegramConnector, account: InboxConfig) -> None:
    with pytest.raises(UnsupportedEvent, match="new_update_kind"):
        parse(connector, account, load_telegram("unknown__new_update_kind.json"))


# -- variants built from the recorded text message ---------------------------------------------------------
def private_text() -> dict[str, Any]:
    """teloxide's captured private text message, as a dict to derive variants from."""
    return copy.deepcopy(json.loads(load_telegram("teloxide_update_private_text.json"))["message"])


def with_content(**content: Any) -> dict[str, Any]:
    message = private_text()
    del message["text"]
    message.update(content)
    return message


def test_a_retried_update_gives_the_same_message_id(connector: TelegramConnector, account: InboxConfig) -> None:
    first = parse_one(connector, account, wrap(private_text(), update_id=1))
    retried = parse_one(connector, account, wrap(private_text(), update_id=2))
    edited = parse_one(connector, account, wrap({**private_text(), "edit_date": 1581449000}, "edited_message", 3))
    assert first.external_message_id == retried.external_message_id == edited.external_message_id == "408258968:154"
    assert (first.is_edit, retried.is_edit, edited.is_edit) == (False, False, True)


def test_own_contact_gives_a_verified_phone(connector: TelegramConnector, account: InboxConfig) -> None:
    """A contact whose user_id is the sender's is their own number (Telegram's "share my contact")."""
    contact = {"phone_number": "15555550100", "first_name": "Hirrolot", "user_id": 408258968}
    item = parse_one(connector, account, wrap(with_content(contact=contact)))
    assert item.sender.phone == "+15555550100"
    assert item.sender.verified is True
    assert item.text == "[contact] Hirrolot +15555550100"


def test_someone_elses_contact_is_only_text(connector: TelegramConnector, account: InboxConfig) -> None:
    contact = {"phone_number": "+15555550123", "first_name": "Grace", "last_name": "Hopper", "user_id": 7}
    item = parse_one(connector, account, wrap(with_content(contact=contact)))
    assert item.sender.phone is None
    assert item.text == "[contact] Grace Hopper +15555550123"


def test_location(connector: TelegramConnector, account: InboxConfig) -> None:
    item = parse_one(connector, account, wrap(with_content(location={"latitude": 52.52, "longitude": 13.405})))
    assert item.text == "[location] 52.52, 13.405 https://www.openstreetmap.org/?mlat=52.52&mlon=13.405"


def test_an_animation_is_not_also_a_document(connector: TelegramConnector, account: InboxConfig) -> None:
    """Telegram repeats an animation as `document` for old clients; we keep one attachment."""
    media = {
        "file_id": "CgAD",
        "file_unique_id": "u1",
        "file_name": "dance.gif.mp4",
        "mime_type": "video/mp4",
        "file_size": 1000,
        "width": 1,
        "height": 1,
        "duration": 1,
    }
    item = parse_one(connector, account, wrap(with_content(animation=media, document=media, caption="look")))
    assert item.text == "look"
    assert item.attachments == (
        Attachment(filename="dance.gif.mp4", content_type="video/mp4", size=1000, source_ref={"file_id": "CgAD"}),
    )


def test_file_names_lose_their_directories(connector: TelegramConnector, account: InboxConfig) -> None:
    document = {"file_id": "BQAC", "file_unique_id": "u", "file_name": "..\\../../etc/passwd"}
    item = parse_one(connector, account, wrap(with_content(document=document)))
    assert item.attachments == (
        Attachment(filename="passwd", content_type="application/octet-stream", source_ref={"file_id": "BQAC"}),
    )


def test_audio_and_video_note_without_names(connector: TelegramConnector, account: InboxConfig) -> None:
    audio = {"file_id": "CQAC", "file_unique_id": "a", "duration": 3}
    note = {"file_id": "DQAC", "file_unique_id": "n", "duration": 3, "length": 240, "file_size": 99}
    item = parse_one(connector, account, wrap(with_content(audio=audio, video_note=note)))
    assert [(a.filename, a.content_type, a.size) for a in item.attachments] == [
        ("audio_154.mp3", "audio/mpeg", None),
        ("video_note_154.mp4", "video/mp4", 99),
    ]


def test_messages_from_bots_are_dropped(connector: TelegramConnector, account: InboxConfig) -> None:
    message = private_text()
    message["from"]["is_bot"] = True
    assert parse(connector, account, wrap(message)) == ParseResult()


def test_group_message_without_from_is_dropped(connector: TelegramConnector, account: InboxConfig) -> None:
    message = private_text()
    del message["from"]
    message["chat"] = {"id": -100123, "type": "supergroup", "title": "Shop"}
    assert parse(connector, account, wrap(message)) == ParseResult()


@pytest.mark.parametrize("update_type", sorted(TelegramConnector.ignored_events))
def test_every_ignored_update_type_parses_to_nothing(
    connector: TelegramConnector, account: InboxConfig, update_type: str
) -> None:
    assert parse(connector, account, wrap({}, update_type)) == ParseResult()
    assert parse(connector, account, wrap(private_text(), update_type)) == ParseResult()


@pytest.mark.parametrize("update_type", ["business_message", "edited_business_message", "guest_message"])
def test_customer_messages_we_cannot_answer_are_unsupported(
    connector: TelegramConnector, account: InboxConfig, update_type: str
) -> None:
    with pytest.raises(UnsupportedEvent, match=update_type):
        parse(connector, account, wrap(private_text(), update_type))


def test_an_unknown_field_next_to_a_message_does_not_hide_it(
    connector: TelegramConnector, account: InboxConfig
) -> None:
    body = json.dumps({"update_id": 1, "future_field": {"x": 1}, "message": private_text()}).encode()
    assert parse_one(connector, account, body).text == "4"


def test_supported_events_are_message_and_edited_message() -> None:
    assert TelegramConnector.supported_events == {"message", "edited_message"}
    assert not TelegramConnector.supported_events & TelegramConnector.ignored_events


# -- malformed ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"update_id=1", "not JSON"),
        (b'{"update_id": 1, "message": {"text": "\xff"}}', "not JSON"),  # invalid UTF-8
        (b"[" * 10000 + b"]" * 10000, "not JSON"),  # nesting beyond the decoder's limit
        (b"[]", "JSON object"),
        (b'"update"', "JSON object"),
        (b"{}", "update_id"),
        (b'{"update_id": "1", "message": {}}', "update_id"),
        (b'{"update_id": true, "message": {}}', "update_id"),
        (b'{"update_id": 1}', "nothing besides update_id"),
        (b'{"update_id": 1, "message": null}', "must be a JSON object"),
        (b'{"update_id": 1, "message": "hi"}', "must be a JSON object"),
        (b'{"update_id": 1, "message": {}, "edited_message": {}}', "one kind of content"),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": 1}}', "chat"),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": "42"}}}', "chat.id"),
        (b'{"update_id": 1, "message": {"message_id": 1.5, "date": 1, "chat": {"id": 1}}}', "message_id"),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": "today", "chat": {"id": 1}}}', "date"),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": 1e300, "chat": {"id": 1}}}', "date"),
        (
            b'{"update_id": 1, "message": {"message_id": 1, "date": 99999999999999999, "chat": {"id": 1},'
            b' "from": {"id": 1}, "text": "x"}}',
            "date is not a valid Unix time",
        ),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 1}, "photo": {}}}', "photo"),
    ],
)
def test_malformed_bodies_give_a_reason(
    connector: TelegramConnector, account: InboxConfig, body: bytes, reason: str
) -> None:
    with pytest.raises(MalformedPayload, match=re.escape(reason)):
        parse(connector, account, body)


def test_a_reply_chain_too_deep_for_ptb_is_still_read(connector: TelegramConnector, account: InboxConfig) -> None:
    """600 nested replies overflow PTB's recursive de_json (but not the JSON decoder): the lenient path reads it."""
    head = json.dumps(private_text())[:-1]  # the message object without its closing brace
    message = head + "}"
    for _ in range(600):
        message = head + ', "reply_to_message": ' + message + "}"
    body = ('{"update_id": 1, "message": ' + message + "}").encode()
    with pytest.raises(RecursionError):
        Message.de_json(json.loads(body)["message"], None)
    item = parse(connector, account, body).items[0]
    assert isinstance(item, InboundMessage)
    assert item.in_reply_to_external_id == "408258968:154"


# -- property tests: hostile input raises only our errors -------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
MESSAGE_FIELDS = st.sampled_from(
    [
        "message_id",
        "chat",
        "date",
        "from",
        "text",
        "caption",
        "photo",
        "document",
        "voice",
        "contact",
        "location",
        "venue",
        "sticker",
        "reply_to_message",
        "edit_date",
        "sender_chat",
        "animation",
        "video",
        "media_group_id",
    ]
)
UPDATE_TYPES = st.sampled_from(["message", "edited_message", "channel_post", "callback_query", "business_message"])


def check(connector: TelegramConnector, account: InboxConfig, body: bytes) -> None:
    try:
        result = parse(connector, account, body)
    except (MalformedPayload, UnsupportedEvent):
        return
    for item in result.items:
        assert isinstance(item, InboundMessage)
        assert MESSAGE_ID.fullmatch(item.external_message_id)
        assert item.sent_at.tzinfo is not None
        json.dumps(item.raw)  # storable as it is


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes(connector: TelegramConnector, account: InboxConfig, body: bytes) -> None:
    check(connector, account, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON)
def test_arbitrary_json(connector: TelegramConnector, account: InboxConfig, value: Any) -> None:
    check(connector, account, json.dumps(value).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(update_type=UPDATE_TYPES, changes=st.dictionaries(MESSAGE_FIELDS, JSON, max_size=4))
def test_real_message_with_fields_replaced_by_arbitrary_json(
    connector: TelegramConnector, account: InboxConfig, update_type: str, changes: dict[str, Any]
) -> None:
    check(connector, account, wrap({**private_text(), **changes}, update_type))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(
        [
            "official_reply_message.json",
            "teloxide_update_private_text.json",
            "derived/teloxide_photo_with_caption_wrapped_update.json",
            "message__video.json",
        ]
    ),
    path=st.lists(
        st.text(min_size=1, max_size=12) | st.sampled_from(["message", "chat", "from", "photo", "id"]),
        min_size=1,
        max_size=4,
    ),
    value=JSON,
)
def test_real_updates_with_a_nested_value_replaced(
    connector: TelegramConnector, account: InboxConfig, name: str, path: list[str], value: Any
) -> None:
    update = json.loads(load_telegram(name))
    node: Any = update
    for key in path[:-1]:
        child = node.get(key) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            break
        node = child
    node[path[-1]] = value
    check(connector, account, json.dumps(update).encode())
