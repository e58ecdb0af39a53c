"""Threading: which conversation an inbound message joins (DESIGN.md, decision 1)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.models import Agent, Conversation, Message
from conversation.types import ConversationStatus, InboundMessage

_conv = Conversation.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_agent = Agent.__table__  # type: ignore[attr-defined]

#: Columns the ingest path reads to place a message and to describe the conversation afterwards.
_CONV_COLUMNS = (
    _conv.c.id,
    _conv.c.status,
    _conv.c.resolved_at,
    _conv.c.last_activity_at,
    _conv.c.customer_id,
    _conv.c.channels,
)


@dataclass(frozen=True, slots=True)
class ThreadChoice:
    """Where a message goes: an existing conversation (maybe reopened) or a new one (id None)."""

    conversation_id: int | None
    reopen: bool = False
    was_status: str | None = None
    channels: tuple[str, ...] = ()


def new_ref_token() -> str:
    """A random, unguessable conversation token for reply+token email addresses and links."""
    return secrets.token_hex(10)


def _within(window: timedelta, since: datetime | None, now: datetime) -> bool:
    return since is not None and now - since <= window


async def _referenced_conversation(session: AsyncSession, msg: InboundMessage) -> Any | None:
    """The conversation an email-style reply points to: token first, then In-Reply-To/References."""
    if msg.thread_token:
        row = (await session.exec(sa.select(*_CONV_COLUMNS).where(_conv.c.ref_token == msg.thread_token))).first()
        if row is not None:
            return row
    refs = [r for r in (msg.in_reply_to_external_id, *reversed(msg.references)) if r]
    if not refs:
        return None
    # The newest message among the references decides; our outbound Message-IDs are stored as external ids.
    conversation_id = (
        await session.exec(
            sa.select(_msg.c.conversation_id).where(_msg.c.external_id.in_(refs)).order_by(_msg.c.id.desc()).limit(1)
        )
    ).scalar()
    if conversation_id is None:
        return None
    return (await session.exec(sa.select(*_CONV_COLUMNS).where(_conv.c.id == conversation_id))).first()


async def _latest_for_customer(session: AsyncSession, customer_id: int) -> Any | None:
    """The customer's most recent unresolved conversation, else their most recent one."""
    return (
        await session.exec(
            sa.select(*_CONV_COLUMNS)
            .where(_conv.c.customer_id == customer_id)
            .order_by((_conv.c.status == ConversationStatus.RESOLVED.value).asc(), _conv.c.last_activity_at.desc())
            .limit(1)
        )
    ).first()


def _decide(row: Any | None, msg: InboundMessage, now: datetime, reopen_window: timedelta) -> ThreadChoice:
    if row is None:
        return ThreadChoice(conversation_id=None)
    channels = tuple(row.channels or ())
    if row.status != ConversationStatus.RESOLVED.value:
        return ThreadChoice(conversation_id=row.id, was_status=row.status, channels=channels)
    if _within(reopen_window, row.resolved_at or row.last_activity_at, now):
        # Auto-replies join the thread for the record but never reopen it.
        return ThreadChoice(row.id, reopen=not msg.is_auto_reply, was_status=row.status, channels=channels)
    return ThreadChoice(conversation_id=None)


async def choose_thread(
    session: AsyncSession, customer_id: int, msg: InboundMessage, now: datetime, reopen_window: timedelta
) -> ThreadChoice:
    """Pick the conversation for `msg` from `customer_id`.

    Explicit reply references (email headers, reply tokens) win; otherwise the customer's latest
    unresolved conversation on any channel; a resolved one reopens within `reopen_window`; else new.
    """
    referenced = await _referenced_conversation(session, msg) if _has_references(msg) else None
    if referenced is not None:
        return _decide(referenced, msg, now, reopen_window)
    return _decide(await _latest_for_customer(session, customer_id), msg, now, reopen_window)


def _has_references(msg: InboundMessage) -> bool:
    return bool(msg.thread_token or msg.in_reply_to_external_id or msg.references)


async def assignee_name(session: AsyncSession, agent_id: int | None) -> dict[str, Any] | None:
    """`{id, name, email}` of an assignee for event payloads."""
    if agent_id is None:
        return None
    row = (
        await session.exec(sa.select(_agent.c.id, _agent.c.name, _agent.c.email).where(_agent.c.id == agent_id))
    ).first()
    return None if row is None else {"id": row.id, "name": row.name, "email": row.email, "avatar_url": None}
