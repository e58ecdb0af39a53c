"""Customer profiles: merging two profiles into one, undoing a merge, merge suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conversation.events import CUSTOMER_UPDATED, DomainEvent
from conversation.models import (
    Agent,
    AuditEvent,
    Conversation,
    Customer,
    Identity,
    MergeSuggestion,
    Message,
    Order,
    utcnow,
)
from conversation.uow import UnitOfWork
from conversation.views import customer_view

_customer = Customer.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]
_order = Order.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_suggestion = MergeSuggestion.__table__  # type: ignore[attr-defined]
_audit = AuditEvent.__table__  # type: ignore[attr-defined]

MERGE_ACTION = "customer.merged"
UNMERGE_ACTION = "customer.unmerged"


class MergeRejected(ValueError):
    """A merge or undo that cannot happen (422 with this reason, 404 for unknown customers)."""

    def __init__(self, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.status_code = status_code


async def _ids(uow: UnitOfWork, table: sa.Table, column: str, customer_id: int) -> list[int]:
    rows = await uow.session.exec(sa.select(table.c.id).where(table.c[column] == customer_id))
    return sorted(int(r[0]) for r in rows.all())


async def _move(uow: UnitOfWork, table: sa.Table, column: str, ids: list[int], to_customer: int) -> None:
    if ids:
        await uow.session.exec(sa.update(table).where(table.c.id.in_(ids)).values({column: to_customer}))


async def _customer_row(uow: UnitOfWork, customer_id: int) -> Any:
    row = (await uow.session.exec(sa.select(*_customer.c).where(_customer.c.id == customer_id))).first()
    if row is None:
        raise MergeRejected(f"customer {customer_id} not found", status_code=404)
    return row


async def merge_customers(
    uow: UnitOfWork, keep_id: int, other_id: int, actor: Agent | None, now: datetime | None = None
) -> int:
    """Move everything of `other_id` (identities, conversations, messages' authorship, orders) onto
    `keep_id`, and mark `other_id` as merged into it. Returns the audit event id that undoes it.
    """
    now = now or utcnow()
    if keep_id == other_id:
        raise MergeRejected("cannot merge a customer into itself")
    keep, other = await _customer_row(uow, keep_id), await _customer_row(uow, other_id)
    if keep.merged_into_id is not None or other.merged_into_id is not None:
        raise MergeRejected("one of these customers was already merged into another")
    moved = {
        "identities": await _ids(uow, _identity, "customer_id", other_id),
        "conversations": await _ids(uow, _conv, "customer_id", other_id),
        "orders": await _ids(uow, _order, "customer_id", other_id),
    }
    await _move(uow, _identity, "customer_id", moved["identities"], keep_id)
    await _move(uow, _conv, "customer_id", moved["conversations"], keep_id)
    await _move(uow, _order, "customer_id", moved["orders"], keep_id)
    await uow.session.exec(
        sa.update(_msg).where(_msg.c.author_type == "customer", _msg.c.author_id == other_id).values(author_id=keep_id)
    )
    filled = {
        field: getattr(other, field)
        for field in ("name", "email", "phone", "avatar_url")
        if getattr(keep, field) is None and getattr(other, field) is not None
    }
    await uow.session.exec(sa.update(_customer).where(_customer.c.id == keep_id).values(updated_at=now, **filled))
    await uow.session.exec(
        sa.update(_customer).where(_customer.c.id == other_id).values(merged_into_id=keep_id, updated_at=now)
    )
    await uow.session.exec(
        sa.update(_suggestion)
        .where(
            sa.or_(
                sa.and_(_suggestion.c.customer_id == keep_id, _suggestion.c.other_customer_id == other_id),
                sa.and_(_suggestion.c.customer_id == other_id, _suggestion.c.other_customer_id == keep_id),
            )
        )
        .values(status="merged")
    )
    audit = (
        await uow.session.exec(
            sa.insert(_audit)
            .values(
                actor_type="agent" if actor else "system",
                actor_id=actor.id if actor else None,
                action=MERGE_ACTION,
                subject_type="customer",
                subject_id=keep_id,
                data={"kept": keep_id, "merged": other_id, "moved": moved, "filled": sorted(filled)},
                created_at=now,
            )
            .returning(_audit.c.id)
        )
    ).scalar_one()
    await _record_customer(uow, keep_id, moved["conversations"])
    return int(audit)


async def undo_merge(uow: UnitOfWork, audit_id: int, actor: Agent | None, now: datetime | None = None) -> int:
    """Put back exactly what a merge moved; returns the restored customer's id."""
    now = now or utcnow()
    row = (await uow.session.exec(sa.select(*_audit.c).where(_audit.c.id == audit_id))).first()
    if row is None or row.action != MERGE_ACTION:
        raise MergeRejected("no such merge", status_code=404)
    if row.data.get("undone"):
        raise MergeRejected("this merge was already undone")
    kept, merged, moved = row.data["kept"], row.data["merged"], row.data["moved"]
    await _move(uow, _identity, "customer_id", moved["identities"], merged)
    await _move(uow, _conv, "customer_id", moved["conversations"], merged)
    await _move(uow, _order, "customer_id", moved["orders"], merged)
    await uow.session.exec(
        sa.update(_msg)
        .where(_msg.c.author_type == "customer", _msg.c.identity_id.in_(moved["identities"] or [-1]))
        .values(author_id=merged)
    )
    blank = {field: None for field in row.data.get("filled", [])}
    await uow.session.exec(sa.update(_customer).where(_customer.c.id == kept).values(updated_at=now, **blank))
    await uow.session.exec(
        sa.update(_customer).where(_customer.c.id == merged).values(merged_into_id=None, updated_at=now)
    )
    await uow.session.exec(sa.update(_audit).where(_audit.c.id == audit_id).values(data={**row.data, "undone": True}))
    uow.session.add(
        AuditEvent(
            actor_type="agent" if actor else "system",
            actor_id=actor.id if actor else None,
            action=UNMERGE_ACTION,
            subject_type="customer",
            subject_id=merged,
            data={"undid": audit_id, "kept": kept, "merged": merged},
            created_at=now,
        )
    )
    await _record_customer(uow, kept, moved["conversations"])
    await _record_customer(uow, merged, moved["conversations"])
    return int(merged)


async def _record_customer(uow: UnitOfWork, customer_id: int, conversation_ids: list[int]) -> None:
    customer = await _customer_row(uow, customer_id)
    inbox_rows = (
        await uow.session.exec(sa.select(_conv.c.id, _conv.c.inbox_id).where(_conv.c.customer_id == customer_id))
    ).all()
    view = customer_view(Customer(**customer._mapping))
    for conversation_id, inbox_id in inbox_rows:
        uow.record(DomainEvent(CUSTOMER_UPDATED, {"customer": view}, int(inbox_id), int(conversation_id)))
    if not inbox_rows:
        uow.record(DomainEvent(CUSTOMER_UPDATED, {"customer": view}))


async def open_suggestions(uow: UnitOfWork, customer_id: int) -> list[dict[str, Any]]:
    """Open merge suggestions involving `customer_id`, with the other customer's name."""
    # One statement: the other customer's name is joined, not fetched per suggestion.
    other = sa.case(
        (_suggestion.c.customer_id == customer_id, _suggestion.c.other_customer_id), else_=_suggestion.c.customer_id
    )
    rows = await uow.session.exec(
        sa.select(_suggestion.c.id, other.label("other_id"), _customer.c.name, _suggestion.c.reason)
        .select_from(_suggestion.outerjoin(_customer, _customer.c.id == other))
        .where(
            _suggestion.c.status == "open",
            sa.or_(_suggestion.c.customer_id == customer_id, _suggestion.c.other_customer_id == customer_id),
        )
        .order_by(_suggestion.c.id)
    )
    return [
        {"id": sid, "other_customer": {"id": other_id, "name": name}, "reason": reason}
        for sid, other_id, name, reason in rows.all()
    ]
