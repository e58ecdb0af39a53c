"""A support mailbox on a real IMAP/SMTP pair, end to end, through a live hub.

Mail in (Dovecot, picked up by the hub's own IMAP poller) -> a clean message in the unified thread ->
an agent's reply through the API -> mail out (aiosmtpd) that threads -> the customer's reply, built
from the mail we sent, lands in the same conversation. Then: a bounce fails the reply it reports,
an auto-reply does not reopen a resolved conversation, and our own mail coming back is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.connectors.email.mail import build, dsn
from tests.factories import make_agent, make_inbox
from tests.fakes.dovecot import Dovecot
from tests.fakes.smtp import SmtpServer
from tests.hub.email_helpers import start_dovecot, wait_for
from tests.live import LiveHub

CUSTOMER = "Ada Lovelace <ada@customer.example.org>"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    yield from start_dovecot()


@dataclass
class Desk:
    """The running pieces: the hub, the mailbox it polls, the SMTP server it sends through, an agent."""

    hub: LiveHub
    dovecot: Dovecot
    smtp: SmtpServer
    mailbox: str
    inbox_id: int
    client: httpx.AsyncClient

    def deliver(self, raw: bytes) -> None:
        self.dovecot.deliver(self.mailbox, raw)

    async def thread(self, conversation_id: int) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/conversations/{conversation_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def conversations(self) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/conversations", params={"status": "all"})
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    async def reply(self, conversation_id: int, text: str) -> dict[str, Any]:
        response = await self.client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text})
        assert response.status_code == 201, response.text
        message_id = response.json()["id"]

        async def sent() -> dict[str, Any] | None:
            for message in (await self.thread(conversation_id))["messages"]:
                if message["id"] == message_id and message["status"] == "sent":
                    return message  # type: ignore[no-any-return]
            return None

        return await wait_for(sent, what="the reply to be sent")

    async def messages_after(self, conversation_id: int, count: int) -> list[dict[str, Any]]:
        """The conversation's mail (not its activity lines) once there are `count` of them."""

        async def enough() -> list[dict[str, Any]] | None:
            messages = (await self.thread(conversation_id))["messages"]
            mail = [m for m in messages if m["direction"] in ("inbound", "outbound")]
            return mail if len(mail) >= count else None

        return await wait_for(enough, what=f"{count} messages")


@pytest.fixture
async def desk(db: SessionFactory, settings: Settings, dovecot: Dovecot) -> AsyncIterator[Desk]:
    mailbox = dovecot.add_user()
    with SmtpServer() as smtp:
        config = dovecot.settings(
            mailbox, smtp_port=smtp.port, plus_addressing=True, from_name="ACME Support", webhook_token="hook-token"
        )
        inbox = await make_inbox(db, settings, "email", config, name="Support")
        _, token = await make_agent(db, role="admin", name="Sam Rivera")
        hub = LiveHub(settings)  # started after the inbox exists: its poller starts with the hub
        await asyncio.to_thread(hub.start)
        try:
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=hub.url, headers=headers, timeout=10) as client:
                assert inbox.id is not None
                yield Desk(hub, dovecot, smtp, mailbox, inbox.id, client)
        finally:
            await asyncio.to_thread(hub.stop)


async def test_mail_in_reply_out_and_the_customers_answer_threads(desk: Desk) -> None:
    # 1. The customer writes; the hub's IMAP poller picks it up.
    desk.deliver(
        build(
            from_=CUSTOMER,
            to=desk.mailbox,
            subject="Where is my order 1001?",
            text="Hi, where is my order 1001?\n\n-- \nAda Lovelace\nAnalytical Engines Ltd",
            message_id="<c1@customer.example.org>",
        )
    )
    listing = await wait_for(desk.conversations, what="the conversation")
    (summary,) = listing
    conversation_id = summary["id"]
    assert summary["customer"]["name"] == "Ada Lovelace" and summary["channels"] == ["email"]
    thread = await desk.thread(conversation_id)
    (first,) = thread["messages"]
    assert first["text"] == "Hi, where is my order 1001?"  # the signature is trimmed
    assert first["has_full_text"] and "Analytical Engines Ltd" in first["full_text"]
    assert first["external_id"] == "c1@customer.example.org" and first["channel"] == "email"

    # 2. The agent answers through the API; the mail goes out over SMTP and threads.
    sent = await desk.reply(conversation_id, "It ships today!\n\nSam")
    (outgoing,) = desk.smtp.received
    mail = outgoing.message
    assert outgoing.rcpt_tos == ["ada@customer.example.org"]
    assert mail["Message-ID"] == f"<{sent['external_id']}>"
    assert mail["In-Reply-To"] == "<c1@customer.example.org>"
    assert str(mail["References"]) == "<c1@customer.example.org>"
    assert mail["Subject"] == "Re: Where is my order 1001?"
    local, _, domain = desk.mailbox.partition("@")
    assert mail["Reply-To"] == f"ACME Support <{local}+{thread['ref_token']}@{domain}>"
    assert mail["From"] == f'"Sam Rivera (ACME Support)" <{desk.mailbox}>'
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}

    # 3. The customer's client answers that mail: Reply-To, In-Reply-To and References as real clients do.
    desk.deliver(
        build(
            from_=CUSTOMER,
            to=str(mail["Reply-To"]),
            subject=f"Re: {mail['Subject'].removeprefix('Re: ')}",
            text="Great, thanks!\n\nOn Mon, 2 Mar 2026 at 10:00, ACME <x@example.test> wrote:\n> It ships today!",
            message_id="<c2@customer.example.org>",
            in_reply_to=mail["Message-ID"],
            references=f"{mail['References']} {mail['Message-ID']}",
        )
    )
    messages = await desk.messages_after(conversation_id, 3)
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("inbound", "Hi, where is my order 1001?"),
        ("outbound", "It ships today!\n\nSam"),
        ("inbound", "Great, thanks!"),
    ]
    assert len(await desk.conversations()) == 1

    # 4. A second reply bounces: the delivery report marks it failed with the server's reason.
    second = await desk.reply(conversation_id, "Here is the tracking link.")
    desk.deliver(dsn(second["external_id"], recipient="ada@customer.example.org", to=desk.mailbox))

    async def failed() -> dict[str, Any] | None:
        messages = (await desk.thread(conversation_id))["messages"]
        row = next(m for m in messages if m["id"] == second["id"])
        return row if row["status"] == "failed" else None

    bounced = await wait_for(failed, what="the bounce")
    assert bounced["error"].startswith("bounced: ada@customer.example.org: 550 5.1.1")
    assert len(await desk.messages_after(conversation_id, 4)) == 4  # the report itself is no message


async def test_auto_replies_do_not_reopen_and_loops_are_refused(desk: Desk) -> None:
    desk.deliver(build(from_=CUSTOMER, to=desk.mailbox, message_id="<a1@customer.example.org>"))
    (summary,) = await wait_for(desk.conversations, what="the conversation")
    conversation_id = summary["id"]
    sent = await desk.reply(conversation_id, "Your order shipped.")
    resolved = await desk.client.patch(f"/api/v1/conversations/{conversation_id}", json={"status": "resolved"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"

    # Our own reply comes back under a new Message-ID (a list expanding it to us, a Bcc): refused.
    ours = desk.smtp.received[0].data
    desk.deliver(ours.replace(sent["external_id"].encode(), b"copy-of-our-reply@lists.example.net"))
    # The customer's vacation responder answers: stored for the record, the conversation stays resolved.
    desk.deliver(
        build(
            from_=CUSTOMER,
            to=desk.mailbox,
            subject="Automatic reply: Where is my order?",
            text="I am out of the office until Monday.",
            message_id="<a2@customer.example.org>",
            in_reply_to=f"<{sent['external_id']}>",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    messages = await desk.messages_after(conversation_id, 3)
    assert [m["external_id"] for m in messages] == ["a1@customer.example.org", sent["external_id"],
                                                    "a2@customer.example.org"]  # fmt: skip
    assert (await desk.thread(conversation_id))["status"] == "resolved"

    # A real answer from the customer reopens it.
    desk.deliver(
        build(
            from_=CUSTOMER,
            to=desk.mailbox,
            subject="Re: Where is my order?",
            text="It has not arrived yet.",
            message_id="<a3@customer.example.org>",
            in_reply_to=f"<{sent['external_id']}>",
        )
    )
    await desk.messages_after(conversation_id, 4)
    assert (await desk.thread(conversation_id))["status"] == "open"
    assert len(await desk.conversations()) == 1
