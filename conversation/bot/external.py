"""What an external agent bot receives for one inbound message (the body of the signed webhook)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conversation.models import Conversation, Customer, Identity, Inbox, Message, Order, utcnow
from conversation.types import AuthorType, Direction
from conversation.uow import UnitOfWork
from conversation.views import iso

EVENT = "message.created"
MAX_ORDERS = 10

_conv = Conversation.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_inbox = Inbox.__table__  # type: ignore[attr-defined]
_order = Order.__table__  # type: ignore[attr-defined]


def _order_summary(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status,
        "placed_at": iso(row.placed_at),
        "total": row.total,
        "currency": row.currency,
        "items": [{"name": i.get("name"), "quantity": i.get("quantity")} for i in row.items or []],
        "fulfillment": {
            "status": row.fulfillment_status,
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "tracking_url": row.tracking_url,
            "eta": iso(row.eta),
        },
    }


async def _customer_view(uow: UnitOfWork, customer_id: int, identity_id: int | None) -> dict[str, Any]:
    customer = (await uow.session.exec(sa.select(*_customer.c).where(_customer.c.id == customer_id))).one()
    identity = None
    if identity_id is not None:
        identity = (await uow.session.exec(sa.select(*_identity.c).where(_identity.c.id == identity_id))).first()
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        # The channel address the message came from; `verified: false` (anonymous web chat) means the
        # sender has not proven they own this profile's orders: do not disclose them without a check.
        "identity": None
        if identity is None
        else {"channel": identity.channel_kind, "address": identity.address, "verified": identity.verified},
    }


async def _orders(uow: UnitOfWork, customer_id: int) -> list[dict[str, Any]]:
    placed = sa.func.coalesce(_order.c.placed_at, _order.c.created_at)
    rows = await uow.session.exec(
        sa.select(*_order.c).where(_order.c.customer_id == customer_id).order_by(placed.desc()).limit(MAX_ORDERS)
    )
    return [_order_summary(row) for row in rows.all()]


async def agent_bot_payload(
    uow: UnitOfWork, message_id: int, *, api_base: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """The webhook body for inbound message `message_id`, or None when no bot should see it.

    None when the message is gone or not from the customer, or a human has the conversation
    (assigned, or handed off). `api_base` is the hub's public URL, for the reply and handoff links.
    """
    message = (await uow.session.exec(sa.select(*_msg.c).where(_msg.c.id == message_id))).first()
    if message is None or message.direction != Direction.INBOUND.value:
        return None
    if message.author_type != AuthorType.CUSTOMER.value or (message.meta or {}).get("auto_reply"):
        return None
    conversation = (await uow.session.exec(sa.select(*_conv.c).where(_conv.c.id == message.conversation_id))).one()
    if conversation.assignee_id is not None or (conversation.bot_state or {}).get("handed_off"):
        return None
    inbox = (await uow.session.exec(sa.select(_inbox.c.id, _inbox.c.kind, _inbox.c.name).where(
        _inbox.c.id == conversation.inbox_id))).one()  # fmt: skip
    url = f"{api_base}/api/v1/conversations/{conversation.id}"
    return {
        "event": EVENT,
        "id": f"message-{message.id}",
        "sent_at": iso(now or utcnow()),
        "inbox": {"id": inbox.id, "kind": inbox.kind, "name": inbox.name},
        "conversation": {
            "id": conversation.id,
            "status": conversation.status,
            "channels": list(conversation.channels or []),
            "created_at": iso(conversation.created_at),
        },
        "message": {
            "id": message.id,
            "channel": message.channel,
            "text": message.text,
            "subject": message.subject,
            "created_at": iso(message.created_at),
        },
        "customer": await _customer_view(uow, conversation.customer_id, message.identity_id),
        "orders": await _orders(uow, conversation.customer_id),
        "reply": {"method": "POST", "url": f"{url}/messages", "body": {"text": "..."}},
        "handoff": {"method": "PATCH", "url": url, "body": {"bot_handoff": True}},
    }
