"""Messenger end to end: recorded page webhooks signed with X-Hub-Signature-256 -> live hub -> thread in the
API (name from the profile API, attachments fetched from the CDN, page echoes dropped) -> agent reply through
the Send API on `FakeGraph` -> `delivery` (by mid, or by watermark) and `read` watermarks -> `delivered` and
`read` on every reply they cover, in the API and on the event stream."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.registry import REGISTRY
from hub.storage.engine import SessionFactory
from tests.connectors.conftest import load_json_fixture
from tests.factories import make_agent, make_inbox
from tests.fakes.meta import FakeGraph, SignedWebhook, signed
from tests.hub.e2e import Agent, live_stream, wait_for
from tests.live import LiveHub
from tests.paths import LOCAL_FIXTURES

APP_SECRET = "meta-app-secret-for-tests"
PSID = "USER_ID"  # the sender of the recorded fbmessenger-api-hs payloads
TEXT = "fbmessenger-api-hs_wsTextMessageRequest.json"  # "hello, world!"
PDF = b"%PDF-1.4 invoice 1001"
JPEG = b"\xff\xd8\xff\xe0" + b"messenger-photo" * 64


def _local(name: str) -> dict[str, Any]:
    """A payload transcribed from Meta's docs (tests/fixtures/meta/messenger/, sources in its README)."""
    loaded: dict[str, Any] = json.loads((LOCAL_FIXTURES / "meta" / "messenger" / name).read_text())
    return loaded


def _event(payload: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = payload["entry"][0]["messaging"][0]
    return event


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Messenger:
    hub: LiveHub
    graph: FakeGraph
    inbox_id: int
    agent: Agent

    @property
    def path(self) -> str:
        return f"/webhooks/meta/{self.inbox_id}"

    async def post(self, payload: dict[str, Any]) -> httpx.Response:
        webhook = signed(payload, APP_SECRET)
        return await self.agent.post_webhook(self.path, webhook.body, webhook.headers)

    async def post_signed(self, webhook: SignedWebhook) -> httpx.Response:
        return await self.agent.post_webhook(self.path, webhook.body, webhook.headers)

    def watermark(self, fixture: str, key: str, watermark: int) -> dict[str, Any]:
        """A recorded watermark event (`read`, or `delivery` without mids) from our customer, at `watermark` ms."""
        payload = _local(fixture)
        event = _event(payload)
        event["sender"]["id"] = PSID
        event[key]["watermark"] = watermark
        return payload

    async def conversation_with_replies(self, *texts: str) -> tuple[int, list[dict[str, Any]]]:
        assert (await self.post(load_json_fixture("messenger", TEXT))).status_code == 200
        conversation = await self.agent.only_conversation()
        replies = []
        for text in texts:
            reply = await self.agent.reply(conversation["id"], text)
            replies.append(await self.agent.wait_status(conversation["id"], reply["id"], "sent"))
        return conversation["id"], replies


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(app_secret=APP_SECRET) as fake:
        fake.add_profile(PSID, "Ada", "Lovelace")
        yield fake  # type: ignore[misc]


@pytest.fixture
async def messenger(hub: LiveHub, db: SessionFactory, graph: FakeGraph) -> AsyncIterator[Messenger]:
    inbox = await make_inbox(db, hub.settings, "messenger", graph.messenger_settings())
    _, token = await make_agent(db, role="admin")
    agent = Agent(hub, token)
    yield Messenger(hub, graph, int(inbox.id or 0), agent)
    await agent.close()


async def test_subscription_handshake(messenger: Messenger) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "CHALLENGE_ACCEPTED"}
    async with httpx.AsyncClient(base_url=messenger.hub.url) as meta:
        answer = await meta.get(messenger.path, params=query)
        assert (answer.status_code, answer.text) == (200, "CHALLENGE_ACCEPTED")
        assert (await meta.get(messenger.path, params={**query, "hub.verify_token": "x"})).status_code == 401


async def test_message_reply_delivery_and_read_watermark(messenger: Messenger) -> None:
    conversation_id, (first, second) = await messenger.conversation_with_replies("Hi Ada!", "Order 1001 shipped.")
    summary = await messenger.agent.only_conversation()
    assert summary["customer"]["name"] == "Ada Lovelace"  # from the profile API, asked for the unseen sender
    inbound = (await messenger.agent.messages(conversation_id))[0]
    assert (inbound["channel"], inbound["text"]) == ("messenger", "hello, world!")
    assert inbound["external_id"] == "mid.1457764197618:41d102a3e1ae206a38"
    assert [m.body for m in messenger.graph.sent] == [
        {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Hi Ada!"}},
        {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Order 1001 shipped."}},
    ]
    assert [first["external_id"], second["external_id"]] == [m.id for m in messenger.graph.sent]

    async with live_stream(messenger.hub, messenger.agent.token) as stream:
        # The recorded `delivery` event, naming our first reply's mid.
        delivery = load_json_fixture("messenger", "fbmessenger-api-hs_wsDeliveryRequest.json")
        _event(delivery)["delivery"]["mids"] = [first["external_id"]]
        _event(delivery)["delivery"]["watermark"] = _now_ms()
        assert (await messenger.post(delivery)).status_code == 200
        await messenger.agent.wait_status(conversation_id, first["id"], "delivered")
        assert (await messenger.agent.message(conversation_id, second["id"]))["status"] == "sent"

        # A `read` names no message: everything sent to this customer up to the watermark was read.
        read = messenger.watermark("message_reads.json", "read", _now_ms())
        answer = await messenger.post(read)
        assert answer.status_code == 200 and answer.json() == {"ok": True, "updated": 1}
        for reply in (first, second):
            shown = await messenger.agent.wait_status(conversation_id, reply["id"], "read")
            assert shown["read_at"] is not None
            await stream.wait_message_update(reply["id"], status="read")

    # A reply sent after that watermark is not covered by it (a repeated read event changes nothing).
    later = await messenger.agent.reply(conversation_id, "Anything else?")
    await messenger.agent.wait_status(conversation_id, later["id"], "sent")
    again = await messenger.post(read)
    assert again.status_code == 200 and again.json() == {"ok": True, "unmatched": 1}
    assert (await messenger.agent.message(conversation_id, later["id"]))["status"] == "sent"


async def test_delivery_watermark_without_mids(messenger: Messenger) -> None:
    conversation_id, (reply,) = await messenger.conversation_with_replies("Hello")
    delivered = messenger.watermark("message_deliveries_watermark_only.json", "delivery", _now_ms())
    assert (await messenger.post(delivered)).status_code == 200
    shown = await messenger.agent.wait_status(conversation_id, reply["id"], "delivered")
    assert shown["delivered_at"] is not None


async def test_page_echo_is_never_a_customer_message(messenger: Messenger) -> None:
    conversation_id, (reply,) = await messenger.conversation_with_replies("Your order 1001 has shipped.")
    echo = _local("message_echo.json")  # what Meta sends back for every message the page sent
    _event(echo)["recipient"]["id"] = PSID
    _event(echo)["message"]["mid"] = reply["external_id"]
    assert (await messenger.post(echo)).status_code == 200
    messages = await messenger.agent.messages(conversation_id)
    assert [m["direction"] for m in messages] == ["inbound", "outbound"]


async def test_attachments_are_fetched_from_the_cdn(messenger: Messenger) -> None:
    payload = _local("message_attachments.json")
    event = _event(payload)
    event["sender"]["id"] = PSID
    image, _, _, file = event["message"]["attachments"]
    # The recorded URLs point at Meta's CDN: serve the same file names from the fake.
    image["payload"]["url"] = messenger.graph.add_cdn_file("photo_123.jpg", JPEG, "image/jpeg")
    file["payload"]["url"] = messenger.graph.add_cdn_file("invoice_1001.pdf", PDF, "application/pdf")
    event["message"]["attachments"] = [image, file]
    assert (await messenger.post(payload)).status_code == 200

    conversation = await messenger.agent.only_conversation()

    async def both_stored() -> list[dict[str, Any]] | None:
        [message] = await messenger.agent.messages(conversation["id"])
        done = all(a["status"] == "stored" for a in message["attachments"])
        return message["attachments"] if done else None

    attachments = await wait_for(both_stored, "both attachments to be stored")
    assert [(a["filename"], a["content_type"]) for a in attachments] == [
        ("photo_123.jpg", "image/jpeg"),
        ("invoice_1001.pdf", "application/pdf"),
    ]
    assert [await messenger.agent.attachment_bytes(a) for a in attachments] == [JPEG, PDF]


async def test_refusals_and_redelivery(messenger: Messenger) -> None:
    recorded = signed(load_json_fixture("messenger", TEXT), APP_SECRET)
    forged = signed(load_json_fixture("messenger", TEXT), "another-app-secret")
    assert (await messenger.post_signed(forged)).status_code == 401
    assert await messenger.agent.conversations() == []
    assert (
        await messenger.agent.post_webhook("/webhooks/meta/999999", recorded.body, recorded.headers)
    ).status_code == 404
    whatsapp_body = copy.deepcopy(load_json_fixture("messenger", TEXT)) | {"object": "whatsapp_business_account"}
    ignored = await messenger.post(whatsapp_body)  # another product's webhook: logged and acknowledged
    assert ignored.status_code == 200 and "ignored" in ignored.json()
    malformed = await messenger.post({"object": "page", "entry": [{"id": "111111", "messaging": "nope"}]})
    assert malformed.status_code == 400 and malformed.json()["detail"].startswith("malformed payload")

    for _ in range(2):
        assert (await messenger.post_signed(recorded)).status_code == 200
    conversation = await messenger.agent.only_conversation()
    assert len(await messenger.agent.messages(conversation["id"])) == 1


async def test_provider_4xx_fails_with_meta_reason(messenger: Messenger) -> None:
    assert (await messenger.post(load_json_fixture("messenger", TEXT))).status_code == 200
    conversation = await messenger.agent.only_conversation()
    messenger.graph.unavailable.add(PSID)
    async with live_stream(messenger.hub, messenger.agent.token) as stream:
        reply = await messenger.agent.reply(conversation["id"], "Hello?")
        failed = await messenger.agent.wait_status(conversation["id"], reply["id"], "failed")
        assert failed["error"] == "(#551) This person isn't available right now." and failed["attempts"] == 1
        await stream.wait_message_update(reply["id"], status="failed", error=failed["error"])


async def test_5xx_and_timeout_are_retried_then_sent(messenger: Messenger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(REGISTRY["messenger"], "_timeout", 0.5)
    assert (await messenger.post(load_json_fixture("messenger", TEXT))).status_code == 200
    conversation = await messenger.agent.only_conversation()
    messenger.graph.fail_with("error_500_unknown")
    messenger.graph.delay_next(1.5)
    reply = await messenger.agent.reply(conversation["id"], "Third time lucky")
    sent = await messenger.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert sent["attempts"] == 3 and sent["error"] is None
    assert len(messenger.graph.requests_to("/me/messages")) == 3
