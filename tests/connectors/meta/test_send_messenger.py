"""Messenger Send API (against FakeGraph): request shape, message tags, error mapping, profiles."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import SendFailed
from connectors.meta.connector import MessengerConnector
from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    OutboundMessage,
)
from tests.connectors.conftest import make_account, make_raw_request
from tests.fakes.meta import DEFAULT_TOKEN, FakeGraph, recorded_response

PSID = "1254477777772919"


def outbound(text: str = "Your order 1001 shipped today.", **kw) -> OutboundMessage:
    fields = {
        "message_id": 21,
        "conversation_id": 8,
        "channel_kind": ChannelKind.MESSENGER,
        "inbox_id": 2,
        "recipient": ExternalIdentity(address=PSID),
        "text": text,
        "last_inbound_at": datetime.now(UTC) - timedelta(minutes=5),
    }
    return OutboundMessage(**(fields | kw))


async def send(graph: FakeGraph, message: OutboundMessage | None = None, *, timeout: float = 5.0, **settings):
    account = make_account("messenger", graph.messenger_settings(**settings))
    return await MessengerConnector(timeout=timeout).send(message or outbound(), account)


async def send_failure(graph: FakeGraph, message: OutboundMessage | None = None, **kw) -> SendFailed:
    with pytest.raises(SendFailed) as caught:
        await send(graph, message, **kw)
    return caught.value


async def test_text_request_is_what_meta_expects(graph: FakeGraph) -> None:
    receipt = await send(graph)
    [request] = graph.requests
    assert (request.method, request.path) == ("POST", "/v24.0/me/messages")
    assert request.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert request.query == {
        "appsecret_proof": hmac.new(b"test_app_secret", DEFAULT_TOKEN.encode(), hashlib.sha256).hexdigest()
    }
    assert request.json == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Your order 1001 shipped today."},
    }
    assert receipt.external_message_id == graph.sent[0].id
    assert receipt.external_message_id.startswith("m_")
    assert receipt.external_thread_ref == PSID
    assert receipt.status is DeliveryStatus.SENT


async def test_recorded_success_answer_is_understood(graph: FakeGraph) -> None:
    graph.fail_with("messenger_send_ok")
    receipt = await send(graph)
    assert receipt.external_message_id == recorded_response("messenger_send_ok")[1]["message_id"]


async def test_long_text_is_split_at_messengers_limit(graph: FakeGraph) -> None:
    text = "\n".join(f"line {i:04d} " + "x" * 40 for i in range(60))  # about 3000 characters
    receipt = await send(graph, outbound(text))
    bodies = [r.json["message"]["text"] for r in graph.requests]
    assert len(bodies) == 2
    assert all(len(b) <= 2000 for b in bodies)
    assert "\n".join(bodies) == text
    assert receipt.raw["message_ids"] == [m.id for m in graph.sent]


async def test_attachment_by_url_then_by_saved_id(graph: FakeGraph) -> None:
    files = (
        Attachment(filename="box.jpg", content_type="image/jpeg", source_url="https://cdn.example.com/box.jpg"),
        Attachment(
            filename="manual.pdf", content_type="application/pdf", source_ref={"attachment_id": "1857777774821032"}
        ),
    )
    await send(graph, outbound("See attached", attachments=files))
    assert [r.json["message"] for r in graph.requests] == [
        {"text": "See attached"},
        {"attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/box.jpg", "is_reusable": True}}},
        {"attachment": {"type": "file", "payload": {"attachment_id": "1857777774821032"}}},
    ]


async def test_attachment_bytes_are_uploaded_as_filedata(graph: FakeGraph) -> None:
    clip = Attachment(filename="howto.mp4", content_type="video/mp4", content=b"\x00\x00\x00\x18ftypmp42")
    await send(graph, outbound("", attachments=(clip,)))
    [request] = graph.requests
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    [sent] = graph.sent
    assert sent.body["recipient"] == {"id": PSID}
    assert sent.body["messaging_type"] == "RESPONSE"
    assert sent.body["message"] == {"attachment": {"type": "video", "payload": {"is_reusable": True}}}
    assert sent.files == {"filedata": b"\x00\x00\x00\x18ftypmp42"}
    assert b'filename="howto.mp4"' in request.body


async def test_bytes_are_preferred_to_a_link_that_may_have_expired(graph: FakeGraph) -> None:
    both = Attachment("a.jpg", "image/jpeg", content=b"\xff\xd8", source_url="https://cdn.example.com/expired.jpg")
    await send(graph, outbound("", attachments=(both,)))
    [sent] = graph.sent
    assert sent.files == {"filedata": b"\xff\xd8"}


@pytest.mark.parametrize(
    ("tag_setting", "age", "expected"),
    [
        (True, timedelta(hours=2), {"messaging_type": "RESPONSE"}),
        (True, timedelta(days=2), {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}),
        (True, timedelta(days=8), {"messaging_type": "RESPONSE"}),  # past 7 days no tag helps: Meta refuses
        (False, timedelta(days=2), {"messaging_type": "RESPONSE"}),
    ],
)
async def test_human_agent_tag(graph: FakeGraph, tag_setting: bool, age: timedelta, expected: dict) -> None:
    await send(graph, outbound(last_inbound_at=datetime.now(UTC) - age), human_agent_tag=tag_setting)
    body = graph.requests[0].json
    assert {k: body[k] for k in ("messaging_type", "tag") if k in body} == expected


async def test_nothing_to_send(graph: FakeGraph) -> None:
    error = await send_failure(graph, outbound("  "))
    assert (error.code, error.retryable) == ("empty", False)
    assert graph.requests == []


async def test_recipient_without_psid(graph: FakeGraph) -> None:
    error = await send_failure(graph, outbound(recipient=ExternalIdentity(address="")))
    assert (error.code, error.retryable) == ("no_recipient", False)


@pytest.mark.parametrize(
    ("fixture", "retryable", "code"),
    [
        ("error_messenger_outside_window", False, "window_closed"),
        ("error_messenger_551_unavailable", False, "551"),
        ("error_429_throttled", True, "613"),
        ("error_190_token_expired", False, "190"),
        ("error_500_unknown", True, "1"),
        ("error_4_app_rate_limit", True, "4"),
    ],
)
async def test_graph_errors_are_mapped(graph: FakeGraph, fixture: str, retryable: bool, code: str) -> None:
    graph.fail_with(fixture)
    error = await send_failure(graph)
    assert (error.retryable, error.code) == (retryable, code)
    assert error.reason == recorded_response(fixture)[1]["error"]["message"]


async def test_blocked_user_as_the_fake_answers_it(graph: FakeGraph) -> None:
    graph.unavailable.add(PSID)
    error = await send_failure(graph)
    assert (error.code, error.reason) == ("551", "(#551) This person isn't available right now.")


async def test_timeout_is_retryable(graph: FakeGraph) -> None:
    graph.delay_next(0.5)
    error = await send_failure(graph, timeout=0.1)
    assert (error.code, error.retryable) == ("timeout", True)


async def test_failure_after_the_text_stops_before_the_attachments(graph: FakeGraph) -> None:
    graph.fail_next(200, {"recipient_id": PSID, "message_id": "m_text"})
    graph.fail_with("error_500_unknown")
    photo = Attachment(filename="a.jpg", content_type="image/jpeg", source_url="https://cdn.example.com/a.jpg")
    error = await send_failure(graph, outbound("text", attachments=(photo, photo)))
    assert error.retryable is True
    assert len(graph.requests) == 2


# -- delivery webhooks for what we sent -----------------------------------------------------------------------


async def test_delivery_webhook_for_a_sent_message_round_trips(graph: FakeGraph) -> None:
    receipt = await send(graph)
    hook = graph.messenger_delivery(receipt.external_message_id)
    connector, account = MessengerConnector(), make_account("messenger", graph.messenger_settings())
    request = make_raw_request(hook.body, headers=hook.headers)
    connector.verify(request, account)
    [update] = connector.parse(request, account).items
    assert isinstance(update, DeliveryUpdate)
    assert (update.external_message_id, update.status) == (receipt.external_message_id, DeliveryStatus.DELIVERED)


async def test_customer_text_and_read_webhooks_from_the_fake(graph: FakeGraph) -> None:
    connector, account = MessengerConnector(), make_account("messenger", graph.messenger_settings())
    for hook in (graph.messenger_text("hello", psid=PSID), graph.messenger_read(PSID)):
        request = make_raw_request(hook.body, headers=hook.headers)
        connector.verify(request, account)
        [item] = connector.parse(request, account).items
        assert json.loads(hook.body)["entry"][0]["id"] == "111111"
        assert item.inbox_id == 1
