"""Watermark reports (Messenger read/delivery): every reply to that customer sent up to the mark moves on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conversation import delivery
from conversation.events import MESSAGE_UPDATED, DomainEvent
from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import Inbox, Message
from conversation.replies import Author, queue_reply
from conversation.types import AuthorType, ChannelKind, DeliveryStatus, ExternalIdentity, InboundMessage, SendReceipt
from conversation.uow import UnitOfWork
from hub.storage.engine import SessionFactory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENT = Author(AuthorType.AGENT, None, "Sam")


async def _inbox(db: SessionFactory) -> int:
    async with db() as session:
        inbox = Inbox(kind="messenger", name="page")
        session.add(inbox)
        await session.commit()
        return int(inbox.id or 0)


async def _customer_thread(db: SessionFactory, inbox_id: int, psid: str) -> int:
    message = InboundMessage(
        channel_kind=ChannelKind.MESSENGER, inbox_id=inbox_id, external_message_id=f"m_in_{psid}",
        sender=ExternalIdentity(address=psid), text="hi", sent_at=T0, external_thread_ref=psid,
    )  # fmt: skip
    async with UnitOfWork(db()) as uow:
        result = await receive_inbound(uow, message, InboxPolicy(id=inbox_id, kind="messenger"), now=T0)
        await uow.commit()
    return int(result.conversation_id or 0)


async def _reply(db: SessionFactory, conversation_id: int, sent_at: datetime | None, mid: str) -> int:
    """A reply the provider accepted at `sent_at` (None: it failed for good)."""
    async with UnitOfWork(db()) as uow:
        message = await queue_reply(uow, conversation_id, AGENT, mid, now=T0)
        await uow.commit()
    message_id = int(message.id or 0)
    async with UnitOfWork(db()) as uow:
        row = await delivery.claim_for_sending(uow, message_id, timedelta(minutes=2), now=T0)
        if sent_at is None:
            policy = delivery.RetryPolicy(max_attempts=1)
            await delivery.record_attempt_failed(uow, row, "refused", retryable=False, policy=policy, now=T0)
        else:
            await delivery.record_sent(uow, row, SendReceipt(mid), now=sent_at)
        await uow.commit()
    return message_id


async def _statuses(db: SessionFactory, *ids: int) -> list[tuple[str, datetime | None, datetime | None]]:
    async with db() as session:
        rows = [await session.get(Message, i) for i in ids]
    return [(r.status, r.delivered_at, r.read_at) for r in rows if r is not None]


@pytest.fixture
async def replies(db: SessionFactory) -> dict[str, int]:
    """Ada (PSID A) got replies at T0+1 min and T0+5 min and one that failed; Bob (PSID B) one at T0+1 min."""
    inbox = await _inbox(db)
    ada = await _customer_thread(db, inbox, "A")
    bob = await _customer_thread(db, inbox, "B")
    return {
        "inbox": inbox,
        "first": await _reply(db, ada, T0 + timedelta(minutes=1), "m_1"),
        "second": await _reply(db, ada, T0 + timedelta(minutes=5), "m_2"),
        "failed": await _reply(db, ada, None, "m_3"),
        "bob": await _reply(db, bob, T0 + timedelta(minutes=1), "m_4"),
    }


async def _watermark(
    db: SessionFactory, inbox_id: int, psid: str, up_to: datetime, status: DeliveryStatus
) -> tuple[int, list[DomainEvent]]:
    """Apply one watermark in its own unit of work: (messages moved, events recorded for after commit)."""
    async with UnitOfWork(db()) as uow:
        moved = await delivery.apply_delivery_watermark(uow, inbox_id, psid, up_to, status)
        events = list(uow.events)
        await uow.commit()
    return moved, events


async def test_read_watermark_covers_every_reply_to_that_customer_up_to_it(
    db: SessionFactory, replies: dict[str, int]
) -> None:
    mark = T0 + timedelta(minutes=10)
    moved, events = await _watermark(db, replies["inbox"], "A", mark, DeliveryStatus.READ)
    assert moved == 2
    assert await _statuses(db, replies["first"], replies["second"]) == [("read", None, mark), ("read", None, mark)]
    assert await _statuses(db, replies["failed"], replies["bob"]) == [("failed", None, None), ("sent", None, None)]
    assert [(e.type, e.data["message"]["id"], e.data["message"]["status"]) for e in events] == [
        (MESSAGE_UPDATED, replies["first"], "read"),
        (MESSAGE_UPDATED, replies["second"], "read"),
    ]
    assert events[0].data["message"]["read_at"] == mark.isoformat()


async def test_only_replies_sent_up_to_the_mark_move(db: SessionFactory, replies: dict[str, int]) -> None:
    mark = T0 + timedelta(minutes=3)
    moved, _ = await _watermark(db, replies["inbox"], "A", mark, DeliveryStatus.DELIVERED)
    assert moved == 1
    assert await _statuses(db, replies["first"], replies["second"]) == [("delivered", mark, None), ("sent", None, None)]
    # Exactly at the mark counts as covered ("at or before").
    moved, _ = await _watermark(db, replies["inbox"], "A", T0 + timedelta(minutes=5), DeliveryStatus.DELIVERED)
    assert moved == 1


async def test_repeated_or_older_reports_never_move_a_message_back(db: SessionFactory, replies: dict[str, int]) -> None:
    mark = T0 + timedelta(minutes=10)
    await _watermark(db, replies["inbox"], "A", mark, DeliveryStatus.READ)
    again = await _watermark(db, replies["inbox"], "A", mark, DeliveryStatus.READ)
    late_delivery = await _watermark(db, replies["inbox"], "A", mark, DeliveryStatus.DELIVERED)
    assert again == late_delivery == (0, [])
    assert [s for s, _, _ in await _statuses(db, replies["first"], replies["second"])] == ["read", "read"]


async def test_another_inbox_with_the_same_psid_is_not_touched(db: SessionFactory, replies: dict[str, int]) -> None:
    other = await _inbox(db)
    assert await _watermark(db, other, "A", T0 + timedelta(hours=1), DeliveryStatus.READ) == (0, [])
    assert [s for s, _, _ in await _statuses(db, replies["first"], replies["second"])] == ["sent", "sent"]
