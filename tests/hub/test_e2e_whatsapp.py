"""WhatsApp Cloud API end to end: Meta's subscription handshake, recorded webhooks signed with
X-Hub-Signature-256 -> live hub -> thread in the API (media fetched through the Graph API) -> agent reply
through the Graph API on `FakeGraph` -> `statuses` webhooks -> `delivered`, `read` in the API and on the
event stream; the 24-hour window, one customer across SMS and WhatsApp, refusals, errors and retries."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from connectors.meta.connector import WINDOW_CLOSED_REASON
from connectors.registry import REGISTRY
from conversation.models import Message, utcnow
from hub.storage.engine import SessionFactory
from tests.connectors.conftest import load_json_fixture
from tests.factories import make_agent, make_inbox
from tests.fakes.meta import FakeGraph, SignedWebhook, signed
from tests.fakes.twilio import FakeTwilio
from tests.hub.e2e import PUBLIC, Agent, live_stream
from tests.live import LiveHub

APP_SECRET = "meta-app-secret-for-tests"
CUSTOMER = "972987654321"  # wa_id of the recorded pywa payloads ("Test Name")
JPEG = b"\xff\xd8\xff\xe0" + b"whatsapp-photo" * 64


@dataclass
class WhatsApp:
    hub: LiveHub
    graph: FakeGraph
    inbox_id: int
    agent: Agent

    @property
    def path(self) -> str:
        return f"/webhooks/meta/{self.inbox_id}"

    def recorded(self, name: str) -> SignedWebhook:
        """One of the recorded customer messages in pywa_message.json, signed with the app secret."""
        return signed(load_json_fixture("whatsapp", "pywa_message.json")[name], APP_SECRET)

    def status(self, wamid: str, name: str) -> SignedWebhook:
        """The recorded `statuses` webhook `name` (pywa_message_status.json) about our message `wamid`."""
        payload = copy.deepcopy(load_json_fixture("whatsapp", "pywa_message_status.json")[name])
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
        return signed(payload, APP_SECRET)

    async def post(self, webhook: SignedWebhook) -> httpx.Response:
        return await self.agent.post_webhook(self.path, webhook.body, webhook.headers)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(app_secret=APP_SECRET) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def whatsapp(hub: LiveHub, db: SessionFactory, graph: FakeGraph) -> AsyncIterator[WhatsApp]:
    inbox = await make_inbox(db, hub.settings, "whatsapp", graph.whatsapp_settings())
    _, token = await make_agent(db, role="admin")
    agent = Agent(hub, token)
    yield WhatsApp(hub, graph, int(inbox.id or 0), agent)
    await agent.close()


async def test_subscription_handshake(whatsapp: WhatsApp) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    async with httpx.AsyncClient(base_url=whatsapp.hub.url) as meta:
        answer = await meta.get(whatsapp.path, params=query)
        assert (answer.status_code, answer.text) == (200, "1158201444")
        assert answer.headers["content-type"].startswith("text/plain")
        refused = await meta.get(whatsapp.path, params={**query, "hub.verify_token": "guess"})
        assert refused.status_code == 401


async def test_message_reply_statuses_delivered_and_read(whatsapp: WhatsApp) -> None:
    answer = await whatsapp.post(whatsapp.recorded("text"))
    assert answer.status_code == 200, answer.text
    conversation = await whatsapp.agent.only_conversation()
    assert conversation["customer"]["name"] == "Test Name"
    [inbound] = await whatsapp.agent.messages(conversation["id"])
    assert (inbound["channel"], inbound["text"], inbound["external_id"]) == ("whatsapp", "Body Text", "wamid.xyzxyz")
    customer = await whatsapp.agent.customer(conversation["customer"]["id"])
    assert [(i["channel"], i["address"]) for i in customer["identities"]] == [("whatsapp", f"+{CUSTOMER}")]

    async with live_stream(whatsapp.hub, whatsapp.agent.token) as stream:
        reply = await whatsapp.agent.reply(conversation["id"], "Your order left the warehouse.")
        sent = await whatsapp.agent.wait_status(conversation["id"], reply["id"], "sent")
        [message] = whatsapp.graph.sent
        assert sent["external_id"] == message.id
        assert message.body == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "context": {"message_id": "wamid.xyzxyz"},  # shown as a quote of the customer's message
            "type": "text",
            "text": {"body": "Your order left the warehouse.", "preview_url": False},
        }
        [request] = whatsapp.graph.requests_to("/1122334455667/messages")
        assert request.headers["Authorization"] == f"Bearer {whatsapp.graph.access_token}"
        assert "appsecret_proof" in request.query

        for status in ("sent", "delivered", "read"):
            assert (await whatsapp.post(whatsapp.status(message.id, status))).status_code == 200
        await stream.wait_message_update(reply["id"], status="delivered")
        await stream.wait_message_update(reply["id"], status="read")
    read = await whatsapp.agent.wait_status(conversation["id"], reply["id"], "read")
    assert read["delivered_at"] is not None and read["read_at"] is not None


async def test_failed_status_carries_meta_reason(whatsapp: WhatsApp) -> None:
    await whatsapp.post(whatsapp.recorded("text"))
    conversation = await whatsapp.agent.only_conversation()
    reply = await whatsapp.agent.reply(conversation["id"], "Hello")
    await whatsapp.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert (await whatsapp.post(whatsapp.status(whatsapp.graph.sent[0].id, "failed"))).status_code == 200
    failed = await whatsapp.agent.wait_status(conversation["id"], reply["id"], "failed")
    assert "User's number is part of an experiment" in failed["error"] and "130472" in failed["error"]


async def test_image_is_fetched_through_the_graph_api(whatsapp: WhatsApp) -> None:
    whatsapp.graph.add_media("65463453", JPEG, "image/jpeg")  # the media id of the recorded image message
    whatsapp.graph.delay_next(1.0)  # hold the media lookup: the API shows the file pending first
    assert (await whatsapp.post(whatsapp.recorded("image"))).status_code == 200
    conversation = await whatsapp.agent.only_conversation()
    [inbound] = await whatsapp.agent.messages(conversation["id"])
    assert [(a["content_type"], a["status"]) for a in inbound["attachments"]] == [("image/jpeg", "pending")]
    stored = await whatsapp.agent.wait_attachment(conversation["id"])
    assert await whatsapp.agent.attachment_bytes(stored) == JPEG
    download = whatsapp.graph.requests_to("/whatsapp_business/attachments/")[0]
    assert download.headers["Authorization"] == f"Bearer {whatsapp.graph.access_token}"


async def test_outside_the_24_hour_window_the_agent_is_told_a_template_is_needed(
    whatsapp: WhatsApp, db: SessionFactory
) -> None:
    await whatsapp.post(whatsapp.recorded("text"))
    conversation = await whatsapp.agent.only_conversation()
    async with db() as session:  # the customer's message arrived 25 hours ago
        await session.exec(sa.update(Message).values(created_at=utcnow() - timedelta(hours=25)))  # type: ignore[call-overload]
        await session.commit()
    async with live_stream(whatsapp.hub, whatsapp.agent.token) as stream:
        reply = await whatsapp.agent.reply(conversation["id"], "Still interested?")
        failed = await whatsapp.agent.wait_status(conversation["id"], reply["id"], "failed")
        assert failed["error"] == WINDOW_CLOSED_REASON
        assert "template message is required" in failed["error"] and failed["attempts"] == 1
        await stream.wait_message_update(reply["id"], status="failed", error=WINDOW_CLOSED_REASON)
    assert whatsapp.graph.sent == []  # nothing was attempted at Meta

    # The customer writes again: the window reopens and the next reply goes out.
    again = load_json_fixture("whatsapp", "pywa_message.json")["text"]
    again["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.second"
    assert (await whatsapp.post(signed(again, APP_SECRET))).status_code == 200
    reply = await whatsapp.agent.reply(conversation["id"], "Welcome back!")
    await whatsapp.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert len(whatsapp.graph.sent) == 1


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")  # inside the twilio SDK
@pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning")
async def test_same_phone_on_sms_and_whatsapp_is_one_customer_one_thread(
    whatsapp: WhatsApp, db: SessionFactory
) -> None:
    with FakeTwilio() as twilio:
        sms_settings = {
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "phone_number": "+15555550199",
            "api_base_url": twilio.url,
        }
        sms = await make_inbox(db, whatsapp.hub.settings, "sms", sms_settings)
        text = twilio.inbound_message(
            f"{PUBLIC}/webhooks/sms/{sms.id}", from_=f"+{CUSTOMER}", to="+15555550199", body="Texting you first"
        )
        texted = await whatsapp.agent.post_webhook(f"/webhooks/sms/{sms.id}", text.body, text.headers)
        assert texted.status_code == 200, texted.text
        assert (await whatsapp.post(whatsapp.recorded("text"))).status_code == 200

        conversation = await whatsapp.agent.only_conversation()
        assert conversation["channels"] == ["sms", "whatsapp"]
        customer = await whatsapp.agent.customer(conversation["customer"]["id"])
        assert sorted((i["channel"], i["address"]) for i in customer["identities"]) == [
            ("sms", f"+{CUSTOMER}"),
            ("whatsapp", f"+{CUSTOMER}"),
        ]
        messages = await whatsapp.agent.messages(conversation["id"])
        assert [(m["channel"], m["text"]) for m in messages] == [
            ("sms", "Texting you first"),
            ("whatsapp", "Body Text"),
        ]

        # By default the reply goes where the customer last wrote; the agent may pick SMS instead.
        on_whatsapp = await whatsapp.agent.reply(conversation["id"], "Got it on WhatsApp")
        on_sms = await whatsapp.agent.reply(conversation["id"], "And by text", channel="sms")
        await whatsapp.agent.wait_status(conversation["id"], on_whatsapp["id"], "sent")
        await whatsapp.agent.wait_status(conversation["id"], on_sms["id"], "sent")
        assert [m.body["to"] for m in whatsapp.graph.sent] == [CUSTOMER]
        assert [(m["to"], m["body"]) for m in twilio.messages] == [(f"+{CUSTOMER}", "And by text")]


async def test_refusals_and_redelivery(whatsapp: WhatsApp) -> None:
    recorded = whatsapp.recorded("text")
    forged = await whatsapp.agent.post_webhook(
        whatsapp.path, recorded.body, {**recorded.headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert forged.status_code == 401
    unsigned = await whatsapp.agent.post_webhook(whatsapp.path, recorded.body, {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert await whatsapp.agent.conversations() == []

    assert (
        await whatsapp.agent.post_webhook("/webhooks/meta/999999", recorded.body, recorded.headers)
    ).status_code == 404
    broken = signed({"object": "whatsapp_business_account", "entry": "not a list"}, APP_SECRET)
    malformed = await whatsapp.post(broken)
    assert malformed.status_code == 400 and malformed.json()["detail"].startswith("malformed payload")

    for _ in range(2):
        assert (await whatsapp.post(recorded)).status_code == 200
    conversation = await whatsapp.agent.only_conversation()
    assert len(await whatsapp.agent.messages(conversation["id"])) == 1
    # A status about a message that is not ours changes nothing and is still acknowledged.
    stray = await whatsapp.post(whatsapp.status("wamid.someone-else", "delivered"))
    assert stray.status_code == 200 and stray.json() == {"ok": True, "unmatched": 1}


async def test_provider_4xx_fails_with_meta_reason(whatsapp: WhatsApp) -> None:
    await whatsapp.post(whatsapp.recorded("text"))
    conversation = await whatsapp.agent.only_conversation()
    whatsapp.graph.fail_with("error_100_invalid_parameter")
    async with live_stream(whatsapp.hub, whatsapp.agent.token) as stream:
        reply = await whatsapp.agent.reply(conversation["id"], "Hello")
        failed = await whatsapp.agent.wait_status(conversation["id"], reply["id"], "failed")
        assert failed["error"] == "(#100) Invalid parameter (Parameter 'to' must be a valid phone number)"
        assert failed["attempts"] == 1
        await stream.wait_message_update(reply["id"], status="failed", error=failed["error"])


async def test_5xx_and_timeout_are_retried_then_sent(whatsapp: WhatsApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(REGISTRY["whatsapp"], "_timeout", 0.5)
    await whatsapp.post(whatsapp.recorded("text"))
    conversation = await whatsapp.agent.only_conversation()
    whatsapp.graph.fail_with("error_500_unknown")
    whatsapp.graph.delay_next(1.5)
    reply = await whatsapp.agent.reply(conversation["id"], "Third time lucky")
    sent = await whatsapp.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert sent["attempts"] == 3 and sent["error"] is None
    assert len(whatsapp.graph.requests_to("/1122334455667/messages")) == 3
