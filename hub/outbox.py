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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from connectors.base import FetchesAttachments, SendFailed
from connectors.http import close_shared_client
from connectors.registry import get_connector
from conversation import delivery, fast_delivery
from conversation.events import JOB_DELIVER, JOB_FETCH_ATTACHMENT, DomainEvent, Job
from conversation.models import Agent, Attachment, Conversation, Identity, Inbox, Message, utcnow
from conversation.types import Attachment as AttachmentData
from conversation.types import ChannelKind, ExternalIdentity, OutboundMessage, SendReceipt
from conversation.uow import UnitOfWork
from hub import features, metrics
from hub.inbox_cache import inbox_cache
from hub.services import Services
from hub.storage.engine import SessionFactory, create_autocommit_session_factory

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]


#: Inbound metadata a reply must carry back to its connector (e.g. Twilio's `whatsapp:` channel prefix).
_CARRIED_META = ("channel_prefix", "to")


def _carried_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    return {k: meta[k] for k in _CARRIED_META if meta and k in meta}


def _autocommit(services: Services) -> SessionFactory | None:
    """Sessions without BEGIN/COMMIT round trips (PostgreSQL), made once per process.

    Delivery state changes are single UPDATEs (claim, sent, failed) and the reads before a send are
    plain lookups, so each statement may commit on its own: that halves the round trips per delivery
    (bench/outbound.py profiled socket writes as the worker's main cost).
    """
    if "autocommit_sessions" not in services.extras:
        services.extras["autocommit_sessions"] = create_autocommit_session_factory(services.engine)
    return services.extras["autocommit_sessions"]  # type: ignore[no-any-return]


def _state_uow(services: Services) -> UnitOfWork:
    factory = _autocommit(services)
    return UnitOfWork(factory(), services.publish, services.enqueue) if factory else services.uow()


def _lookup_statements() -> tuple[Any, Any, Any]:
    """The send-context statements, built once with bound parameters (building them per send, with a
    fresh alias each time, cost ~1 ms of CPU: new column proxies, cache keys, ORM loaders)."""
    inbound = aliased(Message, name="inbound")
    newest_inbound = (
        sa.select(Message.id)  # type: ignore[call-overload]
        .where(
            Message.conversation_id == sa.bindparam("conversation_id"),
            Message.channel == sa.bindparam("channel"),
            Message.direction == "inbound",
        )
        .order_by(Message.id.desc())  # type: ignore[union-attr]
        .limit(1)
        .scalar_subquery()
    )
    context = (
        sa.select(  # type: ignore[call-overload]
            Conversation,
            Identity,
            Agent.name,
            inbound.created_at,
            inbound.meta,
            sa.exists().where(Attachment.message_id == sa.bindparam("message_id")),
        )
        .select_from(Conversation)
        .outerjoin(Identity, Identity.id == sa.bindparam("identity_id"))
        .outerjoin(Agent, Agent.id == sa.bindparam("author_id"))
        .outerjoin(inbound, inbound.id == newest_inbound)
        .where(Conversation.id == sa.bindparam("conversation_id"))
    )
    files = sa.select(Attachment).where(Attachment.message_id == sa.bindparam("message_id"))
    chain = (
        sa.select(Message.external_id)  # type: ignore[call-overload]
        .where(
            Message.conversation_id == sa.bindparam("conversation_id"),
            Message.channel == sa.bindparam("channel"),
            Message.external_id.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(Message.id)
    )
    return context, files, chain


_CONTEXT, _FILES, _CHAIN = _lookup_statements()


@dataclass(frozen=True, slots=True)
class SendContext:
    """What a send needs besides the message row and its inbox (from either path)."""

    conversation_found: bool
    subject: str | None = None
    ref_token: str | None = None
    recipient: ExternalIdentity | None = None
    author_name: str | None = None
    inbound_at: datetime | None = None
    inbound_meta: dict[str, Any] | None = None
    attachments: list[Any] = field(default_factory=list)  # rows with the attachment columns
    references: list[str] = field(default_factory=list)


def _recipient(
    address: str, display_name: str | None, email: str | None, phone: str | None, extra: Any
) -> ExternalIdentity:
    return ExternalIdentity(address=address, name=display_name, email=email, phone=phone, extra=dict(extra or {}))


async def _lookup(session: Any, row: Any) -> SendContext:
    """What a send needs besides the row, in one statement for a chat reply.

    Conversation, recipient, author and the newest inbound message on the reply's channel (its time and
    carried meta) are outer-joined lookups by key (the inbox comes from `hub.inbox_cache`); attachments are
    read only when the row has some, and the References chain only for email (the one channel that threads
    by it).
    """
    keys = {
        "message_id": row.id,
        "conversation_id": row.conversation_id,
        "channel": row.channel,
        "identity_id": row.identity_id,
        "author_id": row.author_id if row.author_type == "agent" else None,
    }
    found = (await session.exec(_CONTEXT, params=keys)).first()
    if found is None:
        return SendContext(conversation_found=False)
    conversation, identity, author_name, inbound_at, inbound_meta, has_files = found
    attachments = list((await session.exec(_FILES, params=keys)).scalars().all()) if has_files else []
    references: list[str] = []
    if row.channel == ChannelKind.EMAIL.value:
        references = [r for r in (await session.exec(_CHAIN, params=keys)).scalars().all() if r]
    recipient = (
        _recipient(identity.address, identity.display_name, identity.email, identity.phone, identity.extra)
        if identity
        else None
    )
    return SendContext(
        True, conversation.subject, conversation.ref_token, recipient, author_name, inbound_at, inbound_meta,
        attachments, references,
    )  # fmt: skip


async def _outbound(services: Services, row: Any, context: SendContext) -> OutboundMessage:
    """Everything the connector needs to send `row`."""
    if not context.conversation_found:
        raise SendFailed("the conversation of this message no longer exists", retryable=False)
    files = []
    for att in context.attachments:
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
    return OutboundMessage(
        message_id=row.id,
        conversation_id=row.conversation_id,
        channel_kind=ChannelKind(row.channel),
        inbox_id=row.inbox_id,
        recipient=context.recipient or ExternalIdentity(address=""),
        text=row.text,
        html=row.html,
        subject=row.subject or context.subject,
        attachments=tuple(files),
        external_thread_ref=row.external_thread_ref,
        in_reply_to_external_id=row.in_reply_to,
        references=tuple(context.references),
        thread_token=context.ref_token,
        author_name=context.author_name or (row.meta or {}).get("bot_name"),
        last_inbound_at=context.inbound_at,
        meta={**_carried_meta(context.inbound_meta), **(row.meta or {})},
    )


async def _send(services: Services, row: Any, context: SendContext) -> SendReceipt:
    """Hand the message to its connector; `SendFailed` says whether a retry may help."""
    found = await inbox_cache(services).get(row.inbox_id)
    if found is None:
        raise SendFailed("the inbox of this message no longer exists", retryable=False)
    inbox, config = found
    connector = get_connector(inbox.kind)
    if connector is None:
        raise SendFailed(f"sending on {inbox.kind} is not available in this version", retryable=False)
    return await connector.send(await _outbound(services, row, context), config)


def _policy(services: Services) -> delivery.RetryPolicy:
    settings = services.settings
    return delivery.RetryPolicy(max_attempts=settings.send_max_attempts, base_seconds=settings.send_retry_base_seconds)


async def deliver_message(services: Services, message_id: int) -> None:
    """Send one queued message (the `deliver_message` job)."""
    if services.raw.is_sqlite:
        await _deliver_general(services, message_id)
    else:
        await _deliver_fast(services, message_id)


async def _fast_context(connection: Any, claimed: fast_delivery.Claimed) -> SendContext:
    """The claim's context, plus attachments (when it has some) and the References chain (email)."""
    row = claimed.row
    return SendContext(
        claimed.conversation_found,
        claimed.conversation_subject,
        claimed.ref_token,
        _recipient(**claimed.recipient) if claimed.recipient else None,
        claimed.author_name,
        claimed.inbound_at,
        claimed.inbound_meta,
        await fast_delivery.attachments(connection, row.id) if claimed.has_attachments else [],
        await fast_delivery.references(connection, row) if row.channel == ChannelKind.EMAIL.value else [],
    )


async def _deliver_fast(services: Services, message_id: int) -> None:
    """PostgreSQL: claim + context in one autocommit statement on the hot-path pool, outcome in one more."""
    now = utcnow()
    lease = timedelta(seconds=services.settings.stuck_sending_seconds)
    async with services.raw.connection() as connection:
        claimed = await fast_delivery.claim(connection, message_id, now=now, lease_until=now + lease)
        if claimed is None:
            return
        row = claimed.row
        context = await _fast_context(connection, claimed)
    await services.publish([claimed.event])
    try:
        receipt = await _send(services, row, context)
    except SendFailed as exc:
        async with services.raw.connection() as connection:
            outcome, event = await fast_delivery.record_attempt_failed(
                connection, row, exc.reason, retryable=exc.retryable, policy=_policy(services), now=utcnow()
            )
        await _after_failure(services, row, exc, outcome.retry, [outcome.job] if outcome.job else [], [event])
        return
    except Exception as exc:  # a bug or an unexpected SDK error: retry, and say what happened
        await _unexpected(services, row, exc)
        return
    async with services.raw.connection() as connection:
        event = await fast_delivery.record_sent(connection, row, receipt, utcnow())
    await services.publish([event])
    metrics.SENDS.labels(row.channel, "sent").inc()


async def _after_failure(
    services: Services, row: Any, exc: SendFailed, retrying: bool, jobs: list[Job], events: list[DomainEvent]
) -> None:
    if jobs:
        await services.enqueue(jobs)
    await services.publish(events)
    metrics.SENDS.labels(row.channel, "retry" if retrying else "failed").inc()
    log.info("send failed", extra={"message_id": row.id, "retryable": exc.retryable, "reason": exc.reason})


async def _unexpected(services: Services, row: Any, exc: Exception) -> None:
    log.exception("unexpected error sending message %s", row.id)
    async with services.uow() as uow:
        await delivery.record_attempt_failed(
            uow, row, f"internal error: {exc.__class__.__name__}", retryable=True, policy=_policy(services)
        )
        await uow.commit()
    metrics.SENDS.labels(row.channel, "error").inc()


async def _deliver_general(services: Services, message_id: int) -> None:
    """Through a SQLAlchemy session (SQLite, where the raw writer connection is the ingest path's)."""
    lease = timedelta(seconds=services.settings.stuck_sending_seconds)
    async with _state_uow(services) as uow:
        row = await delivery.claim_for_sending(uow, message_id, lease)
        # The send's context is read on the claim's connection: one pool checkout (and ping) fewer.
        context = await _lookup(uow.session, row) if row is not None else None
        await uow.commit()
    if row is None or context is None:
        return
    try:
        receipt = await _send(services, row, context)
    except SendFailed as exc:
        async with _state_uow(services) as uow:
            retrying = await delivery.record_attempt_failed(
                uow, row, exc.reason, retryable=exc.retryable, policy=_policy(services)
            )
            await uow.commit()
        await _after_failure(services, row, exc, retrying, [], [])
        return
    except Exception as exc:  # a bug or an unexpected SDK error: retry, and say what happened
        await _unexpected(services, row, exc)
        return
    async with _state_uow(services) as uow:
        await delivery.record_sent(uow, row, receipt)
        await uow.commit()
    metrics.SENDS.labels(row.channel, "sent").inc()


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
        # The key of the job each row is waiting for (`deliver:<id>:<attempts>`, see replies/delivery): a
        # job still waiting in a backlog dedupes the sweep's, so a busy worker is not handed every
        # overdue row twice (the old `:sweep` key added up to 500 duplicate jobs a pass in bench/outbound.py).
        attempts = dict(
            (await uow.session.exec(sa.select(Message.id, Message.attempts).where(Message.id.in_(ids)))).all()  # type: ignore[call-overload,union-attr]
            if ids
            else []
        )
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
    jobs = [Job(JOB_DELIVER, {"message_id": i}, key=f"deliver:{i}:{attempts.get(i, 0)}") for i in ids]
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
        await close_shared_client()
