"""External agent bots on the live hub: each customer message goes out as a signed webhook (with retries),
the bot answers through the API with a bot agent's token, hands over with `bot_handoff`, and the built-in
bot stays out of it; plus the inbox validation of the bot settings and `POST /api/v1/bot/classify`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web

from hub.storage.engine import SessionFactory
from tests.factories import api_message, api_signature, make_agent
from tests.fakes.base import FakeProvider, RecordedRequest
from tests.live import LiveHub

INBOX_SECRET = "api-inbox-secret"
BOT_SECRET = "agent-bot-secret-0123456789"


class ExternalBot(FakeProvider):
    """The shop's own bot server (an LLM or Rasa bot): it takes our webhooks."""

    def routes(self, app: web.Application) -> None:
        self.route("POST", "/hook", lambda r: web.json_response({"ok": True}))


class Callback(FakeProvider):
    """The `api` inbox's callback: where replies to the customer are delivered."""

    def routes(self, app: web.Application) -> None:
        self.route("POST", "/callback", lambda r: web.json_response({"external_id": f"cb-{len(self.requests)}"}))


async def wait_for(probe: Callable[[], Awaitable[Any]], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Setup:
    hub: LiveHub
    admin: httpx.AsyncClient
    bot_api: httpx.AsyncClient
    bot: ExternalBot
    callback: Callback
    inbox_id: int

    async def customer_says(self, text: str, external_id: str) -> None:
        body = api_message("ben", text, external_id, name="Ben", email="ben@example.com")
        async with httpx.AsyncClient(base_url=self.hub.url) as provider:
            answer = await provider.post(
                f"/webhooks/api/{self.inbox_id}",
                content=body,
                headers={"X-Omnihub-Signature": api_signature(INBOX_SECRET, body)},
            )
        assert answer.status_code == 200, answer.text

    async def hook(self, count: int) -> RecordedRequest:
        async def probe() -> RecordedRequest | None:
            hooks = self.bot.requests_to("/hook")
            return hooks[count - 1] if len(hooks) >= count else None

        found: RecordedRequest = await wait_for(probe, f"webhook {count} at the external bot")
        return found

    async def thread(self, conversation_id: int) -> list[dict[str, Any]]:
        return (await self.admin.get(f"/api/v1/conversations/{conversation_id}")).json()["messages"]  # type: ignore[no-any-return]


@pytest.fixture
async def setup(hub: LiveHub, db: SessionFactory) -> AsyncIterator[Setup]:
    _, admin_token = await make_agent(db, role="admin")
    with ExternalBot() as bot, Callback() as callback:
        async with httpx.AsyncClient(
            base_url=hub.url, timeout=10, headers={"Authorization": f"Bearer {admin_token}"}
        ) as admin:
            settings = {
                "hmac_secret": INBOX_SECRET,
                "callback_url": f"{callback.url}/callback",
                "bot_enabled": True,
                "agent_bot_url": f"{bot.url}/hook",
                "agent_bot_secret": BOT_SECRET,
            }
            created = await admin.post("/api/v1/inboxes", json={"kind": "api", "name": "App", "settings": settings})
            assert created.status_code == 201, created.text
            assert BOT_SECRET not in created.text and "agent_bot_secret" in created.json()["secrets_set"]
            inbox_id = created.json()["id"]
            _, bot_token = await make_agent(db, role="bot", name="Rasa bot", inbox_ids=[inbox_id])
            order = {
                "number": "2001",
                "status": "shipped",
                "customer": {"email": "ben@example.com"},
                "fulfillment": {"carrier": "DHL", "tracking_url": "https://dhl.example.com/2001"},
            }
            assert (await admin.post("/api/v1/orders", json=order)).status_code == 200
            async with httpx.AsyncClient(
                base_url=hub.url, timeout=10, headers={"Authorization": f"Bearer {bot_token}"}
            ) as bot_api:
                yield Setup(hub, admin, bot_api, bot, callback, inbox_id)  # type: ignore[arg-type]


async def test_the_external_bot_gets_signed_webhooks_replies_and_hands_over(setup: Setup) -> None:
    await setup.customer_says("where is my order?", "m-1")
    hook = await setup.hook(1)
    assert hook.headers["X-Omnihub-Signature"] == api_signature(BOT_SECRET, hook.body)
    assert hook.headers["X-Omnihub-Event"] == "message.created"
    payload = hook.json
    assert payload["event"] == "message.created" and payload["message"]["text"] == "where is my order?"
    assert payload["customer"]["email"] == "ben@example.com"
    assert payload["customer"]["identity"] == {"channel": "api", "address": "ben", "verified": True}
    assert [(o["number"], o["status"], o["fulfillment"]["carrier"]) for o in payload["orders"]] == [
        ("2001", "shipped", "DHL")
    ]
    conversation_id = payload["conversation"]["id"]
    assert payload["reply"]["url"] == f"https://hub.example.com/api/v1/conversations/{conversation_id}/messages"
    assert payload["handoff"] == {
        "method": "PATCH",
        "url": f"https://hub.example.com/api/v1/conversations/{conversation_id}",
        "body": {"bot_handoff": True},
    }
    await asyncio.sleep(0.3)
    assert [m["direction"] for m in await setup.thread(conversation_id)] == ["inbound"]  # the built-in bot is out

    # The external bot answers through the API, as the bot agent: a bot turn that takes nothing over.
    reply = await setup.bot_api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Your order 2001 is with DHL: https://dhl.example.com/2001"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["author"] == {"type": "bot", "id": None, "name": "Rasa bot"}
    delivered = await wait_for(lambda: _sent(setup, conversation_id), "the bot's reply to reach the callback")
    assert delivered["author"]["type"] == "bot"
    assert json.loads(setup.callback.requests_to("/callback")[0].body)["author"] == {"name": "Rasa bot"}

    await setup.customer_says("thanks! can I change the address?", "m-2")
    second = await setup.hook(2)
    assert second.json["message"]["text"] == "thanks! can I change the address?"
    handoff = await setup.bot_api.patch(f"/api/v1/conversations/{conversation_id}", json={"bot_handoff": True})
    assert handoff.status_code == 200, handoff.text
    assert handoff.json()["bot"] == {"handed_off": True} and "bot:handoff" in handoff.json()["tags"]
    lines = [m["text"] for m in await setup.thread(conversation_id) if m["direction"] == "system"]
    assert lines == ["Rasa bot handed the conversation to the team: the external bot handed over"]

    await setup.customer_says("hello?", "m-3")
    await wait_for(lambda: _has_text(setup, conversation_id, "hello?"), "the third message")
    await asyncio.sleep(0.5)
    assert len(setup.bot.requests_to("/hook")) == 2


async def _sent(setup: Setup, conversation_id: int) -> dict[str, Any] | None:
    outbound = [m for m in await setup.thread(conversation_id) if m["direction"] == "outbound"]
    return outbound[0] if outbound and outbound[0]["status"] == "sent" else None


async def _has_text(setup: Setup, conversation_id: int, text: str) -> bool:
    return any(m["text"] == text for m in await setup.thread(conversation_id))


async def test_a_failing_bot_is_retried(setup: Setup) -> None:
    setup.bot.fail_next(503, times=2)
    await setup.customer_says("where is my order?", "m-1")
    await setup.hook(3)
    hooks = setup.bot.requests_to("/hook")
    assert [r.headers["X-Omnihub-Delivery"].rsplit(":", 1)[1] for r in hooks] == ["1", "2", "3"]
    assert len({r.json["id"] for r in hooks}) == 1  # the same message, three attempts
    assert all(r.headers["X-Omnihub-Signature"] == api_signature(BOT_SECRET, r.body) for r in hooks)
    summary = (await setup.admin.get("/api/v1/conversations")).json()["items"][0]
    assert summary["bot"] == {"handed_off": False}


async def test_a_bot_that_refuses_hands_the_conversation_over(setup: Setup) -> None:
    setup.bot.fail_next(404)
    await setup.customer_says("where is my order?", "m-1")
    await setup.hook(1)

    async def handed_off() -> dict[str, Any] | None:
        items = (await setup.admin.get("/api/v1/conversations")).json()["items"]
        return items[0] if items and items[0]["bot"]["handed_off"] else None

    summary = await wait_for(handed_off, "the handoff")
    lines = [m["text"] for m in await setup.thread(summary["id"]) if m["direction"] == "system"]
    assert lines == ["The external bot handed the conversation to the team: the external bot could not be reached"]
    assert len(setup.bot.requests_to("/hook")) == 1


async def test_an_agent_can_give_a_conversation_back_to_the_bot(setup: Setup) -> None:
    await setup.customer_says("where is my order?", "m-1")
    conversation_id = (await setup.hook(1)).json["conversation"]["id"]
    off = await setup.admin.patch(f"/api/v1/conversations/{conversation_id}", json={"bot_handoff": True})
    assert off.json()["bot"] == {"handed_off": True}
    on = await setup.admin.patch(f"/api/v1/conversations/{conversation_id}", json={"bot_handoff": False})
    assert (
        on.status_code == 200 and on.json()["bot"] == {"handed_off": False} and "bot:handoff" not in on.json()["tags"]
    )
    await setup.customer_says("still waiting", "m-2")
    assert (await setup.hook(2)).json["message"]["text"] == "still waiting"
    wrong = await setup.admin.patch(f"/api/v1/conversations/{conversation_id}", json={"bot_handoff": "yes"})
    assert wrong.status_code == 422 and wrong.json()["detail"] == "bot_handoff must be true or false"


# --- settings validation and the classify endpoint -------------------------------------------------------


async def test_inbox_bot_settings_are_validated(setup: Setup) -> None:
    bad = {
        "hmac_secret": "x",
        "bot_enabled": True,
        "bot": {"languages": ["en", "xx"], "templates": {"en": {"handoff": "{who}"}}},
    }
    created = await setup.admin.post("/api/v1/inboxes", json={"kind": "api", "name": "Bad", "settings": bad})
    assert created.status_code == 422
    detail = created.json()["detail"]
    assert "bot.languages: unknown language code 'xx'" in detail
    assert "bot.templates.en.handoff: unknown field(s) {who} (allowed: none)" in detail
    updated = await setup.admin.patch(
        f"/api/v1/inboxes/{setup.inbox_id}", json={"settings": {"agent_bot_url": "not a url"}}
    )
    assert updated.status_code == 422 and "agent_bot_url must be an http(s) URL" in updated.json()["detail"]
    fine = await setup.admin.patch(
        f"/api/v1/inboxes/{setup.inbox_id}",
        json={
            "settings": {
                "bot": {
                    "languages": ["nl", "en"],
                    "default_language": "nl",
                    "templates": {"nl": {"handoff": "Even geduld!"}},
                }
            }
        },
    )
    assert fine.status_code == 200, fine.text
    assert fine.json()["settings"]["bot"]["templates"] == {"nl": {"handoff": "Even geduld!"}}


async def test_classify_endpoint(setup: Setup) -> None:
    answer = await setup.admin.post("/api/v1/bot/classify", json={"text": "Где мой заказ №1001?"})
    assert answer.status_code == 200
    assert answer.json() == {"intent": "order_status", "order_number": "1001", "language": "ru", "confidence": 0.9}
    handoff = (await setup.admin.post("/api/v1/bot/classify", json={"text": "ik wil een medewerker"})).json()
    assert set(handoff) == {"intent", "order_number", "language", "confidence"}
    assert handoff["intent"] == "handoff" and handoff["language"] == "nl"
    await setup.admin.patch(
        f"/api/v1/inboxes/{setup.inbox_id}", json={"settings": {"bot": {"languages": ["de"], "default_language": "de"}}}
    )
    scoped = await setup.admin.post("/api/v1/bot/classify", json={"text": "ok", "inbox_id": setup.inbox_id})
    assert scoped.json()["language"] == "de"
    empty = await setup.admin.post("/api/v1/bot/classify", json={"text": "  "})
    assert empty.status_code == 422 and empty.json()["detail"] == "text must not be empty"
    unknown = await setup.admin.post("/api/v1/bot/classify", json={"text": "hi", "inbox_id": 999})
    assert unknown.status_code == 404
    async with httpx.AsyncClient(base_url=setup.hub.url) as anonymous:
        assert (await anonymous.post("/api/v1/bot/classify", json={"text": "hi"})).status_code == 401
