"""Offline continuity: a reply the visitor did not read is emailed (real SMTP), and their answer threads back."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
import pytest

from connectors.registry import get_connector
from hub.storage.engine import SessionFactory
from tests.factories import make_agent, make_inbox
from tests.fakes.smtp import SmtpServer
from tests.hub.webchat.support import Agent, WidgetClient, make_webchat
from tests.live import LiveHub

SHOP = "https://shop.example.com"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
VISITOR_EMAIL = "lena@example.org"


@pytest.fixture
async def agent(hub: LiveHub, db: SessionFactory) -> Agent:
    _, token = await make_agent(db, name="Sam Rivera")
    agent = Agent(hub.url, token)
    yield agent  # type: ignore[misc]
    await agent.close()


@pytest.fixture
def smtp() -> SmtpServer:
    if get_connector("email") is None:
        pytest.skip("the email connector is not registered in connectors/registry.py yet")
    with SmtpServer(users={"shop": "pw"}) as server:
        yield server  # type: ignore[misc]


async def _inboxes(hub: LiveHub, db: SessionFactory, smtp: SmtpServer) -> tuple[int, int]:
    email = await make_inbox(db, hub.settings, "email", {
        "address": "support@shop.example.com", "imap_host": "imap.shop.example.com", "imap_port": 993,
        "imap_username": "support", "imap_password": "x", "imap_enabled": False, "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port, "smtp_username": "shop", "smtp_password": "pw", "smtp_starttls": False,
        "webhook_token": "mail-token", "plus_addressing": True,
    })  # fmt: skip
    chat = await make_webchat(db, hub.settings, SHOP, email_inbox_id=email.id, offline_email_delay_seconds=1)
    assert email.id is not None and chat.id is not None
    return email.id, chat.id


async def _mails(smtp: SmtpServer, count: int, timeout: float = 10.0) -> list[EmailMessage]:
    async with asyncio.timeout(timeout):
        while len(smtp.received) < count:
            await asyncio.sleep(0.05)
    return [r.message for r in smtp.received]


async def test_an_unread_reply_is_emailed_and_the_answer_threads_back(
    hub: LiveHub, db: SessionFactory, agent: Agent, smtp: SmtpServer
) -> None:
    email_inbox, chat_inbox = await _inboxes(hub, db, smtp)
    visitor = WidgetClient(hub.url, chat_inbox, origin=SHOP)
    await visitor.connect(locale="de-DE")
    await visitor.send({"type": "identify", "name": "Lena", "email": VISITOR_EMAIL})  # the pre-chat form
    await visitor.expect("identified")
    await visitor.say("Hallo, wo ist mein Paket?")
    await visitor.close()  # the visitor leaves the site

    conversation_id = (await agent.conversations())[0]["id"]
    reply = await agent.reply(conversation_id, "Ihr Paket ist unterwegs.")
    (mail,) = await _mails(smtp, 1)
    assert mail["To"].addresses[0].addr_spec == VISITOR_EMAIL
    assert mail["Subject"] == "Antwort auf Ihren Chat mit shop.example.com"
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ihr Paket ist unterwegs." in body and SHOP in body
    thread = await agent.thread(conversation_id)
    copy = next(m for m in thread["messages"] if m["channel"] == "email")
    assert copy["direction"] == "outbound" and copy["inbox_id"] == email_inbox
    assert next(m for m in thread["messages"] if m["id"] == reply["id"])["status"] == "sent"

    # Lena answers the email: it lands in the same conversation.
    answer = EmailMessage()
    answer["From"] = f"Lena <{VISITOR_EMAIL}>"
    answer["To"] = mail["Reply-To"] or "support@shop.example.com"
    answer["Subject"] = "Re: " + mail["Subject"]
    answer["Message-ID"] = make_msgid(domain="example.org")
    answer["In-Reply-To"] = mail["Message-ID"]
    answer["References"] = mail["Message-ID"]
    answer.set_content("Danke! Und wann kommt es an?")
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
        posted = await client.post(
            f"/webhooks/email/{email_inbox}",
            content=answer.as_bytes(),
            headers={"Authorization": "Bearer mail-token", "Content-Type": "message/rfc822"},
        )
    assert posted.status_code == 200, posted.text
    assert [c["id"] for c in await agent.conversations()] == [conversation_id]
    last = (await agent.thread(conversation_id))["messages"][-1]
    assert (last["channel"], last["direction"]) == ("email", "inbound") and "Danke!" in last["text"]
    await asyncio.sleep(1.5)
    assert len(smtp.received) == 1  # each unread reply is emailed once


async def test_a_reply_the_visitor_read_is_not_emailed(
    hub: LiveHub, db: SessionFactory, agent: Agent, smtp: SmtpServer
) -> None:
    _, chat_inbox = await _inboxes(hub, db, smtp)
    visitor = WidgetClient(hub.url, chat_inbox, origin=SHOP)
    await visitor.connect()
    await visitor.send({"type": "identify", "email": VISITOR_EMAIL})
    await visitor.expect("identified")
    await visitor.say("Quick question")
    conversation_id = (await agent.conversations())[0]["id"]
    reply = await agent.reply(conversation_id, "Quick answer")
    shown = (await visitor.expect("message"))["message"]
    await visitor.send({"type": "receipt", "status": "read", "up_to": shown["id"]})
    await agent.wait_status(conversation_id, reply["id"], "read")
    await asyncio.sleep(2.5)
    assert smtp.received == []
    await visitor.close()
