"""receive_inbound(): identity -> customer -> thread -> message, in one transaction, idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conversation.events import (
    CONVERSATION_CREATED,
    JOB_BOT,
    JOB_FETCH_ATTACHMENT,
    MESSAGE_CREATED,
    MESSAGE_UPDATED,
    DomainEvent,
    Job,
)
from conversation.html import attachment_url, link_inline_images, sanitize_html
from conversation.identities import ResolvedSender, resolve_sender
from conversation.models import Attachment, Conversation, Message, utcnow
from conversation.sql import insert_or_ignore
from conversation.threads import ThreadChoice, assignee_name, choose_thread, new_ref_token
from conversation.types import AuthorType, ConversationStatus, DeliveryStatus, Direction, InboundMessage
from conversation.uow import UnitOfWork
from conversation.views import conversation_summary, iso

_conv = Conversation.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_att = Attachment.__table__  # type: ignore[attr-defined]

PREVIEW_CHARS = 280
DEFAULT_REOPEN_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class InboxPolicy:
    """What ingest needs to know about the receiving inbox (the hub reads it with the inbox)."""

    id: int
    kind: str
    bot_enabled: bool = False
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW


@dataclass(slots=True)
class IngestResult:
    """The outcome of one inbound message."""

    message_id: int | None
    conversation_id: int | None
    duplicate: bool = False
    edited: bool = False
    created_conversation: bool = False
    customer_id: int | None = None
    events: list[DomainEvent] = field(default_factory=list)


def preview(text: str) -> str:
    """The one-line list preview of a message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


async def receive_inbound(
    uow: UnitOfWork, msg: InboundMessage, inbox: InboxPolicy, now: datetime | None = None
) -> IngestResult:
    """Store one inbound message in the customer's thread.

    Idempotent through the unique (inbox, external id): a repeated delivery returns `duplicate=True`
    and the caller must roll back (nothing of this call may persist). Edits replace the text of the
    message they edit. On success, events and jobs are recorded on `uow` for after the commit.
    """
    now = now or utcnow()
    if msg.is_edit:
        edited = await _apply_edit(uow, msg, now)
        if edited is not None:
            return edited
    sender = await resolve_sender(uow.session, msg.channel_kind, msg.sender, now)
    choice = await choose_thread(uow.session, sender.customer_id, msg, now, inbox.reopen_window)
    conversation_id = choice.conversation_id
    if conversation_id is None:
        conversation_id = await _create_conversation(uow, msg, sender, now)
    message_id = await _insert_message(uow, msg, sender, conversation_id, now)
    if message_id is None:
        return IngestResult(message_id=None, conversation_id=conversation_id, duplicate=True)
    inline_images = await _store_attachments(uow, msg, message_id, now)
    if inline_images and msg.html:
        msg = await _link_inline_images(uow, msg, message_id, inline_images)
    conversation = await _touch_conversation(uow, msg, conversation_id, message_id, choice, now)
    result = IngestResult(
        message_id=message_id,
        conversation_id=conversation_id,
        created_conversation=choice.conversation_id is None,
        customer_id=sender.customer_id,
    )
    await _record_events(uow, msg, sender, conversation, message_id, result, now)
    if inbox.bot_enabled and not msg.is_auto_reply and _bot_may_answer(conversation):
        uow.defer(Job(JOB_BOT, {"message_id": message_id}, key=f"bot:{message_id}"))
    return result


def _bot_may_answer(conversation: Any) -> bool:
    """The bot speaks only in threads no human has taken over."""
    return conversation.assignee_id is None and not (conversation.bot_state or {}).get("handed_off")


async def _create_conversation(uow: UnitOfWork, msg: InboundMessage, sender: ResolvedSender, now: datetime) -> int:
    result = await uow.session.exec(
        sa.insert(_conv)
        .values(
            inbox_id=msg.inbox_id,
            customer_id=sender.customer_id,
            status=ConversationStatus.OPEN.value,
            priority="none",
            subject=msg.subject[:500] if msg.subject else None,
            ref_token=new_ref_token(),
            channels=[],
            tags=[],
            unread_count=0,
            message_count=0,
            bot_state={},
            created_at=now,
            updated_at=now,
            last_activity_at=now,
        )
        .returning(_conv.c.id)
    )
    return int(result.scalar_one())


async def _insert_message(
    uow: UnitOfWork, msg: InboundMessage, sender: ResolvedSender, conversation_id: int, now: datetime
) -> int | None:
    meta: dict[str, Any] = dict(msg.meta)
    meta["sent_at"] = iso(msg.sent_at)
    if msg.is_auto_reply:
        meta["auto_reply"] = True
    result = await uow.session.exec(
        insert_or_ignore(uow.session, _msg, ["inbox_id", "external_id"])
        .values(
            conversation_id=conversation_id,
            inbox_id=msg.inbox_id,
            channel=msg.channel_kind.value,
            direction=Direction.INBOUND.value,
            author_type=AuthorType.CUSTOMER.value,
            author_id=sender.customer_id,
            identity_id=sender.identity_id,
            text=msg.text,
            html=sanitize_html(msg.html),
            full_text=msg.full_text,
            subject=msg.subject[:500] if msg.subject else None,
            external_id=msg.external_message_id,
            external_thread_ref=msg.external_thread_ref,
            in_reply_to=msg.in_reply_to_external_id,
            status=DeliveryStatus.RECEIVED.value,
            attempts=0,
            raw=msg.raw,
            meta=meta,
            created_at=now,
        )
        .returning(_msg.c.id)
    )
    message_id = result.scalar_one_or_none()
    return None if message_id is None else int(message_id)


async def _store_attachments(uow: UnitOfWork, msg: InboundMessage, message_id: int, now: datetime) -> dict[str, int]:
    """Attachment rows: bytes already stored by the hub, or `pending` with a fetch job.

    Returns the stored inline images by Content-ID (email `cid:` references), for `_link_inline_images`.
    """
    inline: dict[str, int] = {}
    for att in msg.attachments:
        pending = att.storage_key is None and (att.source_url or att.source_ref) and att.status == "stored"
        result = await uow.session.exec(
            sa.insert(_att)
            .values(
                message_id=message_id,
                filename=(att.filename or "attachment")[:300],
                content_type=(att.content_type or "application/octet-stream")[:200],
                size=att.size,
                storage_key=att.storage_key,
                source_url=att.source_url,
                source_ref=att.source_ref,
                content_id=att.content_id,
                inline=att.inline,
                status="pending" if pending else att.status,
                created_at=now,
            )
            .returning(_att.c.id)
        )
        attachment_id = int(result.scalar_one())
        if pending:
            uow.defer(Job(JOB_FETCH_ATTACHMENT, {"attachment_id": attachment_id}, key=f"att:{attachment_id}"))
        elif att.content_id and att.storage_key:
            inline[att.content_id] = attachment_id
    return inline


async def _link_inline_images(
    uow: UnitOfWork, msg: InboundMessage, message_id: int, inline: dict[str, int]
) -> InboundMessage:
    """Point the HTML's `cid:` images at their attachment rows, whose ids exist only now (after insert)."""
    html = link_inline_images(msg.html or "", {cid: attachment_url(att_id) for cid, att_id in inline.items()})
    if html != msg.html:
        await uow.session.exec(sa.update(_msg).where(_msg.c.id == message_id).values(html=sanitize_html(html)))
    return replace(msg, html=html)


async def _touch_conversation(
    uow: UnitOfWork, msg: InboundMessage, conversation_id: int, message_id: int, choice: ThreadChoice, now: datetime
) -> Any:
    """Move the conversation's denormalised state forward in one UPDATE ... RETURNING."""
    c = _conv.c
    values: dict[str, Any] = {
        "last_message_id": message_id,
        "last_message_text": preview(msg.text or (msg.attachments[0].filename if msg.attachments else "")),
        "last_message_direction": Direction.INBOUND.value,
        "last_message_channel": msg.channel_kind.value,
        "last_message_author_type": AuthorType.CUSTOMER.value,
        "last_activity_at": now,
        "last_inbound_at": now,
        "updated_at": now,
        "unread_count": c.unread_count + 1,
        "message_count": c.message_count + 1,
        "waiting_since": sa.func.coalesce(c.waiting_since, now),
    }
    if msg.channel_kind.value not in choice.channels:
        values["channels"] = [*choice.channels, msg.channel_kind.value]
    # A customer writing again reopens pending/snoozed threads, and resolved ones within the window.
    reopens = choice.reopen or choice.was_status in (ConversationStatus.PENDING, ConversationStatus.SNOOZED)
    if reopens and not msg.is_auto_reply:
        values.update(status=ConversationStatus.OPEN.value, snoozed_until=None, resolved_at=None)
    statement = sa.update(_conv).where(c.id == conversation_id).values(**values).returning(*_conv.c)
    return (await uow.session.exec(statement)).one()


def inbound_message_payload(
    msg: InboundMessage,
    message_id: int,
    conversation_id: int,
    customer_id: int,
    customer_name: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The `message` of a `message.created` event for a just-stored inbound message."""
    return {
        "id": message_id,
        "conversation_id": conversation_id,
        "inbox_id": msg.inbox_id,
        "direction": Direction.INBOUND.value,
        "channel": msg.channel_kind.value,
        "author": {"type": "customer", "id": customer_id, "name": customer_name},
        "text": msg.text,
        "html": sanitize_html(msg.html),
        "subject": msg.subject,
        "attachments": [{"filename": a.filename, "content_type": a.content_type} for a in msg.attachments],
        "status": DeliveryStatus.RECEIVED.value,
        "external_id": msg.external_message_id,
        "created_at": iso(now),
        "private": False,
    }


async def _record_events(
    uow: UnitOfWork,
    msg: InboundMessage,
    sender: ResolvedSender,
    conversation: Any,
    message_id: int,
    result: IngestResult,
    now: datetime,
) -> None:
    summary = conversation_summary(
        conversation, sender.customer_name, await assignee_name(uow.session, conversation.assignee_id)
    )
    message = inbound_message_payload(msg, message_id, conversation.id, sender.customer_id, sender.customer_name, now)
    if result.created_conversation:
        uow.record(DomainEvent(CONVERSATION_CREATED, {"conversation": summary}, conversation.inbox_id, conversation.id))
    event = DomainEvent(
        MESSAGE_CREATED, {"message": message, "conversation": summary}, conversation.inbox_id, conversation.id
    )
    uow.record(event)
    result.events.append(event)


async def _apply_edit(uow: UnitOfWork, msg: InboundMessage, now: datetime) -> IngestResult | None:
    """Replace the text of an edited message, keeping the previous versions in `meta.edits`."""
    row = (
        await uow.session.exec(
            sa.select(_msg.c.id, _msg.c.conversation_id, _msg.c.text, _msg.c.meta).where(
                _msg.c.inbox_id == msg.inbox_id, _msg.c.external_id == msg.external_message_id
            )
        )
    ).first()
    if row is None:
        return None  # the original never reached us: store the edited text as a new message
    if row.text == msg.text:
        return IngestResult(message_id=row.id, conversation_id=row.conversation_id, duplicate=True)
    meta = dict(row.meta or {})
    meta["edits"] = [*meta.get("edits", []), {"text": row.text, "replaced_at": iso(now)}]
    await uow.session.exec(
        sa.update(_msg)
        .where(_msg.c.id == row.id)
        .values(text=msg.text, html=sanitize_html(msg.html), edited_at=now, meta=meta)
    )
    conversation_inbox = (
        await uow.session.exec(sa.select(_conv.c.inbox_id).where(_conv.c.id == row.conversation_id))
    ).scalar()
    uow.record(
        DomainEvent(
            MESSAGE_UPDATED,
            {
                "message": {
                    "id": row.id,
                    "conversation_id": row.conversation_id,
                    "text": msg.text,
                    "html": sanitize_html(msg.html),
                    "edited_at": iso(now),
                    "edits": meta["edits"],
                }
            },
            conversation_inbox,
            row.conversation_id,
        )
    )
    return IngestResult(message_id=row.id, conversation_id=row.conversation_id, edited=True)
