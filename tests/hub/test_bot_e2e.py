"""The order-status bot end to end on the live hub: a provider's webhook -> ingest -> the bot job -> a bot
reply row (author bot) -> delivered through the provider fake; on SMS (English), Telegram (German) and web
chat (Russian, anonymous: the visitor proves the order first); the ownership rule; handoff, a human reply and
an assignment stop the bot."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from hub.storage.engine import SessionFactory
from tests.factories import api_message, api_signature, make_agent, make_inbox
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.live import LiveHub

pytestmark = [  # the twilio SDK's own aiohttp usage (connectors/sms/README.md, "Quirks")
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

PUBLIC = "https://hub.example.com"  # the `settings` fixture's public URL: what providers sign
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "twilio-auth-token-bot-tests"
SHOP_NUMBER = "+15555550100"
ADA_PHONE = "+15555550142"
TG_SECRET = "tg-secret-bot-tests"
SITE = "https://shop.example.com"
BOT = {"name": "Shopbot"}


async def wait_for(probe: Callable[[], Awaitable[Any]], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Console:
    """An admin on the JSON API."""

    def __init__(self, hub: LiveHub, token: str) -> None:
        self.hub = hub
        self.http = httpx.AsyncClient(base_url=hub.url, timeout=10, headers={"Authorization": f"Bearer {token}"})

    async def order(self, number: str, status: str, **customer: str) -> None:
        body = {
            "number": number,
            "status": status,
            "customer": customer,
            "currency": "EUR",
            "total": "89.90",
            "placed_at": "2026-11-20T10:00:00Z",
            "fulfillment": {
                "status": "in_transit",
                "carrier": "PostNL",
                "tracking_number": "3SABCD",
                "tracking_url": f"https://track.example.com/{number}",
                "eta": "2026-11-27",
            },
        }
        answer = await self.http.post("/api/v1/orders", json=body)
        assert answer.status_code == 200, answer.text

    async def conversations(self) -> list[dict[str, Any]]:
        answer = await self.http.get("/api/v1/conversations", params={"status": "all"})
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]

    async def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        answer = await self.http.get(f"/api/v1/conversations/{conversation_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()["messages"]  # type: ignore[no-any-return]

    async def conversation_of(self, customer_text: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            for item in await self.conversations():
                if any(m["text"] == customer_text for m in await self.messages(item["id"])):
                    return item
            return None

        found: dict[str, Any] = await wait_for(probe, f"the conversation with {customer_text!r}")
        return found

    async def bot_replies(self, conversation_id: int) -> list[dict[str, Any]]:
        return [m for m in await self.messages(conversation_id) if m["author"]["type"] == "bot"]

    async def bot_reply(self, conversation_id: int, count: int, status: str = "sent") -> dict[str, Any]:
        """The `count`-th bot reply once it reached `status` at the provider."""

        async def probe() -> dict[str, Any] | None:
            replies = await self.bot_replies(conversation_id)
            if len(replies) >= count and replies[count - 1]["status"] == status:
                return replies[count - 1]
            return None

        found: dict[str, Any] = await wait_for(probe, f"bot reply {count} to be {status}")
        return found

    async def stays_silent(self, conversation_id: int, replies: int, after_text: str) -> None:
        """The customer's message `after_text` is stored, and no further bot reply follows it."""

        async def stored() -> bool:
            return any(m["text"] == after_text for m in await self.messages(conversation_id))

        await wait_for(stored, f"{after_text!r} to be stored")
        await asyncio.sleep(0.6)  # time for a bot job, had one been queued
        assert len(await self.bot_replies(conversation_id)) == replies

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def console(hub: LiveHub, db: SessionFactory) -> AsyncIterator[Console]:
    _, token = await make_agent(db, role="admin")
    admin = Console(hub, token)
    yield admin
    await admin.close()


# --- SMS, English ------------------------------------------------------------------------------------------


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as fake:
        yield fake  # type: ignore[misc]


async def _sms_inbox(console: Console, twilio: FakeTwilio) -> int:
    settings = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "phone_number": SHOP_NUMBER,
        "api_base_url": twilio.url,
        "bot_enabled": True,
        "bot": BOT,
    }
    created = await console.http.post("/api/v1/inboxes", json={"kind": "sms", "name": "Text us", "settings": settings})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _text(console: Console, twilio: FakeTwilio, inbox_id: int, from_: str, body: str) -> None:
    webhook = twilio.inbound_message(f"{PUBLIC}/webhooks/sms/{inbox_id}", from_=from_, to=SHOP_NUMBER, body=body)
    async with httpx.AsyncClient(base_url=console.hub.url) as provider:
        answer = await provider.post(webhook.url.removeprefix(PUBLIC), content=webhook.body, headers=webhook.headers)
    assert answer.status_code == 200, answer.text


async def test_sms_order_status_then_handoff_stops_the_bot(console: Console, twilio: FakeTwilio) -> None:
    inbox_id = await _sms_inbox(console, twilio)
    await console.order("1002", "shipped", phone=ADA_PHONE, email="ada@example.com")

    started = time.monotonic()
    await _text(console, twilio, inbox_id, ADA_PHONE, "Hi, where is my order??")
    conversation = await console.conversation_of("Hi, where is my order??")
    reply = await console.bot_reply(conversation["id"], 1)
    assert time.monotonic() - started < 10
    assert reply["author"] == {"type": "bot", "id": None, "name": "Shopbot"} and reply["channel"] == "sms"
    assert reply["text"] == (
        "Here's the latest on your order #1002: on its way. It was sent with PostNL, and you can follow it "
        "here: https://track.example.com/1002 Expected delivery: 27 November."
    )
    sent = twilio.messages[-1]
    assert sent["to"] == ADA_PHONE and sent["from"] == SHOP_NUMBER and sent["body"] == reply["text"]

    await _text(console, twilio, inbox_id, ADA_PHONE, "thanks. can I speak to a real person")
    handoff = await console.bot_reply(conversation["id"], 2)
    assert handoff["text"] == "Thanks for your message! A human colleague will reply shortly."
    assert twilio.messages[-1]["body"] == handoff["text"]
    summary = next(c for c in await console.conversations() if c["id"] == conversation["id"])
    assert summary["bot"] == {"handed_off": True} and "bot:handoff" in summary["tags"]
    assert summary["waiting_since"] is not None
    lines = [m["text"] for m in await console.messages(conversation["id"]) if m["direction"] == "system"]
    assert lines == ["Shopbot handed the conversation to the team: the customer asked for a person"]

    await _text(console, twilio, inbox_id, ADA_PHONE, "where is my order 1002?")
    await console.stays_silent(conversation["id"], 2, "where is my order 1002?")
    assert len(twilio.messages) == 2


async def test_sms_nobody_learns_someone_elses_order(console: Console, twilio: FakeTwilio) -> None:
    inbox_id = await _sms_inbox(console, twilio)
    await console.order("1002", "shipped", phone=ADA_PHONE)
    stranger = "+15555550177"
    await _text(console, twilio, inbox_id, stranger, "where is my order #1002?")
    conversation = await console.conversation_of("where is my order #1002?")
    reply = await console.bot_reply(conversation["id"], 1)
    assert reply["text"] == (
        'Hmm, I can\'t find order #1002. Could you double-check the number? Or type "agent" and a colleague '
        "will take it from here."
    )
    assert "PostNL" not in twilio.messages[-1]["body"] and "track.example.com" not in twilio.messages[-1]["body"]


# --- Telegram, German --------------------------------------------------------------------------------------


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake  # type: ignore[misc]


def _update(update_id: int, chat_id: int, text: str) -> bytes:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ada", "language_code": "de"}
    message = {
        "message_id": update_id,
        "from": user,
        "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
        "date": int(time.time()),
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


async def test_telegram_in_german_after_the_agent_links_the_profile(
    console: Console, telegram: FakeTelegram, db: SessionFactory, hub: LiveHub
) -> None:
    settings = {
        "bot_token": telegram.token,
        "secret_token": TG_SECRET,
        "api_base_url": telegram.url,
        "bot_enabled": True,
        "bot": {"languages": ["de", "en"], "default_language": "de"},
    }
    inbox = await make_inbox(db, hub.settings, "telegram", settings)
    await console.order("1002", "shipped", email="ada@example.com")
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}

    async def say(update_id: int, text: str) -> None:
        async with httpx.AsyncClient(base_url=hub.url) as provider:
            answer = await provider.post(
                f"/webhooks/telegram/{inbox.id}", content=_update(update_id, 4242, text), headers=headers
            )
        assert answer.status_code == 200, answer.text

    # A Telegram account is not the order's customer (yet): the bot discloses nothing.
    await say(1, "Hallo, wo ist meine Bestellung 1002?")
    conversation = await console.conversation_of("Hallo, wo ist meine Bestellung 1002?")
    refused = await console.bot_reply(conversation["id"], 1)
    assert refused["text"].startswith("Ich kann die Bestellung #1002 leider nicht finden.")

    # The agent recognises Ada and merges her Telegram profile into the one the order created.
    telegram_customer = conversation["customer"]["id"]
    order = (await console.http.get("/api/v1/orders/1002")).json()
    merged = await console.http.post(
        f"/api/v1/customers/{order['customer']['id']}/merge", json={"other_id": telegram_customer}
    )
    assert merged.status_code == 200, merged.text

    await say(2, "Und jetzt? Wo bleibt meine Bestellung 1002??")
    answer = await console.bot_reply(conversation["id"], 2)
    assert answer["text"].startswith("Deine Bestellung #1002 ist unterwegs. Sie wurde mit PostNL verschickt")
    assert "Voraussichtliche Zustellung: 27. November." in answer["text"]
    sent = telegram.calls_to("sendMessage")
    assert [c.params["text"] for c in sent] == [refused["text"], answer["text"]]
    assert all(str(c.params["chat_id"]) == "4242" for c in sent)


# --- web chat, Russian, anonymous --------------------------------------------------------------------------


class Visitor:
    """An anonymous visitor's widget on the documented socket protocol (hub/webchat/socket.py)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def open(cls, hub: LiveHub, inbox_id: int) -> Visitor:
        url = hub.url.replace("http://", "ws://") + f"/widget/ws?inbox={inbox_id}"
        socket = await connect(url, origin=SITE, open_timeout=5)  # type: ignore[arg-type]
        visitor = cls(socket)
        await visitor.send({"type": "hello", "locale": "ru"})
        await visitor.expect(lambda f: f["type"] == "ready")
        return visitor

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame))

    async def expect(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.socket.recv())
                if wanted(frame):
                    return frame  # type: ignore[no-any-return]

    async def say(self, text: str, client_id: str) -> None:
        await self.send({"type": "message", "client_id": client_id, "text": text})
        await self.expect(lambda f: f["type"] == "ack" and f.get("client_id") == client_id)

    async def bot_says(self) -> str:
        frame = await self.expect(lambda f: f["type"] == "message" and f["message"]["author"]["type"] == "bot")
        return str(frame["message"]["text"])


async def test_anonymous_web_chat_in_russian_proves_the_order_first(
    console: Console, db: SessionFactory, hub: LiveHub
) -> None:
    settings = {"website_url": SITE, "hmac_secret": "widget-secret-0123", "bot_enabled": True, "bot": BOT}
    inbox = await make_inbox(db, hub.settings, "webchat", settings)
    await console.order("1002", "shipped", email="ada@example.com")
    visitor = await Visitor.open(hub, int(inbox.id or 0))
    try:
        await visitor.say("Здравствуйте! Где мой заказ 1002?", "c-1")
        asked = await visitor.bot_says()
        assert asked == (
            "Прежде чем рассказать подробности: укажите, пожалуйста, email или почтовый индекс, указанные в "
            "заказе #1002."
        )
        await visitor.say("ada@example.com", "c-2")
        answered = await visitor.bot_says()
        assert answered.startswith("Статус заказа #1002: в пути. Служба доставки: PostNL.")
        assert "https://track.example.com/1002" in answered and "27 ноября" in answered
    finally:
        await visitor.socket.close()
    conversation = await console.conversation_of("ada@example.com")
    replies = await console.bot_replies(conversation["id"])
    assert [r["text"] for r in replies] == [asked, answered]
    assert all(r["author"]["type"] == "bot" and r["channel"] == "webchat" for r in replies)


async def test_anonymous_web_chat_wrong_proof_hands_over(console: Console, db: SessionFactory, hub: LiveHub) -> None:
    settings = {"website_url": SITE, "hmac_secret": "widget-secret-0123", "bot_enabled": True, "bot": BOT}
    inbox = await make_inbox(db, hub.settings, "webchat", settings)
    await console.order("1002", "shipped", email="ada@example.com")
    visitor = await Visitor.open(hub, int(inbox.id or 0))
    try:
        await visitor.say("dónde está mi pedido 1002?", "c-1")
        assert (await visitor.bot_says()).startswith("Antes de darte detalles")
        await visitor.say("mallory@example.com", "c-2")
        refused = await visitor.bot_says()
    finally:
        await visitor.socket.close()
    assert refused == "Lo siento, no coincide con nuestros datos. Un compañero se encargará y te responderá en breve."
    conversation = await console.conversation_of("mallory@example.com")
    summary = next(c for c in await console.conversations() if c["id"] == conversation["id"])
    assert summary["bot"] == {"handed_off": True}
    assert all("PostNL" not in m["text"] for m in await console.messages(conversation["id"]))


# --- a human takes over: reply or assignment ---------------------------------------------------------------


async def _api_inbox(console: Console) -> int:
    settings = {"hmac_secret": "api-secret", "bot_enabled": True, "bot": BOT}
    created = await console.http.post("/api/v1/inboxes", json={"kind": "api", "name": "App", "settings": settings})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def _post_api(console: Console, inbox_id: int, identifier: str, text: str, external_id: str) -> None:
    body = api_message(identifier, text, external_id, email=f"{identifier}@example.com")
    async with httpx.AsyncClient(base_url=console.hub.url) as provider:
        answer = await provider.post(
            f"/webhooks/api/{inbox_id}",
            content=body,
            headers={"X-Omnihub-Signature": api_signature("api-secret", body)},
        )
    assert answer.status_code == 200, answer.text


async def test_a_human_reply_stops_the_bot(console: Console) -> None:
    inbox_id = await _api_inbox(console)
    await console.order("2001", "paid", email="ben@example.com")
    await _post_api(console, inbox_id, "ben", "hello, is anyone there?", "b-1")
    conversation = await console.conversation_of("hello, is anyone there?")
    await console.bot_reply(conversation["id"], 1, status="failed")  # `other`: the handoff text (no callback URL)

    await _post_api(console, inbox_id, "cleo", "where is my order please", "c-1")
    cleo = await console.conversation_of("where is my order please")
    await console.bot_reply(cleo["id"], 1, status="failed")  # no orders: said so
    human = await console.http.post(f"/api/v1/conversations/{cleo['id']}/messages", json={"text": "Hi Cleo, Sam here"})
    assert human.status_code == 201
    await _post_api(console, inbox_id, "cleo", "where is my order 2001?", "c-2")
    await console.stays_silent(cleo["id"], 1, "where is my order 2001?")


async def test_an_assignment_stops_the_bot(console: Console) -> None:
    inbox_id = await _api_inbox(console)
    await console.order("2001", "paid", email="ben@example.com")
    await _post_api(console, inbox_id, "ben", "where is my order", "b-1")
    conversation = await console.conversation_of("where is my order")
    first = await console.bot_reply(conversation["id"], 1, status="failed")
    assert first["text"].startswith("Here's the latest on your order #2001: paid")
    me = (await console.http.get("/api/v1/me")).json()
    assigned = await console.http.patch(f"/api/v1/conversations/{conversation['id']}", json={"assignee_id": me["id"]})
    assert assigned.status_code == 200 and assigned.json()["bot"] == {"handed_off": True}
    await _post_api(console, inbox_id, "ben", "and when does it arrive?", "b-2")
    await console.stays_silent(conversation["id"], 1, "and when does it arrive?")
