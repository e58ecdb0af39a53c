"""What the outbox reads before a send: everything a connector needs, in one statement for a chat reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from conversation import fast_delivery
from conversation.models import Agent, Attachment, Conversation, Customer, Identity, Inbox, Message
from hub import outbox
from hub.config import Settings
from hub.services import create_services
from hub.storage.engine import SessionFactory
from hub.storage.sqlcount import counting, install

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _world(db: SessionFactory) -> dict[str, int]:
    """A thread with inbound messages on two channels, and three outbound rows to send."""
    async with db() as session:
        inbox = Inbox(kind="api", name="shop")
        customer = Customer(name="Ada")
        agent = Agent(email="sam@example.com", name="Sam", password_hash="!")
        session.add_all([inbox, customer, agent])
        await session.flush()
        identity = Identity(customer_id=customer.id, channel_kind="api", address="cust-1", display_name="Ada L.")  # type: ignore[arg-type]
        conversation = Conversation(inbox_id=inbox.id, customer_id=customer.id, ref_token="tok-1", subject="Parcel")  # type: ignore[arg-type]
        session.add_all([identity, conversation])
        await session.flush()

        def message(channel: str, direction: str, minutes: int, **extra: Any) -> Message:
            row = Message(conversation_id=conversation.id, inbox_id=inbox.id, channel=channel, direction=direction,  # type: ignore[arg-type]
                          author_type="customer" if direction == "inbound" else "agent",
                          created_at=WHEN + timedelta(minutes=minutes), **extra)  # fmt: skip
            session.add(row)
            return row

        message("api", "inbound", 0, external_id="in-1", meta={"channel_prefix": "old:"})
        message("api", "inbound", 1, external_id="in-2", meta={"channel_prefix": "whatsapp:", "to": "+15555550100"})
        message("email", "inbound", 2, external_id="<m1@example.com>")
        plain = message("api", "outbound", 3, text="on its way", author_id=agent.id, identity_id=None, status="sending")
        with_file = message("api", "outbound", 4, text="label attached", author_id=agent.id, status="sending")
        mail = message("email", "outbound", 5, text="see below", author_id=agent.id, status="sending")
        await session.flush()
        plain.identity_id = with_file.identity_id = identity.id
        session.add(Attachment(message_id=with_file.id, filename="label.pdf", content_type="application/pdf"))  # type: ignore[arg-type]
        await session.commit()
        return {"plain": plain.id, "file": with_file.id, "mail": mail.id}  # type: ignore[dict-item]


async def _row(db: SessionFactory, message_id: int) -> Any:
    async with db() as session:
        return (await session.exec(sa.select(*Message.__table__.c).where(Message.__table__.c.id == message_id))).one()  # type: ignore[attr-defined]


async def _general(services: Any, db: SessionFactory, message_id: int) -> tuple[Any, int]:
    """The general path's send (SQLAlchemy session, any backend) and how many statements its lookup took."""
    row = await _row(db, message_id)
    with counting() as statements:
        async with services.sessions() as session:
            context = await outbox._lookup(session, row)
    return await outbox._outbound(services, row, context), statements[0]


async def _fast(services: Any, db: SessionFactory, message_id: int) -> tuple[Any, int]:
    """The PostgreSQL hot path's send: claim + context in one statement (plus one for attachments)."""
    async with db() as session:
        await session.exec(sa.update(Message).where(Message.id == message_id).values(status="queued"))  # type: ignore[arg-type]
        await session.commit()
    now = datetime.now(UTC)
    async with services.raw.connection() as connection:
        statements = 1
        claimed = await fast_delivery.claim(connection, message_id, now=now, lease_until=now + timedelta(minutes=5))
        assert claimed is not None and claimed.row.attempts == 1
        assert await fast_delivery.claim(connection, message_id, now=now, lease_until=now) is None  # taken once
        statements += bool(claimed.has_attachments)
        context = await outbox._fast_context(connection, claimed)
    return await outbox._outbound(services, claimed.row, context), statements


@pytest.mark.parametrize("path", ["general", "fast"])
async def test_a_chat_reply_is_prepared_from_one_statement(db: SessionFactory, settings: Settings, path: str) -> None:
    ids = await _world(db)
    services = create_services(settings)
    if path == "fast" and services.raw.is_sqlite:
        await services.close()
        pytest.skip("the fast path is PostgreSQL's (the PostgreSQL pass of `make test` runs it)")
    install(services.engine)
    prepare = _general if path == "general" else _fast
    try:
        outbound, statements = await prepare(services, db, ids["plain"])
        assert statements == 1
        assert (outbound.recipient.address, outbound.recipient.name) == ("cust-1", "Ada L.")
        assert outbound.author_name == "Sam" and outbound.subject == "Parcel" and outbound.thread_token == "tok-1"
        assert outbound.last_inbound_at == WHEN + timedelta(minutes=1)  # the newest inbound on this channel
        assert outbound.meta == {"channel_prefix": "whatsapp:", "to": "+15555550100"}
        assert outbound.attachments == () and outbound.references == ()

        with_file, statements = await prepare(services, db, ids["file"])
        assert statements == 2
        assert [(a.filename, a.content_type) for a in with_file.attachments] == [("label.pdf", "application/pdf")]

        mail, _ = await prepare(services, db, ids["mail"])
        assert mail.references == ("<m1@example.com>",)
        assert mail.last_inbound_at == WHEN + timedelta(minutes=2) and mail.recipient.address == ""
    finally:
        await services.close()


async def _waiting_jobs(services: Any) -> int:
    queue = services.queue
    if hasattr(queue, "_queue") and hasattr(queue._queue, "qsize"):
        return int(queue._queue.qsize())  # the in-process queue
    return int(await queue._queue.count("queued"))  # SAQ on Redis (no worker running here)


async def test_the_sweeper_does_not_double_a_job_still_waiting_in_a_backlog(
    db: SessionFactory, settings: Settings
) -> None:
    await _world(db)  # its outbound rows are `sending` without a lease: not the sweeper's business
    services = create_services(settings)
    try:
        from conversation.replies import Author, queue_reply
        from conversation.types import AuthorType

        async with services.uow() as uow:
            reply = await queue_reply(uow, 1, Author(AuthorType.AGENT, 1, "Sam"), "still in the queue")
            await uow.commit()
        assert await _waiting_jobs(services) == 1
        async with db() as session:  # overdue: older than the sweeper's grace, but its job is only waiting
            await session.exec(
                sa.update(Message).where(Message.id == reply.id).values(created_at=WHEN)  # type: ignore[arg-type]
            )
            await session.commit()
        await outbox.sweep_once(services)
        assert await _waiting_jobs(services) == 1
    finally:
        await services.close()
