"""`SmsConnector.send` and `fetch_attachment`: the real twilio SDK against `FakeTwilio`."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from connectors.base import InboxConfig, SendFailed
from connectors.sms.connector import SmsConnector
from conversation.types import Attachment, ChannelKind, DeliveryStatus, ExternalIdentity, OutboundMessage
from tests.connectors.conftest import make_account, make_raw_request
from tests.connectors.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, SHOP_NUMBER, STATUS_URL, WEBHOOK_URL, sms_settings
from tests.fakes.base import free_port
from tests.fakes.twilio import FakeTwilio, twilio_error
from tests.paths import LOCAL_FIXTURES

# twilio 9.13's aiohttp client still passes `auth=BasicAuth(...)`, deprecated by aiohttp 3.14 (SDK noise).
pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
CUSTOMER = "+15555550100"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as server:
        yield server  # type: ignore[misc]


def inbox(fake: FakeTwilio, **overrides: object) -> InboxConfig:
    return make_account("sms", sms_settings(api_base_url=fake.url, **overrides), inbox_id=7)


def reply(text: str = "Your order 1001 shipped today.", **fields: object) -> OutboundMessage:
    values: dict = {
        "message_id": 41,
        "conversation_id": 5,
        "channel_kind": ChannelKind.SMS,
        "inbox_id": 7,
        "recipient": ExternalIdentity(address=CUSTOMER, phone=CUSTOMER),
        "text": text,
        **fields,
    }
    return OutboundMessage(**values)


def sent_form(fake: FakeTwilio) -> list[tuple[str, str]]:
    [request] = fake.requests_to("/Messages.json")
    return parse_qsl(request.body.decode(), keep_blank_values=True)


def recorded_error(name: str) -> tuple[int, dict]:
    body = json.loads((LOCAL_FIXTURES / "twilio" / "responses" / name).read_text())
    return body["status"], body


# -- the request Twilio receives ------------------------------------------------------------------------
async def test_send_sms(fake: FakeTwilio) -> None:
    receipt = await SmsConnector().send(reply(), inbox(fake, status_callback_url=STATUS_URL))

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("twilio-python/")
    assert sorted(sent_form(fake)) == sorted(
        [
            ("To", CUSTOMER),
            ("From", SHOP_NUMBER),
            ("Body", "Your order 1001 shipped today."),
            ("StatusCallback", STATUS_URL),
        ]
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", receipt.external_message_id)
    assert receipt.external_message_id == fake.messages[0]["sid"]
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.raw["status"] == "queued"
    assert receipt.raw["to"] == CUSTOMER
    assert receipt.raw["from"] == SHOP_NUMBER
    assert datetime.fromisoformat(receipt.raw["date_created"]).tzinfo is not None


async def test_status_callback_defaults_to_the_inbox_status_url(fake: FakeTwilio) -> None:
    account = InboxConfig(
        id=7, kind="sms", name="s", settings=sms_settings(api_base_url=fake.url), webhook_url=WEBHOOK_URL
    )
    await SmsConnector().send(reply(), account)
    assert ("StatusCallback", STATUS_URL) in sent_form(fake)


async def test_no_status_callback_without_any_url(fake: FakeTwilio) -> None:
    await SmsConnector().send(reply(), inbox(fake))
    assert "StatusCallback" not in dict(sent_form(fake))


async def test_send_through_messaging_service(fake: FakeTwilio) -> None:
    service = "MG0123456789abcdef0123456789abcdef"
    receipt = await SmsConnector().send(reply(), inbox(fake, messaging_service_sid=service))
    form = dict(sent_form(fake))
    assert form["MessagingServiceSid"] == service
    assert "From" not in form  # Twilio picks the sender from the service's pool
    assert receipt.raw["status"] == "accepted"
    assert receipt.status is DeliveryStatus.SENT


async def test_send_media_by_public_url(fake: FakeTwilio) -> None:
    attachments = (
        Attachment(filename="label.png", content_type="image/png", source_url="https://files.example.com/a/label.png"),
        Attachment(
            filename="invoice.pdf", content_type="application/pdf", source_url="https://files.example.com/b.pdf"
        ),
    )
    receipt = await SmsConnector().send(reply(attachments=attachments), inbox(fake))
    form = sent_form(fake)
    assert [value for key, value in form if key == "MediaUrl"] == [
        "https://files.example.com/a/label.png",
        "https://files.example.com/b.pdf",
    ]
    assert receipt.external_message_id.startswith("MM")


async def test_send_media_only(fake: FakeTwilio) -> None:
    attachment = Attachment(filename="a.jpg", content_type="image/jpeg", source_url="https://files.example.com/a.jpg")
    await SmsConnector().send(reply(text="", attachments=(attachment,)), inbox(fake))
    form = dict(sent_form(fake))
    assert "Body" not in form
    assert form["MediaUrl"] == "https://files.example.com/a.jpg"


async def test_attachment_without_public_url_is_refused(fake: FakeTwilio) -> None:
    attachment = Attachment(filename="a.jpg", content_type="image/jpeg", content=b"\xff\xd8")
    with pytest.raises(SendFailed, match="no public URL") as caught:
        await SmsConnector().send(reply(attachments=(attachment,)), inbox(fake))
    assert caught.value.retryable is False
    assert fake.requests == []


async def test_nothing_to_send(fake: FakeTwilio) -> None:
    with pytest.raises(SendFailed, match="nothing to send") as caught:
        await SmsConnector().send(reply(text="  "), inbox(fake))
    assert caught.value.retryable is False
    assert fake.requests == []


@pytest.mark.parametrize(
    "message",
    [
        # The customer's identity kept the prefix...
        reply(recipient=ExternalIdentity(address="whatsapp:+15555550102", phone="+15555550102")),
        # ...or the hub normalised the address to E.164 and carried the prefix in meta (from the inbound message).
        reply(recipient=ExternalIdentity(address="+15555550102"), meta={"channel_prefix": "whatsapp"}),
        reply(recipient=ExternalIdentity(address="+15555550102", extra={"channel_prefix": "whatsapp"})),
    ],
)
async def test_whatsapp_reply_keeps_the_prefix(fake: FakeTwilio, message: OutboundMessage) -> None:
    await SmsConnector().send(message, inbox(fake))
    form = dict(sent_form(fake))
    assert form["To"] == "whatsapp:+15555550102"
    assert form["From"] == "whatsapp:" + SHOP_NUMBER


async def test_recipient_phone_used_when_address_is_not_a_number(fake: FakeTwilio) -> None:
    message = reply(recipient=ExternalIdentity(address="customer-7", phone="+15555550103"))
    await SmsConnector().send(message, inbox(fake))
    assert dict(sent_form(fake))["To"] == "+15555550103"


async def test_fake_answers_with_twilio_shapes(fake: FakeTwilio) -> None:
    """The fake's resource and error bodies have the keys of the recorded Twilio answers."""
    recorded = json.loads((LOCAL_FIXTURES / "twilio" / "responses" / "message_create_201.json").read_text())
    await SmsConnector().send(reply(), inbox(fake))
    created = {key for key in fake.messages[0] if not key.startswith("_")}
    assert created == set(recorded)
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", fake.messages[0]["date_created"])
    status, auth_error = recorded_error("error_401_20003.json")
    assert twilio_error(status, auth_error["code"], auth_error["message"]) == (status, auth_error)


# -- errors --------------------------------------------------------------------------------------------
async def test_invalid_number_is_permanent(fake: FakeTwilio) -> None:
    fake.fail_next(*recorded_error("error_400_21211.json"))
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().send(reply(), inbox(fake))
    assert caught.value.retryable is False
    assert caught.value.code == "21211"
    assert caught.value.reason == "Twilio error 21211: The 'To' number +1asd is not a valid phone number."


async def test_fake_validates_like_twilio(fake: FakeTwilio) -> None:
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().send(reply(recipient=ExternalIdentity(address="+1asd")), inbox(fake))
    assert (caught.value.code, caught.value.retryable) == ("21211", False)


async def test_unsubscribed_recipient_is_permanent(fake: FakeTwilio) -> None:
    fake.unsubscribed.add(CUSTOMER)
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().send(reply(), inbox(fake))
    assert (caught.value.code, caught.value.retryable) == ("21610", False)
    assert "unsubscribed" in caught.value.reason


async def test_wrong_credentials_are_permanent(fake: FakeTwilio) -> None:
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().send(reply(), inbox(fake, auth_token="wrong"))
    assert (caught.value.code, caught.value.retryable) == ("20003", False)
    assert caught.value.reason == "Twilio error 20003: Authenticate"


@pytest.mark.parametrize(
    "error",
    [
        recorded_error("error_429_20429.json"),
        recorded_error("error_500_20500.json"),
        twilio_error(503, 20503, "Service unavailable"),
    ],
)
async def test_rate_limits_and_server_errors_are_retried(fake: FakeTwilio, error: tuple[int, dict]) -> None:
    fake.fail_next(*error)
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().send(reply(), inbox(fake))
    assert caught.value.retryable is True
    assert caught.value.code == str(error[1]["code"])


async def test_non_json_gateway_error_is_retried(fake: FakeTwilio) -> None:
    fake.fail_next(502, "<html>Bad Gateway</html>")
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().send(reply(), inbox(fake))
    assert caught.value.retryable is True


async def test_timeout_is_retried(fake: FakeTwilio) -> None:
    fake.delay_next(1.0)
    with pytest.raises(SendFailed, match="did not answer") as caught:
        await SmsConnector(timeout=0.2).send(reply(), inbox(fake))
    assert caught.value.retryable is True


async def test_unreachable_twilio_is_retried() -> None:
    account = make_account("sms", sms_settings(api_base_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(SendFailed, match="unreachable") as caught:
        await SmsConnector().send(reply(), account)
    assert caught.value.retryable is True


async def test_success_without_sid_is_not_retried(fake: FakeTwilio) -> None:
    fake.fail_next(201, {})
    with pytest.raises(SendFailed, match="SID") as caught:
        await SmsConnector().send(reply(), inbox(fake))
    assert caught.value.retryable is False


# -- status callback round trip ------------------------------------------------------------------------
async def test_status_callback_from_the_fake_parses_to_a_delivery_update(fake: FakeTwilio) -> None:
    connector = SmsConnector()
    account = inbox(fake, status_callback_url=STATUS_URL)
    receipt = await connector.send(reply(), account)

    callback = fake.status_callback(receipt.external_message_id, "undelivered", error_code=30006)
    assert callback.url == STATUS_URL
    request = make_raw_request(callback.body, url=callback.url, headers=callback.headers)
    connector.verify(request, account)
    [update] = connector.parse(request, account).items
    assert update.external_message_id == receipt.external_message_id
    assert update.status is DeliveryStatus.FAILED
    assert update.error is not None and update.error.startswith("Twilio error 30006")
    assert update.occurred_at.tzinfo is UTC


async def test_inbound_helper_builds_a_signed_webhook(fake: FakeTwilio) -> None:
    connector = SmsConnector()
    account = inbox(fake)
    media_url = fake.add_media(b"\x89PNG...", "image/png")
    webhook = fake.inbound_message(
        WEBHOOK_URL, from_=CUSTOMER, to=SHOP_NUMBER, body="hi", media=[(media_url, "image/png")]
    )
    request = make_raw_request(webhook.body, url=webhook.url, headers=webhook.headers)
    connector.verify(request, account)
    [message] = connector.parse(request, account).items
    assert message.text == "hi"
    assert await connector.fetch_attachment(message.attachments[0], account, 1024) == b"\x89PNG..."


# -- media downloads -----------------------------------------------------------------------------------
async def test_fetch_attachment_follows_the_redirect_with_basic_auth(fake: FakeTwilio) -> None:
    url = fake.add_media(b"\xff\xd8jpeg-bytes", "image/jpeg")
    attachment = Attachment(filename="x.jpg", content_type="image/jpeg", source_url=url)
    content = await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=1024)
    assert content == b"\xff\xd8jpeg-bytes"
    media_request, cdn_request = fake.requests
    assert "/Media/ME" in media_request.path
    assert media_request.headers["Authorization"] == BASIC
    assert cdn_request.path.startswith("/cdn/ME")


async def test_fetch_attachment_rebases_twilio_urls_on_api_base_url(fake: FakeTwilio) -> None:
    url = fake.add_media(b"data", "image/gif")
    twilio_url = "https://api.twilio.com" + url.removeprefix(fake.url)
    attachment = Attachment(filename="x.gif", content_type="image/gif", source_url=twilio_url)
    assert await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=1024) == b"data"


async def test_credentials_are_not_sent_to_another_origin_after_the_redirect(fake: FakeTwilio) -> None:
    fake.cdn_host = "localhost"  # the media store is another origin, as S3 is for Twilio
    url = fake.add_media(b"data", "image/gif")
    attachment = Attachment(filename="x.gif", content_type="image/gif", source_url=url)
    assert await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=1024) == b"data"
    media_request, cdn_request = fake.requests
    assert "Authorization" in media_request.headers
    assert "Authorization" not in cdn_request.headers


async def test_fetch_attachment_is_size_capped(fake: FakeTwilio) -> None:
    url = fake.add_media(b"x" * 5000, "image/jpeg")
    attachment = Attachment(filename="x.jpg", content_type="image/jpeg", source_url=url)
    with pytest.raises(ValueError, match="4096"):
        await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=4096)


async def test_fetch_attachment_missing_media(fake: FakeTwilio) -> None:
    url = f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MMx/Media/MEgone"
    attachment = Attachment(filename="x.jpg", content_type="image/jpeg", source_url=url)
    with pytest.raises(SendFailed, match="404") as caught:
        await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=1024)
    assert caught.value.retryable is False


async def test_fetch_attachment_server_error_is_retryable(fake: FakeTwilio) -> None:
    url = fake.add_media(b"data", "image/gif")
    fake.fail_next(503, "busy")
    attachment = Attachment(filename="x.gif", content_type="image/gif", source_url=url)
    with pytest.raises(SendFailed) as caught:
        await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=1024)
    assert caught.value.retryable is True


async def test_fetch_attachment_never_sends_credentials_elsewhere(fake: FakeTwilio) -> None:
    attachment = Attachment(filename="x.jpg", content_type="image/jpeg", source_url="https://evil.example.com/x.jpg")
    with pytest.raises(SendFailed, match="refusing") as caught:
        await SmsConnector().fetch_attachment(attachment, inbox(fake), max_bytes=1024)
    assert caught.value.retryable is False
    assert fake.requests == []
