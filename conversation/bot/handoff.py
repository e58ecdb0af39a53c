"""Handing a conversation from the bot to the team (and back): state, tag, activity line, event.

A handed-off conversation has `bot_state.handed_off = true` (ingest then never runs a bot in it again),
the tag `bot:handoff` (a view for "the bot gave these up"), an activity line saying why, and its
`waiting_since` set back to the customer's message: the bot's own reply did not answer the customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conversation.events import CONVERSATION_UPDATED, MESSAGE_CREATED, DomainEvent
from conversation.models import Conversation, ConversationTag, Customer, Message, utcnow
from conversation.sql import insert_or_ignore
from conversation.threads import assignee_name
from conversation.types import AuthorType, DeliveryStatus, Direction
from conversation.uow import UnitOfWork
from conversation.views import conversation_summary, iso, message_view

HANDOFF_TAG = "bot:handoff"

#: Why the bot stepped back, as the activity line tells agents.
REASONS = {
    "requested": "the customer asked for a person",
    "other": "the message is not an order-status question",
    "low_confidence": "the bot was not sure what was asked",
    "unhelpful": "the bot could not help twice",
    "verification_failed": "the visitor could not confirm the order's email or postcode",
    "external": "the external bot handed over",
    "external_failed": "the external bot could not be reached",
    "agent": "an agent took over",
    "unanswerable": "the bot cannot reply on this channel",
}

_conv = Conversation.__table__  # type: ignore[attr-defined]
_tag = ConversationTag.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]


async def _summary(uow: UnitOfWork, row: Any) -> dict[str, Any]:
    name = (await uow.session.exec(sa.select(_customer.c.name).where(_customer.c.id == row.customer_id))).scalar()
    return conversation_summary(row, name, await assignee_name(uow.session, row.assignee_id))


async def _activity(uow: UnitOfWork, row: Any, text: str, summary: dict[str, Any], now: datetime) -> None:
    line = Message(
        conversation_id=row.id,
        inbox_id=row.inbox_id,
        channel="system",
        direction=Direction.SYSTEM.value,
        author_type=AuthorType.SYSTEM.value,
        text=text,
        status=DeliveryStatus.RECEIVED.value,
        created_at=now,
    )
    uow.session.add(line)
    await uow.session.flush()
    uow.record(
        DomainEvent(MESSAGE_CREATED, {"message": message_view(line), "conversation": summary}, row.inbox_id, row.id)
    )


async def hand_off(
    uow: UnitOfWork,
    conversation_id: int,
    reason: str,
    *,
    bot_name: str = "The bot",
    waiting_since: datetime | None = None,
    state: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Mark the conversation for humans. Returns its new summary (None if it was handed off already).

    `state` is merged into `bot_state` (the bot's last turn); `waiting_since` is the customer message the
    team now owes an answer to.
    """
    now = now or utcnow()
    row = (await uow.session.exec(sa.select(*_conv.c).where(_conv.c.id == conversation_id))).first()
    if row is None or (row.bot_state or {}).get("handed_off"):
        return None
    bot_state = {
        **(row.bot_state or {}),
        **(state or {}),
        "handed_off": True,
        "handoff_reason": reason,
        "handed_off_at": iso(now),
    }
    values: dict[str, Any] = {"bot_state": bot_state, "updated_at": now}
    if HANDOFF_TAG not in (row.tags or []):
        values["tags"] = [*(row.tags or []), HANDOFF_TAG]
        await uow.session.exec(
            insert_or_ignore(uow.session, _tag, ["conversation_id", "tag"]).values(
                conversation_id=conversation_id, tag=HANDOFF_TAG
            )
        )
    if waiting_since is not None and row.waiting_since is None:
        values["waiting_since"] = waiting_since
    updated = (
        await uow.session.exec(
            sa.update(_conv).where(_conv.c.id == conversation_id).values(**values).returning(*_conv.c)
        )
    ).one()
    summary = await _summary(uow, updated)
    why = REASONS.get(reason, reason)
    await _activity(uow, updated, f"{bot_name} handed the conversation to the team: {why}", summary, now)
    uow.record(
        DomainEvent(
            CONVERSATION_UPDATED,
            {"conversation": summary, "changes": sorted({"bot", *(["tags"] if "tags" in values else [])})},
            updated.inbox_id,
            updated.id,
        )
    )
    return summary


async def resume_bot(uow: UnitOfWork, conversation_id: int, *, now: datetime | None = None) -> dict[str, Any] | None:
    """Give a conversation back to the bot (an agent's choice). Returns the summary (None if unchanged)."""
    now = now or utcnow()
    row = (await uow.session.exec(sa.select(*_conv.c).where(_conv.c.id == conversation_id))).first()
    if row is None or not (row.bot_state or {}).get("handed_off"):
        return None
    # A fresh start: the old turn counters and questions no longer apply.
    bot_state = {k: v for k, v in (row.bot_state or {}).items() if k in ("language", "verified_orders")}
    tags = [t for t in row.tags or [] if t != HANDOFF_TAG]
    await uow.session.exec(sa.delete(_tag).where(_tag.c.conversation_id == conversation_id, _tag.c.tag == HANDOFF_TAG))
    updated = (
        await uow.session.exec(
            sa.update(_conv)
            .where(_conv.c.id == conversation_id)
            .values(bot_state=bot_state, tags=tags, updated_at=now)
            .returning(*_conv.c)
        )
    ).one()
    summary = await _summary(uow, updated)
    await _activity(uow, updated, "The conversation was given back to the bot", summary, now)
    uow.record(
        DomainEvent(
            CONVERSATION_UPDATED, {"conversation": summary, "changes": ["bot", "tags"]}, updated.inbox_id, updated.id
        )
    )
    return summary
