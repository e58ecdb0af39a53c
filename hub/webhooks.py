"""Public webhooks: `/webhooks/{kind}/{inbox_id}` — verify, parse, store, and only then answer 2xx."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import replace
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from connectors.base import (
    HandshakeReply,
    Headers,
    MalformedPayload,
    RawRequest,
    ResolvesProfiles,
    SignatureInvalid,
    UnsupportedEvent,
)
from connectors.registry import get_connector
from conversation import fast_ingest
from conversation.delivery import apply_delivery_update, apply_delivery_watermark
from conversation.identities import InvalidAddress, contact_keys, find_identity
from conversation.ingest import InboxPolicy, IngestResult, receive_inbound
from conversation.models import Inbox, utcnow
from conversation.types import Attachment, DeliveryUpdate, InboundMessage, OrderEvent
from hub import metrics
from hub.errors import ApiError
from hub.inbox_cache import InboxCache, inbox_cache
from hub.services import WEBHOOK_SEGMENT, Services

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 30 * 1024 * 1024
PROFILE_LOOKUP_TIMEOUT = 2.0


def raw_request(request: Request[Any, Any, Any], body: bytes, public_base: str) -> RawRequest:
    """The request as the provider sent it, with the public URL it called (providers sign URLs)."""
    query = request.url.query
    url = f"{public_base}{request.url.path}" + (f"?{query}" if query else "")
    return RawRequest(
        method=request.method,
        url=url,
        headers=Headers(list(request.headers.items())),
        body=body,
        query={k: v for k, v in request.query_params.items()},
    )


def _reply(reply: HandshakeReply) -> Response[Any]:
    body = reply.body
    if isinstance(body, dict):
        return Response(content=msgspec.json.encode(body), status_code=reply.status_code, media_type="application/json")
    return Response(
        content=body.encode() if isinstance(body, str) else body,
        status_code=reply.status_code,
        media_type=reply.content_type,
    )


async def _store_attachment_bytes(services: Services, msg: InboundMessage) -> InboundMessage:
    """Put bytes that came with the request into the attachment store before the message is stored."""
    if not any(a.content is not None for a in msg.attachments):
        return msg
    limit = services.settings.max_attachment_bytes
    kept: list[Attachment] = []
    for att in msg.attachments:
        if att.content is None:
            kept.append(att)
        elif len(att.content) > limit:
            kept.append(replace(att, content=None, size=len(att.content), status="too_large"))
        else:
            key = await services.store.put(att.content)
            kept.append(replace(att, content=None, size=len(att.content), storage_key=key))
    return replace(msg, attachments=tuple(kept))


@functools.cache
def _profiles_supported(connector_type: type) -> bool:
    # isinstance() against a runtime-checkable Protocol re-inspects the class on every call: once is enough.
    return issubclass(connector_type, ResolvesProfiles)


def _resolves_profiles(connector: Any) -> bool:
    return _profiles_supported(type(connector))


async def _with_profile(services: Services, connector: Any, inbox: Inbox, msg: InboundMessage) -> InboundMessage:
    """Ask the provider who an unseen sender is (Slack/Messenger names, Slack verified emails)."""
    if not _resolves_profiles(connector):
        return msg
    try:
        keys = contact_keys(msg.channel_kind, msg.sender)
    except InvalidAddress:
        return msg
    async with services.sessions() as session:
        if await find_identity(session, msg.channel_kind, keys.address) is not None:
            return msg
    try:
        profile = await asyncio.wait_for(
            connector.fetch_profile(msg.sender, services.inbox_config(inbox)), PROFILE_LOOKUP_TIMEOUT
        )
    except Exception:  # a profile is a nicety: never lose the message over it
        log.warning("profile lookup failed for inbox %s", inbox.id, exc_info=True)
        return msg
    return replace(msg, sender=profile) if profile is not None else msg


async def store_inbound(
    services: Services, inbox: Inbox, msg: InboundMessage, connector: Any = None
) -> tuple[bool, Any]:
    """Ingest one message in its own transaction. Returns (stored, result); duplicates are rolled back."""
    msg = await _store_attachment_bytes(services, msg)
    if connector is not None:
        msg = await _with_profile(services, connector, inbox, msg)
    policy = services.inbox_policy(inbox)
    if fast_ingest.applicable(msg):
        fast = await _store_fast(services, msg, policy)
        if fast is not None:
            return fast
    async with _writer(services), services.uow() as uow:
        try:
            result = await receive_inbound(uow, msg, policy)
        except InvalidAddress as exc:
            raise ApiError(422, f"invalid sender: {exc}") from exc
        if result.duplicate:
            await uow.rollback()
            return False, result
        await uow.commit()
        return True, result


def _unique_violations() -> tuple[type[BaseException], ...]:
    import sqlite3

    import asyncpg

    return (asyncpg.UniqueViolationError, sqlite3.IntegrityError)


_UNIQUE_VIOLATIONS = _unique_violations()


def _writer(services: Services) -> Any:
    """SQLite takes one writer: ingest transactions queue on a lock instead of spinning on SQLITE_BUSY."""
    return fast_ingest.SQLITE_WRITER if services.settings.is_sqlite else contextlib.nullcontext()


async def _store_fast(services: Services, msg: InboundMessage, policy: InboxPolicy) -> tuple[bool, Any] | None:
    """The known-sender, open-thread case in one round trip (see conversation/fast_ingest.py)."""
    keys = fast_ingest.sender_keys(msg)
    if keys is None:
        return None
    now = utcnow()
    store = fast_ingest.store_sqlite if services.settings.is_sqlite else fast_ingest.store_postgres
    try:
        async with services.raw.connection() as connection:
            stored = await store(connection, msg, keys, now)
    except _UNIQUE_VIOLATIONS:  # an id reused across senders: the general path knows what to do
        return None
    if stored is None:
        return None
    if stored is True:
        return False, IngestResult(message_id=None, conversation_id=None, duplicate=True)
    assert isinstance(stored, fast_ingest.Stored)
    result, events, jobs = fast_ingest.outcome(msg, stored, policy, now)
    if jobs:
        try:
            await services.enqueue(jobs)
        except Exception:
            log.exception("enqueue after commit failed; the sweeper will pick the rows up")
    await services.publish(events)
    return True, result


async def _apply_delivery(services: Services, inbox: Inbox, update: DeliveryUpdate) -> bool:
    """One provider status report; a watermark (no message named) moves every message up to it."""
    mark = update.watermark
    async with services.uow() as uow:
        if mark is None:
            applied = await apply_delivery_update(uow, update)
        else:
            applied = (
                await apply_delivery_watermark(uow, update.inbox_id, mark.recipient_ref, mark.up_to, update.status) > 0
            )
        await uow.commit()
    return applied


async def _apply_item(services: Services, inbox: Inbox, item: Any, connector: Any, counts: dict[str, int]) -> None:
    if isinstance(item, InboundMessage):
        if item.inbox_id != inbox.id:  # the account comes from our URL, never from the payload
            item = replace(item, inbox_id=inbox.id)  # type: ignore[arg-type]
        stored, _ = await store_inbound(services, inbox, item, connector)
        counts["stored" if stored else "duplicates"] += 1
        (metrics.MESSAGES_STORED if stored else metrics.DUPLICATES).labels(inbox.kind).inc()
    elif isinstance(item, DeliveryUpdate):
        applied = await _apply_delivery(services, inbox, replace(item, inbox_id=inbox.id))  # type: ignore[arg-type]
        counts["updated" if applied else "unmatched"] += 1
    elif isinstance(item, OrderEvent):
        handler = services.extras.get("order_event_handler")
        if handler is None:
            raise ApiError(404, "this inbox does not take order events")
        await handler(services, inbox, item)
        counts["orders"] += 1


async def handle_webhook(
    services: Services, cache: InboxCache, request: Request[Any, Any, Any], kind: str, inbox_id: int
) -> Response[Any]:
    """Verify, parse and store one provider request; answer only once everything is committed."""
    found = await cache.get(inbox_id)
    inbox, account = found if found is not None else (None, None)
    if inbox is None or account is None or not inbox.is_active or WEBHOOK_SEGMENT.get(inbox.kind) != kind:
        raise ApiError(404, "unknown inbox")
    connector = get_connector(inbox.kind)
    if connector is None:
        raise ApiError(404, f"no {inbox.kind} connector in this version")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "request body too large")
    raw = raw_request(request, body, services.settings.public_base)
    try:
        connector.verify(raw, account)
    except SignatureInvalid as exc:
        log.info("webhook signature rejected", extra={"inbox_id": inbox_id, "kind": kind})
        raise ApiError(401, str(exc) or "invalid signature") from exc
    try:
        parsed = connector.parse(raw, account)
    except SignatureInvalid as exc:  # handshakes whose credential is in the query (Meta's hub.verify_token)
        log.info("webhook handshake rejected", extra={"inbox_id": inbox_id, "kind": kind})
        raise ApiError(401, str(exc) or "invalid verify token") from exc
    except MalformedPayload as exc:
        raise ApiError(400, f"malformed payload: {exc}") from exc
    except UnsupportedEvent as exc:
        log.info("unsupported %s event ignored: %s", kind, exc)
        return Response(content={"ok": True, "ignored": str(exc)}, status_code=200)
    if parsed.reply is not None and not parsed.items:
        return _reply(parsed.reply)
    counts = {"stored": 0, "duplicates": 0, "updated": 0, "unmatched": 0, "orders": 0}
    for item in parsed.items:
        await _apply_item(services, inbox, item, connector, counts)
    ack = getattr(connector, "ack", None)
    if parsed.reply is not None:
        return _reply(parsed.reply)
    if isinstance(ack, HandshakeReply):
        return _reply(ack)
    return Response(content={"ok": True, **{k: v for k, v in counts.items() if v}}, status_code=200)


_OUTCOMES = {401: "bad_signature", 404: "unknown_inbox", 400: "malformed", 413: "too_large", 422: "invalid"}


def webhook_handlers(services: Services) -> list[Any]:
    """The route handlers, one explicit path per provider (bound to this process's services)."""
    cache = inbox_cache(services)
    options: dict[str, Any] = {"exclude_from_auth": True, "exclude_from_csrf": True, "include_in_schema": False}
    handlers: list[Any] = []
    for segment in sorted(set(WEBHOOK_SEGMENT.values())):
        handlers += _routes_for(services, cache, segment, f"/webhooks/{segment}/{{inbox_id:int}}", options)
    handlers += _routes_for(services, cache, "sms", "/webhooks/sms/{inbox_id:int}/status", options)
    return handlers


def _routes_for(services: Services, cache: InboxCache, segment: str, path: str, options: dict[str, Any]) -> list[Any]:
    async def handle(request: Request[Any, Any, Any], inbox_id: FromPath[int]) -> Response[Any]:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await handle_webhook(services, cache, request, segment, inbox_id)
            outcome = "ok"
            return response
        except ApiError as exc:
            outcome = _OUTCOMES.get(exc.status_code, "refused")
            raise
        finally:
            metrics.WEBHOOK_REQUESTS.labels(segment, outcome).inc()
            metrics.INGEST_SECONDS.labels(segment).observe(time.perf_counter() - started)

    name = path.strip("/").replace("/", "_").replace("{inbox_id:int}", "id")
    handlers = [post(path, status_code=200, name=f"{name}_post", **options)(handle)]
    if segment == "meta":  # the subscription handshake (hub.challenge) is a GET
        handlers.append(get(path, name=f"{name}_get", **options)(handle))
    return handlers
