"""The outbound worker: sends queued messages through their connector, records the outcome, sweeps.

A job carries only a message id; the message row says whether and what to send. `claim_for_sending`
lets exactly one worker take a row, a failed attempt is re-queued with backoff or marked `failed`, and
the sweeper re-enqueues rows whose job was lost (Redis restart, crash mid-send).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from connectors.base import FetchesAttachments, SendFailed
from connectors.registry import get_connector
from conversation import delivery
from conversation.events import JOB_DELIVER, JOB_FETCH_ATTACHMENT, Job
from conversation.models import Agent, Attachment, Conversation, Identity, Inbox, Message, utcnow
from conversation.types import Attachment as AttachmentData
from conversation.types import ChannelKind, ExternalIdentity, OutboundMessage
from hub import features
from hub.services import Services

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]


#: Inbound metadata a reply must carry back to its connector (e.g. Twilio's `whatsapp:` channel prefix).
_CARRIED_META = ("channel_prefix", "to")


def _carried_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    return {k: meta[k] for k in _CARRIED_META if meta and k in meta}


async def _outbound(services: Services, row: Any) -> tuple[OutboundMessage, Inbox]:
    """Everything the connector needs to send `row`, read in one short session."""
    async with services.sessions() as session:
        inbox = await session.get(Inbox, row.inbox_id)
        identity = await session.get(Identity, row.identity_id) if row.identity_id else None
        conversation = await session.get(Conversation, row.conversation_id)
        author = await session.get(Agent, row.author_id) if row.author_type == "agent" and row.author_id else None
        attachments = (await session.exec(select(Attachment).where(Attachment.message_id == row.id))).all()
        last_inbound = (
            await session.exec(
                sa.select(Message.created_at, Message.meta)  # type: ignore[call-overload]
                .where(
                    Message.conversation_id == row.conversation_id,
                    Message.channel == row.channel,
                    Message.direction == "inbound",
                )
                .order_by(Message.id.desc())  # type: ignore[union-attr]
                .limit(1)
            )
        ).first()
        references = (
            (
                await session.exec(
                    sa.select(Message.external_id)  # type: ignore[call-overload]
                    .where(
                        Message.conversation_id == row.conversation_id,
                        Message.channel == row.channel,
                        Message.external_id.is_not(None),
                    )  # type: ignore[union-attr]
                    .order_by(Message.id)
                )
            )
            .scalars()
            .all()
        )
    if inbox is None or conversation is None:
        raise SendFailed("the inbox or conversation of this message no longer exists", retryable=False)
    files = []
    for att in attachments:
        content = await services.store.get(att.storage_key) if att.storage_key else None
        files.append(
            AttachmentData(
                filename=att.filename,
                content_type=att.content_type,
                size=att.size,
                content=content,
                source_url=att.source_url,
            )
        )
    recipient = ExternalIdentity(
        address=identity.address if identity else "",
        name=identity.display_name if identity else None,
        email=identity.email if identity else None,
        phone=identity.phone if identity else None,
        extra=dict(identity.extra) if identity else {},
    )
    message = OutboundMessage(
        message_id=row.id,
        conversation_id=row.conversation_id,
        channel_kind=ChannelKind(row.channel),
        inbox_id=row.inbox_id,
        recipient=recipient,
        text=row.text,
        html=row.html,
        subject=row.subject or conversation.subject,
        attachments=tuple(files),
        external_thread_ref=row.external_thread_ref,
        in_reply_to_external_id=row.in_reply_to,
        references=tuple(r for r in references if r),
        thread_token=conversation.ref_token,
        author_name=author.name if author else (row.meta or {}).get("bot_name"),
        last_inbound_at=last_inbound[0] if last_inbound else None,
        meta={**_carried_meta(last_inbound[1] if last_inbound else None), **(row.meta or {})},
    )
    return message, inbox


async def deliver_message(services: Services, message_id: int) -> None:
    """Send one queued message (the `deliver_message` job)."""
    settings = services.settings
    policy = delivery.RetryPolicy(
        max_attempts=settings.send_max_attempts, base_seconds=settings.send_retry_base_seconds
    )
    lease = timedelta(seconds=settings.stuck_sending_seconds)
    async with services.uow() as uow:
        row = await delivery.claim_for_sending(uow, message_id, lease)
        await uow.commit()
    if row is None:
        return
    try:
        outbound, inbox = await _outbound(services, row)
        connector = get_connector(inbox.kind)
        if connector is None:
            raise SendFailed(f"sending on {inbox.kind} is not available in this version", retryable=False)
        receipt = await connector.send(outbound, services.inbox_config(inbox))
    except SendFailed as exc:
        async with services.uow() as uow:
            await delivery.record_attempt_failed(uow, row, exc.reason, retryable=exc.retryable, policy=policy)
            await uow.commit()
        log.info("send failed", extra={"message_id": message_id, "retryable": exc.retryable, "reason": exc.reason})
        return
    except Exception as exc:  # a bug or an unexpected SDK error: retry, and say what happened
        log.exception("unexpected error sending message %s", message_id)
        async with services.uow() as uow:
            await delivery.record_attempt_failed(
                uow, row, f"internal error: {exc.__class__.__name__}", retryable=True, policy=policy
            )
            await uow.commit()
        return
    async with services.uow() as uow:
        await delivery.record_sent(uow, row, receipt)
        await uow.commit()


async def fetch_attachment(services: Services, attachment_id: int) -> None:
    """Download an attachment through its provider's API into the store (the `fetch_attachment` job)."""
    async with services.sessions() as session:
        att = await session.get(Attachment, attachment_id)
        if att is None or att.status != "pending":
            return
        message = await session.get(Message, att.message_id)
        inbox = await session.get(Inbox, message.inbox_id) if message else None
    connector = get_connector(inbox.kind) if inbox else None
    status, key, size, error = "failed", None, None, "this channel cannot download attachments"
    if inbox is not None and isinstance(connector, FetchesAttachments):
        data = AttachmentData(
            filename=att.filename, content_type=att.content_type, source_url=att.source_url, source_ref=att.source_ref
        )
        try:
            content = await connector.fetch_attachment(
                data, services.inbox_config(inbox), services.settings.max_attachment_bytes
            )
        except ValueError:
            status, error = "too_large", f"larger than {services.settings.max_attachment_bytes // (1024 * 1024)} MB"
        except SendFailed as exc:
            error = exc.reason
        else:
            key, size, status, error = await services.store.put(content), len(content), "stored", None
    async with services.sessions() as session:
        await session.exec(
            sa.update(Attachment)
            .where(Attachment.id == attachment_id)
            .values(status=status, storage_key=key, size=size, error=error)  # type: ignore[arg-type]
        )
        await session.commit()


async def sweep_once(services: Services) -> int:
    """Re-enqueue outbound messages and attachments whose job was lost. Returns how many."""
    async with services.uow() as uow:
        ids = await delivery.stuck_messages(uow, grace=timedelta(seconds=services.settings.sweeper_grace_seconds))
        pending = (
            (
                await uow.session.exec(
                    sa.select(Attachment.id).where(
                        Attachment.status == "pending", Attachment.created_at < utcnow() - timedelta(minutes=2)
                    )  # type: ignore[call-overload]
                )
            )
            .scalars()
            .all()
        )
        await uow.commit()
    jobs = [Job(JOB_DELIVER, {"message_id": i}, key=f"deliver:{i}:sweep") for i in ids]
    jobs += [Job(JOB_FETCH_ATTACHMENT, {"attachment_id": i}, key=f"att:{i}") for i in pending]
    if jobs:
        await services.enqueue(jobs)
    return len(jobs)


def job_handlers(services: Services) -> dict[str, Handler]:
    """The job name -> handler table workers run (other features register theirs in `services.extras`)."""
    handlers: dict[str, Handler] = {
        JOB_DELIVER: lambda message_id: deliver_message(services, message_id),
        JOB_FETCH_ATTACHMENT: lambda attachment_id: fetch_attachment(services, attachment_id),
    }
    handlers.update(features.job_handlers(services))
    return handlers


class Worker:
    """Queue workers plus the sweeper, inside `serve` (embedded default) or `omnihub worker`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._sweeper: asyncio.Task[None] | None = None
        self._background: list[features.BackgroundTask] = []

    async def start(self) -> None:
        await self.services.queue.start_workers(job_handlers(self.services), self.services.settings.worker_concurrency)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="omnihub-sweeper")
        self._background = features.background_tasks(self.services)
        for task in self._background:
            await task.start()

    async def _sweep_forever(self) -> None:
        interval = self.services.settings.sweeper_interval_seconds
        while True:
            try:
                await sweep_once(self.services)
            except Exception:
                log.exception("sweeper pass failed")
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        for task in reversed(self._background):
            try:
                await task.stop()
            except Exception:
                log.exception("stopping %s failed", type(task).__name__)
        self._background = []
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.services.queue.close()
