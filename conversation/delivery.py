"""Outbound message state: claim for sending, record sent/retry/failed, apply provider status reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conversation.events import JOB_DELIVER, MESSAGE_UPDATED, DomainEvent, Job
from conversation.models import Conversation, Message, utcnow
from conversation.types import DELIVERY_RANK, DeliveryStatus, DeliveryUpdate, Direction, SendReceipt
from conversation.uow import UnitOfWork
from conversation.views import iso

_msg = Message.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]

_TIMESTAMP_FOR = {
    DeliveryStatus.SENT: "sent_at",
    DeliveryStatus.DELIVERED: "delivered_at",
    DeliveryStatus.READ: "read_at",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: base, base*4, base*16, ... capped, for `max_attempts` attempts in all."""

    max_attempts: int = 5
    base_seconds: float = 2.0
    factor: float = 4.0
    cap_seconds: float = 3600.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        return float(min(self.cap_seconds, self.base_seconds * self.factor ** max(0, attempt - 1)))


async def claim_for_sending(
    uow: UnitOfWork, message_id: int, lease: timedelta, now: datetime | None = None
) -> Any | None:
    """Take a queued message for sending (at most one worker wins); None when not ours to send.

    The lease (`next_attempt_at`) tells the sweeper when a `sending` row counts as abandoned.
    """
    now = now or utcnow()
    statement = (
        sa.update(_msg)
        .where(
            _msg.c.id == message_id,
            _msg.c.status == DeliveryStatus.QUEUED.value,
            sa.or_(_msg.c.next_attempt_at.is_(None), _msg.c.next_attempt_at <= now),
        )
        .values(status=DeliveryStatus.SENDING.value, attempts=_msg.c.attempts + 1, next_attempt_at=now + lease)
        .returning(*_msg.c)
    )
    row = (await uow.session.exec(statement)).first()
    if row is not None:
        _record_status(uow, row, DeliveryStatus.SENDING)
    return row


def status_event(row: Any, status: DeliveryStatus, **extra: Any) -> DomainEvent:
    """The `message.updated` event for a delivery state change of `row` (any object with the columns)."""
    data = {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "status": status.value,
        "attempts": row.attempts,
        **{k: iso(v) if isinstance(v, datetime) else v for k, v in extra.items()},
    }
    return DomainEvent(MESSAGE_UPDATED, {"message": data}, row.inbox_id, row.conversation_id)


def _record_status(uow: UnitOfWork, row: Any, status: DeliveryStatus, **extra: Any) -> None:
    uow.record(status_event(row, status, **extra))


def sent_values(receipt: SendReceipt, now: datetime) -> dict[str, Any]:
    """The columns a successful send sets (`external_thread_ref` only when the row has none yet)."""
    return {
        "status": receipt.status.value,
        "external_id": receipt.external_message_id,
        "sent_at": now,
        "next_attempt_at": None,
        "error": None,
    }


def sent_event(row: Any, receipt: SendReceipt, now: datetime) -> DomainEvent:
    return status_event(row, receipt.status, sent_at=now, external_id=receipt.external_message_id, error=None)


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """What a failed send leads to: a retry (with its job) or `failed` for good."""

    retry: bool
    status: DeliveryStatus
    next_attempt_at: datetime | None
    job: Job | None


def failed_attempt(row: Any, *, retryable: bool, policy: RetryPolicy, now: datetime) -> FailedAttempt:
    if retryable and row.attempts < policy.max_attempts:
        delay = policy.delay(row.attempts)
        job = Job(JOB_DELIVER, {"message_id": row.id}, key=f"deliver:{row.id}:{row.attempts}", delay_seconds=delay)
        return FailedAttempt(True, DeliveryStatus.QUEUED, now + timedelta(seconds=delay), job)
    return FailedAttempt(False, DeliveryStatus.FAILED, None, None)


def failed_event(row: Any, outcome: FailedAttempt, reason: str) -> DomainEvent:
    return status_event(row, outcome.status, error=reason, next_attempt_at=outcome.next_attempt_at)


async def record_sent(uow: UnitOfWork, row: Any, receipt: SendReceipt, now: datetime | None = None) -> None:
    """The provider took the message: keep its id (for status callbacks and email threading)."""
    now = now or utcnow()
    values = sent_values(receipt, now)
    if receipt.external_thread_ref and not row.external_thread_ref:
        values["external_thread_ref"] = receipt.external_thread_ref
    await uow.session.exec(
        sa.update(_msg).where(_msg.c.id == row.id, _msg.c.status == DeliveryStatus.SENDING.value).values(**values)
    )
    uow.record(sent_event(row, receipt, now))


async def record_attempt_failed(
    uow: UnitOfWork, row: Any, reason: str, *, retryable: bool, policy: RetryPolicy, now: datetime | None = None
) -> bool:
    """A send failed: queue a retry with backoff, or mark it `failed` for good. True if retrying."""
    outcome = failed_attempt(row, retryable=retryable, policy=policy, now=now or utcnow())
    if outcome.job is not None:
        uow.defer(outcome.job)
    values = {"status": outcome.status.value, "next_attempt_at": outcome.next_attempt_at, "error": reason}
    await uow.session.exec(sa.update(_msg).where(_msg.c.id == row.id).values(**values))
    uow.record(failed_event(row, outcome, reason))
    return outcome.retry


async def retry_failed(uow: UnitOfWork, message_id: int, now: datetime | None = None) -> bool:
    """An agent pressed "retry" on a failed message: queue it again from attempt zero."""
    now = now or utcnow()
    row = (
        await uow.session.exec(
            sa.update(_msg)
            .where(_msg.c.id == message_id, _msg.c.status == DeliveryStatus.FAILED.value)
            .values(status=DeliveryStatus.QUEUED.value, attempts=0, next_attempt_at=None, error=None)
            .returning(*_msg.c)
        )
    ).first()
    if row is None:
        return False
    uow.defer(Job(JOB_DELIVER, {"message_id": row.id}, key=f"deliver:{row.id}:retry:{now.timestamp()}"))
    _record_status(uow, row, DeliveryStatus.QUEUED, error=None)
    return True


async def apply_delivery_update(uow: UnitOfWork, update: DeliveryUpdate) -> bool:
    """Move an outbound message forward on a provider report; late or repeated reports change nothing.

    Returns False when no message of ours has that provider id (or the report is not newer).
    """
    row = (
        await uow.session.exec(
            sa.select(*_msg.c).where(
                _msg.c.inbox_id == update.inbox_id,
                _msg.c.external_id == update.external_message_id,
                _msg.c.direction == Direction.OUTBOUND.value,
            )
        )
    ).first()
    if row is None:
        return False
    current = DeliveryStatus(row.status)
    if DELIVERY_RANK[update.status] <= DELIVERY_RANK[current] and update.status != DeliveryStatus.FAILED:
        return False
    if current == update.status:
        return False
    values: dict[str, Any] = {"status": update.status.value}
    column = _TIMESTAMP_FOR.get(update.status)
    if column:
        values[column] = update.occurred_at
    if update.status == DeliveryStatus.FAILED:
        values["error"] = update.error or "the provider reported the message as failed"
    await uow.session.exec(sa.update(_msg).where(_msg.c.id == row.id).values(**values))
    extra = {k: v for k, v in values.items() if k != "status"}
    _record_status(uow, row, update.status, **extra)
    return True


async def apply_delivery_watermark(
    uow: UnitOfWork, inbox_id: int, thread_ref: str, up_to: datetime, status: DeliveryStatus
) -> int:
    """A report that names no message, only a time (Messenger read/delivery watermarks): every outbound
    message of that inbox to `thread_ref` sent at or before `up_to` reached `status`. Returns how many moved.

    `sent_at` is our clock when the provider accepted the message, a little after the provider's own
    timestamp; a message at the edge stays behind until the next watermark rather than being marked
    read too early. Messages already as far along (or failed) are left alone.
    """
    behind = [
        s.value for s in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED) if DELIVERY_RANK[s] < DELIVERY_RANK[status]
    ]
    if not behind:
        return 0
    rows = (
        await uow.session.exec(
            sa.select(*_msg.c).where(
                _msg.c.inbox_id == inbox_id,
                _msg.c.direction == Direction.OUTBOUND.value,
                _msg.c.external_thread_ref == thread_ref,
                _msg.c.status.in_(behind),
                _msg.c.sent_at <= up_to,
            )
        )
    ).all()
    values: dict[str, Any] = {"status": status.value}
    column = _TIMESTAMP_FOR.get(status)
    if column:
        values[column] = up_to
    moved = 0
    for row in rows:
        # Re-check the status in the UPDATE: a concurrent report may have moved the message further.
        statement = sa.update(_msg).where(_msg.c.id == row.id, _msg.c.status.in_(behind)).returning(_msg.c.id)
        if (await uow.session.exec(statement.values(**values))).first() is None:
            continue
        _record_status(uow, row, status, **{k: v for k, v in values.items() if k != "status"})
        moved += 1
    return moved


async def stuck_messages(
    uow: UnitOfWork, now: datetime | None = None, grace: timedelta = timedelta(seconds=10), limit: int = 500
) -> list[int]:
    """Ids of outbound messages whose job was lost: `queued` and overdue by `grace`, or `sending` past
    their lease. `sending` rows past their lease go back to `queued` first (their worker is gone).
    """
    now = now or utcnow()
    await uow.session.exec(
        sa.update(_msg)
        .where(_msg.c.status == DeliveryStatus.SENDING.value, _msg.c.next_attempt_at < now)
        .values(status=DeliveryStatus.QUEUED.value, next_attempt_at=None)
    )
    rows = await uow.session.exec(
        sa.select(_msg.c.id)
        .where(
            _msg.c.status == DeliveryStatus.QUEUED.value,
            sa.func.coalesce(_msg.c.next_attempt_at, _msg.c.created_at) <= now - grace,
        )
        .order_by(_msg.c.id)
        .limit(limit)
    )
    return [int(r[0]) for r in rows.all()]
