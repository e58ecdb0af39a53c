"""queue_reply(): validate an agent's (or the bot's) reply and store it as a queued row plus a job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conversation.events import JOB_DELIVER, MESSAGE_CREATED, DomainEvent, Job
from conversation.ingest import preview
from conversation.models import Agent, Attachment, Conversation, Customer, Identity, Inbox, Message, utcnow
from conversation.threads import assignee_name
from conversation.types import AuthorType, DeliveryStatus, Direction
from conversation.uow import UnitOfWork
from conversation.views import conversation_summary, message_view

_conv = Conversation.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_inbox = Inbox.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]

MAX_REPLY_CHARS = 20_000


class ReplyRejected(ValueError):
    """The reply cannot be queued as asked (unknown conversation, channel the customer lacks...)."""

    def __init__(self, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """Where a reply goes: which inbox sends it, to which identity, in which provider thread."""

    channel: str
    inbox_id: int
    identity_id: int | None
    external_thread_ref: str | None
    in_reply_to: str | None


@dataclass(frozen=True, slots=True)
class Author:
    """Who replies: an agent (id, name) or the bot."""

    type: AuthorType
    id: int | None = None
    name: str | None = None


async def _last_inbound(uow: UnitOfWork, conversation_id: int, channel: str | None) -> Any | None:
    query = sa.select(
        _msg.c.channel, _msg.c.inbox_id, _msg.c.identity_id, _msg.c.external_thread_ref, _msg.c.external_id
    ).where(_msg.c.conversation_id == conversation_id, _msg.c.direction == Direction.INBOUND.value)
    if channel is not None:
        query = query.where(_msg.c.channel == channel)
    return (await uow.session.exec(query.order_by(_msg.c.id.desc()).limit(1))).first()


async def _route_without_history(uow: UnitOfWork, customer_id: int, channel: str, prefer_inbox: int) -> ReplyRoute:
    """A channel the customer has an identity on but has not used in this thread."""
    identity_id = (
        await uow.session.exec(
            sa.select(_identity.c.id)
            .where(_identity.c.customer_id == customer_id, _identity.c.channel_kind == channel)
            .order_by(_identity.c.last_seen_at.desc().nulls_last(), _identity.c.id.desc())
            .limit(1)
        )
    ).scalar()
    if identity_id is None:
        raise ReplyRejected(f"the customer has no {channel} identity to reply to")
    inbox_ids = (
        await uow.session.exec(
            sa.select(_inbox.c.id).where(_inbox.c.kind == channel, _inbox.c.is_active.is_(True)).order_by(_inbox.c.id)
        )
    ).all()
    if not inbox_ids:
        raise ReplyRejected(f"no {channel} inbox is connected to send from")
    ids = [row[0] for row in inbox_ids]
    inbox_id = prefer_inbox if prefer_inbox in ids else ids[0]
    return ReplyRoute(channel, inbox_id, identity_id, None, None)


async def route_reply(uow: UnitOfWork, conversation: Any, channel: str | None) -> ReplyRoute:
    """Pick the channel for a reply: by default the channel of the last inbound message.

    An explicit `channel` must be one the customer has an identity on (else `ReplyRejected`, 422).
    """
    last = await _last_inbound(uow, conversation.id, channel)
    if last is not None:
        return ReplyRoute(last.channel, last.inbox_id, last.identity_id, last.external_thread_ref, last.external_id)
    if channel is None:
        inbox_kind = (
            await uow.session.exec(sa.select(_inbox.c.kind).where(_inbox.c.id == conversation.inbox_id))
        ).scalar()
        channel = str(inbox_kind)
    return await _route_without_history(uow, conversation.customer_id, channel, conversation.inbox_id)


async def _load_conversation(uow: UnitOfWork, conversation_id: int) -> Any:
    row = (await uow.session.exec(sa.select(*_conv.c).where(_conv.c.id == conversation_id))).first()
    if row is None:
        raise ReplyRejected("conversation not found", status_code=404)
    return row


async def queue_reply(
    uow: UnitOfWork,
    conversation_id: int,
    author: Author,
    text: str,
    *,
    channel: str | None = None,
    private: bool = False,
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """Store a reply as `queued` (or a private note) and defer its delivery job.

    The row is the truth: the job only triggers the send, and a sweeper re-enqueues rows whose job was
    lost. Notes never leave the hub. A human reply marks the thread as taken over (the bot stops).
    `attachments` are unsaved rows whose bytes are already in the attachment store (`storage_key`).
    """
    now = now or utcnow()
    text = text.strip()
    if not text and not attachments:
        raise ReplyRejected("text must not be empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyRejected(f"text is longer than {MAX_REPLY_CHARS} characters")
    conversation = await _load_conversation(uow, conversation_id)
    if private:
        route = ReplyRoute("note", conversation.inbox_id, None, None, None)
    else:
        route = await route_reply(uow, conversation, channel)
    message = Message(
        conversation_id=conversation_id,
        inbox_id=route.inbox_id,
        channel=route.channel,
        direction=Direction.NOTE.value if private else Direction.OUTBOUND.value,
        author_type=author.type.value,
        author_id=author.id,
        identity_id=route.identity_id,
        text=text,
        external_thread_ref=route.external_thread_ref,
        in_reply_to=route.in_reply_to,
        status=DeliveryStatus.RECEIVED.value if private else DeliveryStatus.QUEUED.value,
        meta=dict(meta or {}),
        created_at=now,
    )
    uow.session.add(message)
    await uow.session.flush()
    assert message.id is not None
    for attachment in attachments:
        attachment.message_id = message.id
        uow.session.add(attachment)
    if attachments:
        await uow.session.flush()
    updated = await _touch_after_reply(uow, conversation, message, author, now)
    if not private:
        uow.defer(Job(JOB_DELIVER, {"message_id": message.id}, key=f"deliver:{message.id}:0"))
    agents = {author.id: Agent(id=author.id, name=author.name or "", email="", password_hash="")} if author.id else {}
    customer_name = (
        await uow.session.exec(sa.select(_customer.c.name).where(_customer.c.id == conversation.customer_id))
    ).scalar()
    summary = conversation_summary(updated, customer_name, await assignee_name(uow.session, updated.assignee_id))
    uow.record(
        DomainEvent(
            MESSAGE_CREATED,
            {
                "message": message_view(message, customer_name=customer_name, agents=agents, attachments=attachments),
                "conversation": summary,
            },
            updated.inbox_id,
            conversation_id,
        )
    )
    return message


async def _touch_after_reply(
    uow: UnitOfWork, conversation: Any, message: Message, author: Author, now: datetime
) -> Any:
    c = _conv.c
    values: dict[str, Any] = {
        "last_message_id": message.id,
        "last_message_text": preview(message.text),
        "last_message_direction": message.direction,
        "last_message_channel": message.channel,
        "last_message_author_type": message.author_type,
        "last_activity_at": now,
        "updated_at": now,
        "message_count": c.message_count + 1,
    }
    if message.direction == Direction.OUTBOUND.value:
        values["waiting_since"] = None  # answered
        if author.type == AuthorType.AGENT:
            values["bot_state"] = {**(conversation.bot_state or {}), "handed_off": True}
    statement = sa.update(_conv).where(c.id == conversation.id).values(**values).returning(*_conv.c)
    return (await uow.session.exec(statement)).one()
