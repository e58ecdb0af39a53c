"""SMS (Twilio) end to end: recorded webhooks signed as Twilio signs them -> live hub -> thread in the API ->
agent reply through the twilio SDK to `FakeTwilio` -> status callback -> `delivered` in the API and on the
event stream; plus the refusals, duplicates, provider errors and retries."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.registry import REGISTRY
from hub.storage.engine import SessionFactory
from tests.connectors.conftest import load_fixture
from tests.factories import make_agent, make_inbox
from tests.fakes.twilio import FakeTwilio, signed_webhook, twilio_error
from tests.hub.e2e import PUBLIC, Agent, form_pairs, live_stream
from tests.live import LiveHub

pytestmark = [  # the twilio SDK's own aiohttp usage (connectors/sms/README.md, "Quirks")
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

#: The account of the recorded WhatsApp-via-Twilio payloads (their media URLs name it).
ACCOUNT_SID = "AC1a03647d811fab342c0ad608e382fab2"
AUTH_TOKEN = "twilio-auth-token-for-tests"
SHOP_NUMBER = "+14123456789"
MEDIA_SID = "ME5f0afa2336bd0f73ca553fb5a2e3150bc"  # MediaUrl0 of whatsapp_inbound_media_image.txt
JPEG = b"\xff\xd8\xff\xe0" + b"recorded-mms-image" * 50


@dataclass
class Sms:
    hub: LiveHub
    twilio: FakeTwilio
    inbox_id: int
    agent: Agent

    @property
    def path(self) -> str:
        return f"/webhooks/sms/{self.inbox_id}"

    def signed(self, fixture: str, path: str | None = None, token: str = AUTH_TOKEN) -> Any:
        """A recorded Twilio body, signed for this inbox's public URL with the inbox's Auth Token."""
        return signed_webhook(token, PUBLIC + (path or self.path), form_pairs(load_fixture("twilio", fixture)))

    async def post(self, webhook: Any) -> Any:
        """POST a signed webhook to the path of the public URL it was signed for."""
        return await self.agent.post_webhook(webhook.url.removeprefix(PUBLIC), webhook.body, webhook.headers)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def sms(hub: LiveHub, db: SessionFactory, twilio: FakeTwilio) -> AsyncIterator[Sms]:
    settings = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "phone_number": SHOP_NUMBER,
        "api_base_url": twilio.url,
    }
    inbox = await make_inbox(db, hub.settings, "sms", settings)
    _, token = await make_agent(db, role="admin")
    agent = Agent(hub, token)
    yield Sms(hub, twilio, int(inbox.id or 0), agent)
    await agent.close()


async def test_sms_in_reply_status_callback_delivered(sms: Sms) -> None:
    answer = await sms.post(sms.signed("inbound_sms_received.txt"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")  # TwiML: "no immediate reply"
    assert answer.text.endswith("<Response/>")

    conversation = await sms.agent.only_conversation()
    assert conversation["channels"] == ["sms"]
    [inbound] = await sms.agent.messages(conversation["id"])
    assert (inbound["direction"], inbound["channel"], inbound["text"]) == ("inbound", "sms", "twilio-go testing!")
    assert inbound["author"]["type"] == "customer"
    assert inbound["external_id"] == "SM1521fa559fb923c1ed64f56cd1bed8ef"
    customer = await sms.agent.customer(conversation["customer"]["id"])
    assert [(i["channel"], i["address"]) for i in customer["identities"]] == [("sms", "+19253920364")]

    async with live_stream(sms.hub, sms.agent.token) as stream:
        reply = await sms.agent.reply(conversation["id"], "Your order ships today.")
        sent = await sms.agent.wait_status(conversation["id"], reply["id"], "sent")
        [created] = sms.twilio.messages
        assert sent["external_id"] == created["sid"] and sent["attempts"] == 1
        # What Twilio received through the real SDK: Basic auth, the form fields, our status callback URL.
        [request] = sms.twilio.requests_to("/Messages.json")
        basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        assert request.headers["Authorization"] == f"Basic {basic}"
        assert request.form == {
            "To": "+19253920364",
            "From": SHOP_NUMBER,
            "Body": "Your order ships today.",
            "StatusCallback": f"{PUBLIC}/webhooks/sms/{sms.inbox_id}/status",
        }

        callback = sms.twilio.status_callback(created["sid"], "delivered")
        assert callback.url == f"{PUBLIC}{sms.path}/status"
        answer = await sms.post(callback)
        assert answer.status_code == 200, answer.text
        delivered = await sms.agent.wait_status(conversation["id"], reply["id"], "delivered")
        assert delivered["delivered_at"] is not None
        await stream.wait_message_update(reply["id"], status="delivered")

        # A late `sent` callback (Twilio does not order them) never moves the message back.
        late = await sms.post(sms.twilio.status_callback(created["sid"], "sent"))
        assert late.status_code == 200
        assert (await sms.agent.message(conversation["id"], reply["id"]))["status"] == "delivered"


async def test_whatsapp_via_twilio_media_fetched_reply_keeps_prefix_and_read(sms: Sms) -> None:
    sms.twilio.media[MEDIA_SID] = (JPEG, "image/jpeg")
    sms.twilio.delay_next(1.0)  # hold the media download so the API can be seen with the file still pending
    answer = await sms.post(sms.signed("whatsapp_inbound_media_image.txt"))
    assert answer.status_code == 200, answer.text

    conversation = await sms.agent.only_conversation()
    [inbound] = await sms.agent.messages(conversation["id"])
    assert inbound["attachments"][0]["status"] == "pending" and inbound["attachments"][0]["url"] is None
    stored = await sms.agent.wait_attachment(conversation["id"])
    assert (stored["filename"], stored["content_type"], stored["size"]) == (f"{MEDIA_SID}.jpg", "image/jpeg", len(JPEG))
    assert await sms.agent.attachment_bytes(stored) == JPEG
    # Downloaded through Twilio's API (Basic auth), following its redirect to the media store.
    assert sms.twilio.requests_to(f"/Media/{MEDIA_SID}")[0].headers["Authorization"].startswith("Basic ")
    assert len(sms.twilio.requests_to(f"/cdn/{MEDIA_SID}")) == 1

    customer = await sms.agent.customer(conversation["customer"]["id"])
    assert [(i["channel"], i["address"]) for i in customer["identities"]] == [("sms", "+31612345678")]

    reply = await sms.agent.reply(conversation["id"], "Nice photo! It is on its way.")
    await sms.agent.wait_status(conversation["id"], reply["id"], "sent")
    [created] = sms.twilio.messages
    # The hub carried the inbound `whatsapp:` channel prefix back to the connector.
    assert (created["to"], created["from"]) == ("whatsapp:+31612345678", f"whatsapp:{SHOP_NUMBER}")

    for status in ("delivered", "read"):
        answer = await sms.post(sms.twilio.status_callback(created["sid"], status))
        assert answer.status_code == 200
    read = await sms.agent.wait_status(conversation["id"], reply["id"], "read")
    assert read["read_at"] is not None and read["delivered_at"] is not None


async def test_refusals_and_redelivery(sms: Sms, db: SessionFactory) -> None:
    bad = sms.signed("inbound_sms_received.txt", token="not-the-auth-token")
    answer = await sms.post(bad)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "X-Twilio-Signature does not match"
    unsigned = await sms.agent.post_webhook(sms.path, bad.body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401
    assert await sms.agent.conversations() == []

    assert (await sms.post(sms.signed("inbound_sms_received.txt", path="/webhooks/sms/999999"))).status_code == 404
    telegram = await make_inbox(db, sms.hub.settings, "telegram", {"bot_token": "1:A", "secret_token": "s"})
    wrong_kind = sms.signed("inbound_sms_received.txt", path=f"/webhooks/sms/{telegram.id}")
    assert (await sms.post(wrong_kind)).status_code == 404

    no_sid = signed_webhook(AUTH_TOKEN, PUBLIC + sms.path, [("From", "+15555550100"), ("Body", "hi")])
    malformed = await sms.post(no_sid)
    assert malformed.status_code == 400 and "MessageSid" in malformed.json()["detail"]

    first = await sms.post(sms.signed("inbound_sms_received.txt"))
    again = await sms.post(sms.signed("inbound_sms_received.txt"))
    assert first.status_code == again.status_code == 200
    conversation = await sms.agent.only_conversation()
    assert len(await sms.agent.messages(conversation["id"])) == 1


async def test_provider_4xx_fails_with_twilio_reason(sms: Sms) -> None:
    await sms.post(sms.signed("inbound_sms_received.txt"))
    conversation = await sms.agent.only_conversation()
    sms.twilio.unsubscribed.add("+19253920364")  # the customer texted STOP
    async with live_stream(sms.hub, sms.agent.token) as stream:
        reply = await sms.agent.reply(conversation["id"], "Hello again")
        failed = await sms.agent.wait_status(conversation["id"], reply["id"], "failed")
        assert failed["error"] == "Twilio error 21610: Attempt to send to unsubscribed recipient"
        assert failed["attempts"] == 1  # a 4xx is final: no retry
        event = await stream.wait_message_update(reply["id"], status="failed")
        assert event["message"]["error"] == failed["error"]


async def test_undelivered_callback_fails_with_carrier_reason(sms: Sms) -> None:
    await sms.post(sms.signed("inbound_sms_received.txt"))
    conversation = await sms.agent.only_conversation()
    reply = await sms.agent.reply(conversation["id"], "Hello")
    await sms.agent.wait_status(conversation["id"], reply["id"], "sent")
    callback = sms.twilio.status_callback(sms.twilio.messages[0]["sid"], "undelivered", error_code=30003)
    assert (await sms.post(callback)).status_code == 200
    failed = await sms.agent.wait_status(conversation["id"], reply["id"], "failed")
    assert failed["error"].startswith("Twilio error 30003: ")


async def test_5xx_and_timeout_are_retried_then_sent(sms: Sms, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(REGISTRY["sms"], "timeout", 0.5)
    await sms.post(sms.signed("inbound_sms_received.txt"))
    conversation = await sms.agent.only_conversation()
    sms.twilio.fail_next(*twilio_error(503, 20500, "Service Unavailable"))
    sms.twilio.delay_next(1.5)  # the second attempt times out
    reply = await sms.agent.reply(conversation["id"], "Third time lucky")
    sent = await sms.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert sent["attempts"] == 3 and sent["error"] is None
    assert len(sms.twilio.requests_to("/Messages.json")) == 3
