"""Telegram end to end: the admin registers the webhook (setWebhook on `FakeTelegram`), Telegram delivers
recorded Updates with the secret token -> thread in the API (edits replace the text, photos are fetched
through getFile) -> agent reply through python-telegram-bot -> the fake got exactly that sendMessage.

The Bot API has no delivery or read receipts, so a Telegram reply ends at `sent` (connectors/telegram/README.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.registry import REGISTRY
from hub.storage.engine import SessionFactory
from tests.connectors.conftest import load_json_fixture
from tests.factories import make_agent, make_inbox
from tests.fakes.telegram import FakeTelegram, WebhookDelivery, telegram_error
from tests.hub.e2e import PUBLIC, Agent, live_stream
from tests.live import LiveHub

SECRET = "tg-secret_0123456789"
TEXT_UPDATE = "derived/official_patched_text_message.json"  # "/start" from chat 1111111, message 1365
EDIT_UPDATE = "derived/official_patched_edited_message.json"  # the same message, now "Edited text"
PHOTO_UPDATE = "derived/teloxide_photo_with_caption_wrapped_update.json"
PHOTO = b"\xff\xd8\xff\xe0" + b"customer-photo" * 64


@dataclass
class Telegram:
    hub: LiveHub
    fake: FakeTelegram
    inbox_id: int
    agent: Agent

    @property
    def path(self) -> str:
        return f"/webhooks/telegram/{self.inbox_id}"

    async def register(self) -> None:
        answer = await self.agent.http.post(f"/api/v1/inboxes/{self.inbox_id}/register_webhook")
        assert answer.status_code == 200, answer.text

    def delivery(self, fixture: str, **changes: Any) -> WebhookDelivery:
        """A recorded Update as Telegram POSTs it to the registered webhook."""
        return self.fake.webhook_delivery({**load_json_fixture("telegram", fixture), **changes})

    async def post(self, delivery: WebhookDelivery) -> httpx.Response:
        return await self.agent.post_webhook(delivery.url.removeprefix(PUBLIC), delivery.body, delivery.headers)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as telegram:
        yield telegram  # type: ignore[misc]


@pytest.fixture
async def telegram(hub: LiveHub, db: SessionFactory, fake: FakeTelegram) -> AsyncIterator[Telegram]:
    settings = {"bot_token": fake.token, "secret_token": SECRET, "api_base_url": fake.url}
    inbox = await make_inbox(db, hub.settings, "telegram", settings)
    _, token = await make_agent(db, role="admin")
    agent = Agent(hub, token)
    yield Telegram(hub, fake, int(inbox.id or 0), agent)
    await agent.close()


async def test_register_receive_edit_reply(telegram: Telegram) -> None:
    await telegram.register()
    assert telegram.fake.webhook is not None
    assert telegram.fake.webhook["url"] == f"{PUBLIC}{telegram.path}"
    assert telegram.fake.webhook["secret_token"] == SECRET
    assert telegram.fake.webhook["allowed_updates"] == ["message", "edited_message"]

    answer = await telegram.post(telegram.delivery(TEXT_UPDATE))
    assert answer.status_code == 200, answer.text
    conversation = await telegram.agent.only_conversation()
    assert conversation["customer"]["name"] == "Test Firstname Test Lastname"
    [inbound] = await telegram.agent.messages(conversation["id"])
    assert (inbound["channel"], inbound["text"], inbound["external_id"]) == ("telegram", "/start", "1111111:1365")
    customer = await telegram.agent.customer(conversation["customer"]["id"])
    assert [(i["channel"], i["address"]) for i in customer["identities"]] == [("telegram", "1111111")]

    async with live_stream(telegram.hub, telegram.agent.token) as stream:
        answer = await telegram.post(telegram.delivery(EDIT_UPDATE))
        assert answer.status_code == 200, answer.text
        [edited] = await telegram.agent.messages(conversation["id"])  # an edit, not a second message
        assert (edited["id"], edited["text"]) == (inbound["id"], "Edited text")
        assert edited["edited_at"] is not None
        await stream.wait_message_update(inbound["id"], text="Edited text")

        reply = await telegram.agent.reply(conversation["id"], "Hi! How can we help?")
        sent = await telegram.agent.wait_status(conversation["id"], reply["id"], "sent")
        await stream.wait_message_update(reply["id"], status="sent")
    [call] = telegram.fake.calls_to("sendMessage")
    assert call.token == telegram.fake.token
    assert call.params == {
        "chat_id": "1111111",
        "text": "Hi! How can we help?",
        "reply_parameters": {"message_id": 1365, "allow_sending_without_reply": True},
    }
    assert sent["external_id"] == f"1111111:{telegram.fake.sent[0]['message_id']}"
    assert sent["sent_at"] is not None and sent["delivered_at"] is None


async def test_photo_is_fetched_through_get_file(telegram: Telegram) -> None:
    await telegram.register()
    update = load_json_fixture("telegram", PHOTO_UPDATE)
    largest = update["message"]["photo"][-1]["file_id"]
    telegram.fake.add_file(largest, PHOTO, file_path="photos/file_7.jpg")
    telegram.fake.delay_next(1.0)  # hold getFile so the API can be seen with the photo still pending
    answer = await telegram.post(telegram.delivery(PHOTO_UPDATE))
    assert answer.status_code == 200, answer.text

    conversation = await telegram.agent.only_conversation()
    [inbound] = await telegram.agent.messages(conversation["id"])
    assert inbound["text"] == "www.example.com"  # the caption
    assert [(a["content_type"], a["status"]) for a in inbound["attachments"]] == [("image/jpeg", "pending")]
    stored = await telegram.agent.wait_attachment(conversation["id"])
    assert await telegram.agent.attachment_bytes(stored) == PHOTO
    [get_file] = telegram.fake.calls_to("getFile")
    assert get_file.params["file_id"] == largest


async def test_refusals_and_redelivery(telegram: Telegram, db: SessionFactory) -> None:
    await telegram.register()
    wrong = telegram.delivery(TEXT_UPDATE)
    forged = await telegram.agent.post_webhook(
        telegram.path, wrong.body, {**wrong.headers, "X-Telegram-Bot-Api-Secret-Token": "guessed"}
    )
    assert forged.status_code == 401
    missing = await telegram.agent.post_webhook(telegram.path, wrong.body, {"Content-Type": "application/json"})
    assert missing.status_code == 401
    assert await telegram.agent.conversations() == []

    assert (
        await telegram.agent.post_webhook("/webhooks/telegram/999999", wrong.body, wrong.headers)
    ).status_code == 404
    slack = await make_inbox(db, telegram.hub.settings, "slack", {"bot_token": "xoxb-1", "signing_secret": "s"})
    wrong_kind = await telegram.agent.post_webhook(f"/webhooks/telegram/{slack.id}", wrong.body, wrong.headers)
    assert wrong_kind.status_code == 404

    broken = await telegram.agent.post_webhook(telegram.path, b'{"update_id": 1, "message": ', wrong.headers)
    assert broken.status_code == 400 and broken.json()["detail"].startswith("malformed payload")

    for _ in range(2):
        answer = await telegram.post(telegram.delivery(TEXT_UPDATE))
        assert answer.status_code == 200
    conversation = await telegram.agent.only_conversation()
    assert len(await telegram.agent.messages(conversation["id"])) == 1


async def test_blocked_bot_fails_with_telegram_reason(telegram: Telegram) -> None:
    await telegram.register()
    await telegram.post(telegram.delivery(TEXT_UPDATE))
    conversation = await telegram.agent.only_conversation()
    telegram.fake.blocked_chats.add(1111111)
    async with live_stream(telegram.hub, telegram.agent.token) as stream:
        reply = await telegram.agent.reply(conversation["id"], "Are you there?")
        failed = await telegram.agent.wait_status(conversation["id"], reply["id"], "failed")
        assert failed["error"] == "Forbidden: bot was blocked by the user" and failed["attempts"] == 1
        event = await stream.wait_message_update(reply["id"], status="failed")
        assert event["message"]["error"] == failed["error"]


async def test_5xx_and_timeout_are_retried_then_sent(telegram: Telegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(REGISTRY["telegram"], "timeout", 0.5)
    await telegram.register()
    await telegram.post(telegram.delivery(TEXT_UPDATE))
    conversation = await telegram.agent.only_conversation()
    telegram.fake.fail_next(*telegram_error(502, "Bad Gateway"))
    telegram.fake.delay_next(1.5)
    reply = await telegram.agent.reply(conversation["id"], "Third time lucky")
    sent = await telegram.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert sent["attempts"] == 3 and sent["error"] is None
    assert len(telegram.fake.calls_to("sendMessage")) == 3
    assert json.loads(telegram.fake.requests_to("/sendMessage")[-1].form["reply_parameters"])["message_id"] == 1365
