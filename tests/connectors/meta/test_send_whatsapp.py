"""WhatsApp send through the Graph API (against FakeGraph): request shape, the 24-hour window, error mapping."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import SendFailed
from connectors.meta.connector import WINDOW_CLOSED_REASON, WhatsAppConnector, whatsapp_window_open
from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    OutboundMessage,
)
from tests.connectors.conftest import make_account, make_raw_request
from tests.fakes.base import free_port
from tests.fakes.meta import DEFAULT_TOKEN, FakeGraph, recorded_response

CUSTOMER = ExternalIdentity(address="+15555550100", name="Ada", phone="+15555550100")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def outbound(text: str = "Your order 1001 shipped today.", **kw) -> OutboundMessage:
    fields = {
        "message_id": 17,
        "conversation_id": 5,
        "channel_kind": ChannelKind.WHATSAPP,
        "inbox_id": 1,
        "recipient": CUSTOMER,
        "text": text,
        "last_inbound_at": datetime.now(UTC) - timedelta(hours=1),
    }
    return OutboundMessage(**(fields | kw))


async def send(graph: FakeGraph, message: OutboundMessage | None = None, *, timeout: float = 5.0, **settings):
    account = make_account("whatsapp", graph.whatsapp_settings(**settings))
    return await WhatsAppConnector(timeout=timeout).send(message or outbound(), account)


async def send_failure(graph: FakeGraph, message: OutboundMessage | None = None, **kw) -> SendFailed:
    with pytest.raises(SendFailed) as caught:
        await send(graph, message, **kw)
    return caught.value


# -- the window ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_inbound_at", "open_"),
    [
        (None, False),
        (NOW - timedelta(hours=23, minutes=59, seconds=59), True),
        (NOW - timedelta(hours=24), False),
        (NOW - timedelta(days=3), False),
        (NOW + timedelta(minutes=1), True),  # clock skew: a message "from the future" is recent
        (datetime(2026, 11, 20, 1, 0), True),  # naive means UTC
    ],
)
def test_window_helper(last_inbound_at: datetime | None, open_: bool) -> None:
    assert whatsapp_window_open(last_inbound_at, NOW) is open_


@pytest.mark.parametrize("last_inbound_at", [None, timedelta(hours=24, seconds=1), timedelta(days=30)])
async def test_closed_window_refuses_without_calling_the_api(graph: FakeGraph, last_inbound_at) -> None:
    last = None if last_inbound_at is None else datetime.now(UTC) - last_inbound_at
    error = await send_failure(graph, outbound(last_inbound_at=last))
    assert (error.reason, error.retryable, error.code) == (WINDOW_CLOSED_REASON, False, "window_closed")
    assert graph.requests == []


# -- request shape ------------------------------------------------------------------------------------------


async def test_text_request_is_what_meta_expects(graph: FakeGraph) -> None:
    receipt = await send(graph)
    [request] = graph.requests
    assert (request.method, request.path) == ("POST", "/v24.0/1122334455667/messages")
    assert request.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert request.query == {
        "appsecret_proof": hmac.new(b"test_app_secret", DEFAULT_TOKEN.encode(), hashlib.sha256).hexdigest()
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15555550100",
        "type": "text",
        "text": {"body": "Your order 1001 shipped today.", "preview_url": False},
    }
    assert receipt.external_message_id == graph.sent[0].id
    assert receipt.external_message_id.startswith("wamid.")
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.external_thread_ref == "15555550100"
    assert receipt.raw == {"message_ids": [receipt.external_message_id]}


async def test_links_get_a_preview_and_replies_quote_the_customer_message(graph: FakeGraph) -> None:
    await send(graph, outbound("Track it: https://track.example.com/1001", in_reply_to_external_id="wamid.IN1"))
    body = graph.requests[0].json
    assert body["context"] == {"message_id": "wamid.IN1"}
    assert body["text"]["preview_url"] is True


async def test_recorded_success_answer_is_understood(graph: FakeGraph) -> None:
    graph.fail_with("whatsapp_send_ok")  # answer with the recorded 200 body
    receipt = await send(graph)
    assert receipt.external_message_id == recorded_response("whatsapp_send_ok")[1]["messages"][0]["id"]


async def test_customer_known_only_by_business_scoped_id(graph: FakeGraph) -> None:
    bsuid = ExternalIdentity(address="US.13491208655302741918", extra={"bsuid": "US.13491208655302741918"})
    await send(graph, outbound(recipient=bsuid))
    body = graph.requests[0].json
    assert body["recipient"] == "US.13491208655302741918"
    assert "to" not in body


async def test_phone_given_in_any_international_format(graph: FakeGraph) -> None:
    await send(graph, outbound(recipient=ExternalIdentity(address="+1 (555) 555-0100")))
    assert graph.requests[0].json["to"] == "15555550100"


async def test_image_by_link_carries_the_text_as_caption(graph: FakeGraph) -> None:
    photo = Attachment(filename="box.jpg", content_type="image/jpeg", source_url="https://cdn.example.com/box.jpg")
    receipt = await send(graph, outbound("Here is your parcel", attachments=(photo,)))
    [request] = graph.requests
    assert request.json["type"] == "image"
    assert request.json["image"] == {"link": "https://cdn.example.com/box.jpg", "caption": "Here is your parcel"}
    assert receipt.raw["message_ids"] == [graph.sent[0].id]


async def test_document_bytes_are_uploaded_then_sent_by_id(graph: FakeGraph) -> None:
    invoice = Attachment(filename="invoice-1001.pdf", content_type="application/pdf", content=b"%PDF-1.7 invoice")
    await send(graph, outbound("Your invoice", attachments=(invoice,)))
    upload, message = graph.requests
    assert (upload.method, upload.path) == ("POST", "/v24.0/1122334455667/media")
    assert upload.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in upload.body
    assert b'name="type"\r\n\r\napplication/pdf' in upload.body
    assert b'filename="invoice-1001.pdf"' in upload.body and b"%PDF-1.7 invoice" in upload.body
    [media_id] = graph.media
    assert graph.media[media_id].content == b"%PDF-1.7 invoice"
    assert message.json["document"] == {"id": media_id, "filename": "invoice-1001.pdf", "caption": "Your invoice"}


async def test_bytes_are_preferred_to_a_link_that_may_have_expired(graph: FakeGraph) -> None:
    both = Attachment("a.jpg", "image/jpeg", content=b"\xff\xd8", source_url="https://cdn.example.com/expired.jpg")
    await send(graph, outbound("", attachments=(both,)))
    upload, message = graph.requests
    assert upload.path.endswith("/media")
    assert "link" not in message.json["image"]


async def test_recorded_upload_answer_is_understood(graph: FakeGraph) -> None:
    media_id = recorded_response("whatsapp_upload_ok")[1]["id"]
    graph.add_media(media_id, b"GIF89a")
    graph.fail_with("whatsapp_upload_ok")
    await send(graph, outbound("", attachments=(Attachment("a.png", "image/png", content=b"\x89PNG"),)))
    assert graph.requests[1].json["image"] == {"id": media_id}


async def test_text_and_several_attachments_are_several_messages(graph: FakeGraph) -> None:
    graph.add_media("4490709327384033", b"...", "video/mp4")
    files = (
        Attachment(filename="a.png", content_type="image/png", source_url="https://cdn.example.com/a.png"),
        Attachment(filename="clip.mp4", content_type="video/mp4", source_ref={"media_id": "4490709327384033"}),
        Attachment(filename="s.webp", content_type="image/webp", source_url="https://cdn.example.com/s.webp"),
        Attachment(filename="note.ogg", content_type="audio/ogg", source_url="https://cdn.example.com/note.ogg"),
    )
    receipt = await send(graph, outbound("Photos attached", attachments=files))
    assert [r.json["type"] for r in graph.requests] == ["text", "image", "video", "sticker", "audio"]
    assert graph.requests[2].json["video"] == {"id": "4490709327384033"}
    assert receipt.external_message_id == graph.sent[0].id
    assert receipt.raw["message_ids"] == [m.id for m in graph.sent]


async def test_long_text_is_split_at_whatsapps_limit(graph: FakeGraph) -> None:
    text = ("word " * 1000).strip()  # 4999 characters
    await send(graph, outbound(text))
    bodies = [r.json["text"]["body"] for r in graph.requests]
    assert len(bodies) == 2
    assert all(len(b) <= 4096 for b in bodies)
    assert " ".join(bodies) == text


async def test_nothing_to_send(graph: FakeGraph) -> None:
    error = await send_failure(graph, outbound(""))
    assert (error.retryable, error.code) == (False, "empty")


async def test_attachment_without_content_or_url(graph: FakeGraph) -> None:
    error = await send_failure(graph, outbound(attachments=(Attachment(filename="x", content_type="image/png"),)))
    assert (error.retryable, error.code) == (False, "bad_attachment")
    assert graph.requests == []


# -- error mapping -------------------------------------------------------------------------------------------


REENGAGEMENT = (
    "(#131047) Re-engagement message (Message failed to send because more than 24 hours have passed "
    "since the customer last replied to this number.)"
)
WABA_LIMIT = "(#80007) There have been too many calls to this WhatsApp Business account. Wait a bit and try again."
EXPIRED = (
    "Error validating access token: Session has expired on Tuesday, 04-Nov-25 10:00:00 PST. "
    "The current time is Wednesday, 05-Nov-25 09:12:40 PST."
)
HTML_503 = "Graph API answered HTTP 503: <html><body><h1>Sorry, something went wrong.</h1></body></html>"


@pytest.mark.parametrize(
    ("fixture", "retryable", "code", "reason"),
    [
        ("error_131047_reengagement", False, "window_closed", REENGAGEMENT),
        (
            "error_130429_rate_limit",
            True,
            "130429",
            "(#130429) Rate limit hit (Cloud API message throughput has been reached.)",
        ),
        ("error_80007_waba_rate_limit", True, "80007", WABA_LIMIT),
        ("error_4_app_rate_limit", True, "4", "(#4) Application request limit reached"),
        (
            "error_100_invalid_parameter",
            False,
            "100",
            "(#100) Invalid parameter (Parameter 'to' must be a valid phone number)",
        ),
        ("error_190_token_expired", False, "190", EXPIRED),
        ("error_500_unknown", True, "1", "An unknown error has occurred."),
        ("error_429_throttled", True, "613", "(#613) Calls to this api have exceeded the rate limit."),
        ("error_503_html", True, "http_503", HTML_503),
    ],
)
async def test_graph_errors_are_mapped(graph: FakeGraph, fixture: str, retryable: bool, code: str, reason: str) -> None:
    graph.fail_with(fixture)
    error = await send_failure(graph)
    assert (error.retryable, error.code, error.reason) == (retryable, code, reason)


async def test_closed_window_reported_by_meta(graph: FakeGraph) -> None:
    """Our clock says open, Meta's says closed (e.g. last_inbound_at was a reaction): Meta wins."""
    graph.closed_windows.add("15555550100")
    error = await send_failure(graph)
    assert (error.code, error.retryable) == ("window_closed", False)


async def test_wrong_token_is_permanent(graph: FakeGraph) -> None:
    error = await send_failure(graph, access_token="EAAG-revoked")
    assert (error.code, error.retryable) == ("190", False)
    assert error.reason == "Invalid OAuth access token - Cannot parse access token"


async def test_wrong_app_secret_fails_the_appsecret_proof(graph: FakeGraph) -> None:
    error = await send_failure(graph, app_secret="another-secret")
    assert (error.code, error.retryable) == ("100", False)
    assert "appsecret_proof" in error.reason


async def test_timeout_is_retryable(graph: FakeGraph) -> None:
    graph.delay_next(0.5)
    error = await send_failure(graph, timeout=0.1)
    assert (error.code, error.retryable) == ("timeout", True)


async def test_unreachable_graph_is_retryable() -> None:
    settings = {"access_token": "t", "app_secret": "s", "verify_token": "v", "phone_number_id": "1"}
    account = make_account("whatsapp", settings | {"graph_base_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(SendFailed) as caught:
        await WhatsAppConnector(timeout=2).send(outbound(), account)
    assert (caught.value.code, caught.value.retryable) == ("network", True)


async def test_unexpected_success_body_is_not_retried(graph: FakeGraph) -> None:
    graph.fail_next(200, {"messaging_product": "whatsapp"})
    error = await send_failure(graph)
    assert (error.code, error.retryable) == ("bad_answer", False)


# -- status webhooks for what we sent ------------------------------------------------------------------------


async def test_status_webhook_for_a_sent_message_round_trips(graph: FakeGraph) -> None:
    receipt = await send(graph)
    hook = graph.whatsapp_status(receipt.external_message_id, "read")
    connector, account = WhatsAppConnector(), make_account("whatsapp", graph.whatsapp_settings())
    request = make_raw_request(hook.body, headers=hook.headers)
    connector.verify(request, account)
    [update] = connector.parse(request, account).items
    assert isinstance(update, DeliveryUpdate)
    assert (update.external_message_id, update.status) == (receipt.external_message_id, DeliveryStatus.READ)


async def test_failed_status_webhook_round_trips(graph: FakeGraph) -> None:
    receipt = await send(graph)
    hook = graph.whatsapp_status(
        receipt.external_message_id,
        "failed",
        error=(131026, "Message undeliverable", "Receiver is incapable of receiving this message"),
    )
    account = make_account("whatsapp", graph.whatsapp_settings())
    [update] = WhatsAppConnector().parse(make_raw_request(hook.body, headers=hook.headers), account).items
    assert isinstance(update, DeliveryUpdate)
    assert update.status is DeliveryStatus.FAILED
    assert update.error == "Message undeliverable (code 131026): Receiver is incapable of receiving this message"
