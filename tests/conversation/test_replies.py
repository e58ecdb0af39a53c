"""Replies and their delivery state: queued rows, channel choice, retries, sweeping, provider reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from conversation import delivery
from conversation.events import JOB_DELIVER, MESSAGE_UPDATED
from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import Conversation, Inbox, Message
from conversation.replies import Author, ReplyRejected, queue_reply
from conversation.types import (
    AuthorType,
    ChannelKind,
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    InboundMessage,
    SendReceipt,
)
from conversation.uow import UnitOfWork
from hub.storage.engine import SessionFactory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENT = Author(AuthorType.AGENT, None, "Sam")


@pytest.fixture
async def thread(db: SessionFactory) -> dict[str, int]:
    """A customer who wrote on SMS and then on Telegram (one conversation); inbox ids and its id."""
    async with db() as session:
        sms, tg, wa = (
            Inbox(kind="sms", name="sms"),
            Inbox(kind="telegram", name="tg"),
            Inbox(kind="whatsapp", name="wa"),
        )
        session.add_all([sms, tg, wa])
        await session.commit()
    ids = {"sms": int(sms.id or 0), "telegram": int(tg.id or 0), "whatsapp": int(wa.id or 0)}
    deliveries = [
        (ChannelKind.SMS, "SM1", ExternalIdentity(address="+15555550123")),
        (ChannelKind.TELEGRAM, "55:1", ExternalIdentity(address="55", phone="+15555550123")),
    ]
    for kind, ext, sender in deliveries:
        msg = InboundMessage(
            channel_kind=kind, inbox_id=ids[kind.value], external_message_id=ext, sender=sender, text="hi", sent_at=T0,
            external_thread_ref="55" if kind == ChannelKind.TELEGRAM else None,
        )  # fmt: skip
        async with UnitOfWork(db()) as uow:
            result = await receive_inbound(uow, msg, InboxPolicy(id=msg.inbox_id, kind=kind), now=T0)
            await uow.commit()
    ids["conversation"] = int(result.conversation_id or 0)
    return ids


async def _reply(
    db: SessionFactory, conversation_id: int, text: str = "hello", **kw: object
) -> tuple[Message, UnitOfWork]:
    async with UnitOfWork(db()) as uow:
        message = await queue_reply(uow, conversation_id, AGENT, text, now=T0 + timedelta(minutes=1), **kw)  # type: ignore[arg-type]
        jobs, events = list(uow.jobs), list(uow.events)
        await uow.commit()
        uow.jobs, uow.events = jobs, events
        return message, uow


async def test_reply_defaults_to_the_last_inbound_channel_and_is_queued_with_a_job(
    db: SessionFactory, thread: dict[str, int]
) -> None:
    message, uow = await _reply(db, thread["conversation"])
    assert (message.channel, message.inbox_id, message.status, message.external_thread_ref) == (
        "telegram",
        thread["telegram"],
        "queued",
        "55",
    )
    assert message.in_reply_to == "55:1"
    assert [(j.name, j.kwargs) for j in uow.jobs] == [(JOB_DELIVER, {"message_id": message.id})]
    async with db() as session:
        conversation = await session.get(Conversation, thread["conversation"])
        assert conversation is not None
        assert conversation.waiting_since is None and conversation.bot_state.get("handed_off") is True
        assert conversation.last_message_direction == "outbound"


async def test_explicit_channel_must_be_one_the_customer_has(db: SessionFactory, thread: dict[str, int]) -> None:
    message, _ = await _reply(db, thread["conversation"], channel="sms")
    assert (message.channel, message.inbox_id) == ("sms", thread["sms"])
    with pytest.raises(ReplyRejected, match="no whatsapp identity"):
        await _reply(db, thread["conversation"], channel="whatsapp")
    with pytest.raises(ReplyRejected) as missing:
        await _reply(db, 999_999)
    assert missing.value.status_code == 404
    with pytest.raises(ReplyRejected, match="empty"):
        await _reply(db, thread["conversation"], text="   ")


async def test_private_notes_never_leave(db: SessionFactory, thread: dict[str, int]) -> None:
    note, uow = await _reply(db, thread["conversation"], text="VIP, be nice", private=True)
    assert (note.direction, note.channel, note.status) == ("note", "note", "received")
    assert uow.jobs == []


async def test_retry_policy_backs_off_exponentially() -> None:
    policy = delivery.RetryPolicy(max_attempts=5, base_seconds=2.0)
    assert [policy.delay(n) for n in range(1, 5)] == [2.0, 8.0, 32.0, 128.0]


async def test_claim_retry_fail_and_send_transitions(db: SessionFactory, thread: dict[str, int]) -> None:
    message, _ = await _reply(db, thread["conversation"])
    policy = delivery.RetryPolicy(max_attempts=2, base_seconds=1.0)
    lease = timedelta(minutes=2)
    async with UnitOfWork(db()) as uow:
        row = await delivery.claim_for_sending(uow, message.id or 0, lease, now=T0)
        again = await delivery.claim_for_sending(uow, message.id or 0, lease, now=T0)
        assert row is not None and again is None  # exactly one worker wins
        assert await delivery.record_attempt_failed(
            uow, row, "503 from provider", retryable=True, policy=policy, now=T0
        )
        assert [j.delay_seconds for j in uow.jobs] == [1.0]
        await uow.commit()
    async with UnitOfWork(db()) as uow:
        assert await delivery.claim_for_sending(uow, message.id or 0, lease, now=T0) is None  # not due yet
        row = await delivery.claim_for_sending(uow, message.id or 0, lease, now=T0 + timedelta(seconds=2))
        assert row is not None and row.attempts == 2
        assert not await delivery.record_attempt_failed(uow, row, "503 again", retryable=True, policy=policy, now=T0)
        await uow.commit()
    async with db() as session:
        stored = await session.get(Message, message.id)
        assert stored is not None and (stored.status, stored.error, stored.attempts) == ("failed", "503 again", 2)
    async with UnitOfWork(db()) as uow:
        assert await delivery.retry_failed(uow, message.id or 0)
        row = await delivery.claim_for_sending(uow, message.id or 0, lease)
        await delivery.record_sent(uow, row, SendReceipt(external_message_id="55:99"))
        await uow.commit()
        assert [e.type for e in uow.events] == []  # published and cleared by commit
    async with db() as session:
        stored = await session.get(Message, message.id)
        assert stored is not None and (stored.status, stored.external_id, stored.error) == ("sent", "55:99", None)


async def test_provider_reports_only_move_forward(db: SessionFactory, thread: dict[str, int]) -> None:
    message, _ = await _reply(db, thread["conversation"])
    async with UnitOfWork(db()) as uow:
        row = await delivery.claim_for_sending(uow, message.id or 0, timedelta(minutes=1))
        await delivery.record_sent(uow, row, SendReceipt(external_message_id="55:100"))
        await uow.commit()

    def report(status: DeliveryStatus) -> DeliveryUpdate:
        return DeliveryUpdate(ChannelKind.TELEGRAM, thread["telegram"], "55:100", status, T0 + timedelta(minutes=5))

    async with UnitOfWork(db()) as uow:
        assert await delivery.apply_delivery_update(uow, report(DeliveryStatus.READ))
        assert not await delivery.apply_delivery_update(uow, report(DeliveryStatus.DELIVERED))  # late: ignored
        assert not await delivery.apply_delivery_update(uow, report(DeliveryStatus.READ))  # repeated: ignored
        assert [e.type for e in uow.events] == [MESSAGE_UPDATED]
        await uow.commit()
    async with db() as session:
        stored = (await session.exec(select(Message).where(Message.id == message.id))).one()
        assert stored.status == "read" and stored.read_at == T0 + timedelta(minutes=5)


async def test_sweeper_finds_queued_rows_whose_job_was_lost_and_abandoned_sends(
    db: SessionFactory, thread: dict[str, int]
) -> None:
    lost, _ = await _reply(db, thread["conversation"], text="lost job")
    abandoned, _ = await _reply(db, thread["conversation"], text="worker crashed")
    async with UnitOfWork(db()) as uow:
        await delivery.claim_for_sending(uow, abandoned.id or 0, timedelta(seconds=30), now=T0 + timedelta(minutes=1))
        await uow.commit()
    async with UnitOfWork(db()) as uow:
        early = await delivery.stuck_messages(uow, now=T0 + timedelta(minutes=1, seconds=5))
        assert early == []  # fresh rows have their job in flight
        later = await delivery.stuck_messages(uow, now=T0 + timedelta(minutes=2))
        await uow.commit()
    assert later == sorted([lost.id, abandoned.id])
