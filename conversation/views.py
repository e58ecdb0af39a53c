"""The JSON shapes of messages, conversations and customers, shared by the API and live events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conversation.models import Agent, Attachment, Conversation, Customer, Identity, Message, Order


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with a UTC offset, or None."""
    return value.isoformat() if value else None


def customer_display_name(customer: Customer | None) -> str:
    """What to call a customer when they have not told us their name."""
    if customer is None:
        return "Unknown"
    return customer.name or customer.email or customer.phone or f"Customer #{customer.id}"


def agent_ref(agent: Agent | None) -> dict[str, Any] | None:
    """`{id, name, email}` of an agent, or None."""
    if agent is None:
        return None
    return {"id": agent.id, "name": agent.name, "email": agent.email, "avatar_url": agent.avatar_url}


def attachment_view(att: Attachment) -> dict[str, Any]:
    """An attachment as the API shows it (bytes are fetched from `url`)."""
    return {
        "id": att.id,
        "filename": att.filename,
        "content_type": att.content_type,
        "size": att.size,
        "status": att.status,
        "inline": att.inline,
        "url": f"/api/v1/attachments/{att.id}" if att.status == "stored" else None,
    }


def author_view(
    message: Message, customer_name: str | None, agents: Mapping[int, Agent], bot_name: str = "Bot"
) -> dict[str, Any]:
    """`{type, id, name}` of whoever wrote `message`."""
    if message.author_type == "customer":
        return {"type": "customer", "id": message.author_id, "name": customer_name}
    if message.author_type == "agent":
        agent = agents.get(message.author_id or -1)
        return {"type": "agent", "id": message.author_id, "name": agent.name if agent else None}
    if message.author_type == "bot":
        return {"type": "bot", "id": None, "name": message.meta.get("bot_name") or bot_name}
    return {"type": message.author_type, "id": None, "name": None}


def message_view(
    message: Message,
    *,
    customer_name: str | None = None,
    agents: Mapping[int, Agent] | None = None,
    attachments: Sequence[Attachment] = (),
    full: bool = False,
) -> dict[str, Any]:
    """A message as CONTRACT.md describes it. `full` adds the untrimmed email body and provider meta."""
    view: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "inbox_id": message.inbox_id,
        "direction": message.direction,
        "channel": message.channel,
        "author": author_view(message, customer_name, agents or {}),
        "text": message.text,
        "html": message.html,
        "subject": message.subject,
        "attachments": [attachment_view(a) for a in attachments],
        "status": message.status,
        "error": message.error,
        "attempts": message.attempts,
        "external_id": message.external_id,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "delivered_at": iso(message.delivered_at),
        "read_at": iso(message.read_at),
        "edited_at": iso(message.edited_at),
        "private": message.direction == "note",
        "has_full_text": bool(message.full_text and message.full_text != message.text),
    }
    if full:
        view["full_text"] = message.full_text
        view["meta"] = {k: v for k, v in message.meta.items() if not k.startswith("_")}
    return view


def last_message_view(conversation: Conversation | Any) -> dict[str, Any] | None:
    """The list preview of a conversation's last message, from its denormalised columns."""
    if conversation.last_message_id is None:
        return None
    return {
        "id": conversation.last_message_id,
        "text": conversation.last_message_text,
        "direction": conversation.last_message_direction,
        "channel": conversation.last_message_channel,
        "author_type": conversation.last_message_author_type,
        "created_at": iso(conversation.last_activity_at),
    }


def conversation_summary(
    conversation: Conversation | Any, customer_name: str | None, assignee: dict[str, Any] | None
) -> dict[str, Any]:
    """A conversation (model or raw row) as a list row: everything a console needs to place and draw it.

    `assignee` is `agent_ref(agent)` (or an equivalent dict) so callers holding only a row can pass it.
    """
    return {
        "id": conversation.id,
        "inbox_id": conversation.inbox_id,
        "status": conversation.status,
        "priority": conversation.priority,
        "subject": conversation.subject,
        "customer": {"id": conversation.customer_id, "name": customer_name},
        "assignee": assignee,
        "assignee_id": conversation.assignee_id,
        "team_id": conversation.team_id,
        "last_message": last_message_view(conversation),
        "channels": list(conversation.channels),
        "tags": list(conversation.tags),
        "unread": conversation.unread_count,
        "message_count": conversation.message_count,
        "waiting_since": iso(conversation.waiting_since),
        "snoozed_until": iso(conversation.snoozed_until),
        "bot": {"handed_off": bool((conversation.bot_state or {}).get("handed_off"))},
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "last_activity_at": iso(conversation.last_activity_at),
    }


def identity_view(identity: Identity) -> dict[str, Any]:
    """`{channel, address, ...}` of one identity."""
    return {
        "id": identity.id,
        "channel": identity.channel_kind,
        "address": identity.address,
        "name": identity.display_name,
        "verified": identity.verified,
        "email": identity.email,
        "phone": identity.phone,
    }


def order_view(order: Order) -> dict[str, Any]:
    """An order as CONTRACT.md describes it."""
    return {
        "id": order.id,
        "number": order.number,
        "store": order.store,
        "source": order.source,
        "customer": {"id": order.customer_id, "email": order.email, "phone": order.phone},
        "status": order.status,
        "items": order.items,
        "total": order.total,
        "subtotal": order.subtotal,
        "currency": order.currency,
        "placed_at": iso(order.placed_at),
        "updated_at": iso(order.updated_at),
        "shipping_address": order.shipping_address,
        "fulfillment": {
            "status": order.fulfillment_status,
            "carrier": order.carrier,
            "tracking_number": order.tracking_number,
            "tracking_url": order.tracking_url,
            "eta": iso(order.eta),
        },
        "fulfillments": order.fulfillments,
    }


def customer_view(customer: Customer) -> dict[str, Any]:
    """The profile fields of a customer (identities, orders, conversations are added by callers)."""
    return {
        "id": customer.id,
        "name": customer.name,
        "display_name": customer_display_name(customer),
        "email": customer.email,
        "phone": customer.phone,
        "avatar_url": customer.avatar_url,
        "attributes": customer.attributes,
        "merged_into_id": customer.merged_into_id,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
    }
