"""Web chat rules: what a visitor may see, their receipts, their claims, verified log-ins, offline emails.

A visitor is an identity of kind `webchat` (address = the random visitor id the hub minted). What their
widget shows is the web chat part of their customer's conversations: inbound messages, and agent or bot
replies once released (`sent` or later). Private notes, system lines and other channels never show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.addresses import normalize_email, normalize_phone
from conversation.customers import merge_customers
from conversation.events import MESSAGE_UPDATED, DomainEvent
from conversation.identities import find_customer_by_contact, find_identity, resolve_sender
from conversation.models import (
    Agent,
    Attachment,
    Conversation,
    Customer,
    Identity,
    MergeSuggestion,
    Message,
    Order,
    utcnow,
)
from conversation.replies import Author, queue_reply
from conversation.sql import insert_or_ignore
from conversation.types import AuthorType, ChannelKind, DeliveryStatus, Direction, ExternalIdentity
from conversation.uow import UnitOfWork
from conversation.views import iso

_msg = Message.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]
_agent = Agent.__table__  # type: ignore[attr-defined]
_att = Attachment.__table__  # type: ignore[attr-defined]
_order = Order.__table__  # type: ignore[attr-defined]
_suggestion = MergeSuggestion.__table__  # type: ignore[attr-defined]

WEBCHAT = ChannelKind.WEBCHAT.value
#: Replies a visitor may see: released to the widget and beyond.
RELEASED = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value, DeliveryStatus.READ.value)
#: How many of the customer's conversations a widget follows live (older ones come with history).
LIVE_CONVERSATIONS = 10
VISITOR_PREFIX = "v_"

FileUrl = Callable[[int], str]


@dataclass(frozen=True, slots=True)
class VisitorState:
    """What the hub knows about a visitor: their customer (None before their first message) and log-in."""

    identity_id: int | None = None
    customer_id: int | None = None
    identifier: str | None = None  # the shop's customer id, once verified
    name: str | None = None
    email: str | None = None


async def visitor_state(session: AsyncSession, visitor_id: str) -> VisitorState:
    """The visitor's identity, customer and verified log-in (if any)."""
    row = (
        await session.exec(
            sa.select(_identity.c.id, _identity.c.customer_id, _identity.c.extra, _customer.c.name, _customer.c.email)
            .join(_customer, _customer.c.id == _identity.c.customer_id)
            .where(_identity.c.channel_kind == WEBCHAT, _identity.c.address == visitor_id)
        )
    ).first()
    if row is None:
        return VisitorState()
    extra = row.extra or {}
    return VisitorState(row.id, row.customer_id, extra.get("user"), row.name, row.email)


async def visitor_conversations(session: AsyncSession, customer_id: int | None) -> list[tuple[int, int]]:
    """(conversation id, inbox id) of the customer's most recent conversations, newest first."""
    if customer_id is None:
        return []
    rows = await session.exec(
        sa.select(_conv.c.id, _conv.c.inbox_id)
        .where(_conv.c.customer_id == customer_id)
        .order_by(_conv.c.last_activity_at.desc(), _conv.c.id.desc())
        .limit(LIVE_CONVERSATIONS)
    )
    return [(int(r[0]), int(r[1])) for r in rows.all()]


def _visible(customer_id: int) -> list[Any]:
    """Conditions for the messages a visitor of `customer_id` may see."""
    return [
        _msg.c.conversation_id.in_(sa.select(_conv.c.id).where(_conv.c.customer_id == customer_id)),
        _msg.c.channel == WEBCHAT,
        sa.or_(
            _msg.c.direction == Direction.INBOUND.value,
            sa.and_(_msg.c.direction == Direction.OUTBOUND.value, _msg.c.status.in_(RELEASED)),
        ),
    ]


_COLUMNS = (
    _msg.c.id,
    _msg.c.conversation_id,
    _msg.c.direction,
    _msg.c.author_type,
    _msg.c.author_id,
    _msg.c.text,
    _msg.c.status,
    _msg.c.meta,
    _msg.c.created_at,
    _msg.c.external_id,
)


async def visitor_messages(
    session: AsyncSession,
    customer_id: int | None,
    file_url: FileUrl,
    *,
    after: int | None = None,
    before: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], bool]:
    """The visitor's messages in id order and whether older ones exist.

    `after`: those with a larger id (missed while away), plus any created since `since`, because ids are
    taken at insert and two transactions may commit out of order (the widget drops ids it already has).
    `before`: the page of older history. Neither: the newest `limit`.
    """
    if customer_id is None:
        return [], False
    limit = max(1, min(limit, 200))
    query = sa.select(*_COLUMNS).where(*_visible(customer_id))
    if after is not None:
        newer = _msg.c.id > after
        query = query.where(sa.or_(newer, _msg.c.created_at >= since) if since else newer)
        rows = list((await session.exec(query.order_by(_msg.c.id).limit(limit + 1))).all())
        more, rows = len(rows) > limit, rows[:limit]
    else:
        if before is not None:
            query = query.where(_msg.c.id < before)
        rows = list((await session.exec(query.order_by(_msg.c.id.desc()).limit(limit + 1))).all())
        more, rows = len(rows) > limit, list(reversed(rows[:limit]))
    return await _views(session, rows, file_url), more


async def visitor_message(
    session: AsyncSession, customer_id: int | None, message_id: int, file_url: FileUrl
) -> dict[str, Any] | None:
    """One message as the visitor sees it, or None when it is not theirs to see."""
    if customer_id is None:
        return None
    row = (await session.exec(sa.select(*_COLUMNS).where(_msg.c.id == message_id, *_visible(customer_id)))).first()
    return None if row is None else (await _views(session, [row], file_url))[0]


async def message_by_external_id(session: AsyncSession, inbox_id: int, external_id: str) -> int | None:
    """The id of the message a provider (here: the widget) id names."""
    return (
        await session.exec(sa.select(_msg.c.id).where(_msg.c.inbox_id == inbox_id, _msg.c.external_id == external_id))
    ).scalar()


async def agent_seen_up_to(session: AsyncSession, customer_id: int | None) -> int | None:
    """The newest visitor message an agent has seen (its conversation has no unread messages left)."""
    if customer_id is None:
        return None
    seen = sa.select(_conv.c.id).where(_conv.c.customer_id == customer_id, _conv.c.unread_count == 0)
    return (
        await session.exec(
            sa.select(sa.func.max(_msg.c.id)).where(
                _msg.c.conversation_id.in_(seen),
                _msg.c.channel == WEBCHAT,
                _msg.c.direction == Direction.INBOUND.value,
            )
        )
    ).scalar()


async def _views(session: AsyncSession, rows: Sequence[Any], file_url: FileUrl) -> list[dict[str, Any]]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    agent_ids = {r.author_id for r in rows if r.author_type == AuthorType.AGENT.value and r.author_id}
    agents: dict[int, Any] = {}
    if agent_ids:
        found = await session.exec(
            sa.select(_agent.c.id, _agent.c.name, _agent.c.avatar_url).where(_agent.c.id.in_(agent_ids))
        )
        agents = {a.id: a for a in found.all()}
    files: dict[int, list[dict[str, Any]]] = {}
    found_files = await session.exec(
        sa.select(_att.c.id, _att.c.message_id, _att.c.filename, _att.c.content_type, _att.c.size, _att.c.status)
        .where(_att.c.message_id.in_(ids))
        .order_by(_att.c.id)
    )
    for att in found_files.all():
        files.setdefault(att.message_id, []).append(
            {
                "id": att.id,
                "filename": att.filename,
                "content_type": att.content_type,
                "size": att.size,
                "url": file_url(att.id) if att.status == "stored" else None,
            }
        )
    return [_view(r, agents, files.get(r.id, [])) for r in rows]


def _author(row: Any, agents: dict[int, Any]) -> dict[str, Any]:
    if row.author_type == AuthorType.CUSTOMER.value:
        return {"type": "customer", "name": None, "avatar_url": None}
    if row.author_type == AuthorType.AGENT.value:
        agent = agents.get(row.author_id)
        avatar = agent.avatar_url if agent is not None and (agent.avatar_url or "").startswith("https://") else None
        return {"type": "agent", "name": agent.name if agent is not None else None, "avatar_url": avatar}
    return {"type": "bot", "name": (row.meta or {}).get("bot_name") or "Bot", "avatar_url": None}


def _view(row: Any, agents: dict[int, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    """A message as the widget shows it: no internal ids, emails, notes or provider data."""
    inbound = row.direction == Direction.INBOUND.value
    return {
        "id": row.id,
        "client_id": (row.meta or {}).get("client_id") if inbound else None,
        "text": row.text,
        "author": _author(row, agents),
        "created_at": iso(row.created_at),
        "status": row.status if not inbound else "sent",
        "attachments": files,
    }


# --- receipts -------------------------------------------------------------------------------------

_RECEIPT_FROM = {
    DeliveryStatus.DELIVERED: (DeliveryStatus.SENT.value,),
    DeliveryStatus.READ: (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value),
}


async def record_visitor_receipt(
    uow: UnitOfWork, customer_id: int, up_to: int, status: DeliveryStatus, now: datetime | None = None
) -> int:
    """The visitor's widget showed (`delivered`) or the visitor saw (`read`) every reply up to `up_to`.

    Only replies in the visitor's own conversations move, and only forward. Returns how many moved.
    """
    now = now or utcnow()
    values: dict[str, Any] = {"status": status.value, "delivered_at": sa.func.coalesce(_msg.c.delivered_at, now)}
    if status == DeliveryStatus.READ:
        values["read_at"] = now
    rows = (
        await uow.session.exec(
            sa.update(_msg)
            .where(
                _msg.c.conversation_id.in_(sa.select(_conv.c.id).where(_conv.c.customer_id == customer_id)),
                _msg.c.channel == WEBCHAT,
                _msg.c.direction == Direction.OUTBOUND.value,
                _msg.c.id <= up_to,
                _msg.c.status.in_(_RECEIPT_FROM[status]),
            )
            .values(**values)
            .returning(_msg.c.id, _msg.c.conversation_id, _msg.c.inbox_id, _msg.c.attempts, _msg.c.delivered_at)
        )
    ).all()
    for row in rows:
        data = {"id": row.id, "conversation_id": row.conversation_id, "status": status.value, "attempts": row.attempts}
        data["delivered_at"] = iso(row.delivered_at)
        if status == DeliveryStatus.READ:
            data["read_at"] = iso(now)
        uow.record(DomainEvent(MESSAGE_UPDATED, {"message": data}, row.inbox_id, row.conversation_id))
    return len(rows)


# --- identity: claims and verified log-ins ---------------------------------------------------------


async def _suggest(uow: UnitOfWork, customer_id: int, other_id: int | None, reason: str, now: datetime) -> None:
    if other_id is None or other_id == customer_id:
        return
    await uow.session.exec(
        insert_or_ignore(uow.session, _suggestion, ["customer_id", "other_customer_id"]).values(
            customer_id=customer_id, other_customer_id=other_id, reason=reason, status="open", created_at=now
        )
    )


async def claim_profile(
    uow: UnitOfWork,
    visitor_id: str,
    *,
    inbox_id: int,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> int:
    """A visitor told us who they are (pre-chat form, `setUser` without a hash): unverified claims.

    A visitor without a profile gets one now. The claims fill gaps in their own profile and, when
    another customer owns that email or phone, produce a merge suggestion, never a merge. Returns the
    visitor's customer id.
    """
    now = now or utcnow()
    name = name.strip()[:300] if name and name.strip() else None
    sender = ExternalIdentity(
        address=visitor_id, name=name, email=email, phone=phone, verified=False, extra={"inbox_id": inbox_id}
    )
    resolved = await resolve_sender(uow.session, WEBCHAT, sender, now)
    if resolved.created_identity:
        return resolved.customer_id
    email_n, phone_n = normalize_email(email), normalize_phone(phone)
    changes = {k: v for k, v in (("display_name", name), ("email", email_n), ("phone", phone_n)) if v}
    if changes:
        await uow.session.exec(sa.update(_identity).where(_identity.c.id == resolved.identity_id).values(**changes))
    c = _customer.c
    await uow.session.exec(
        sa.update(_customer)
        .where(c.id == resolved.customer_id)
        .values(
            name=sa.func.coalesce(c.name, name),
            email=sa.func.coalesce(c.email, email_n),
            phone=sa.func.coalesce(c.phone, phone_n),
            updated_at=now,
        )
    )
    if email_n or phone_n:
        owner = await find_customer_by_contact(uow.session, email_n, phone_n)
        await _suggest(uow, resolved.customer_id, owner, "same email or phone (unverified web chat claim)", now)
    return resolved.customer_id


async def _anonymous_only(session: AsyncSession, customer_id: int) -> bool:
    """True when a customer is nothing but anonymous widget visitors (no verified identity, no orders)."""
    other = (
        await session.exec(
            sa.select(_identity.c.id)
            .where(
                _identity.c.customer_id == customer_id,
                sa.or_(
                    _identity.c.channel_kind != WEBCHAT,
                    ~_identity.c.address.startswith(VISITOR_PREFIX, autoescape=True),
                ),
            )
            .limit(1)
        )
    ).first()
    orders = (await session.exec(sa.select(_order.c.id).where(_order.c.customer_id == customer_id).limit(1))).first()
    return other is None and orders is None


@dataclass(frozen=True, slots=True)
class VerifiedUser:
    """A shop customer the shop vouched for (`identifier_hash` valid). `email` only when it is proven too."""

    inbox_id: int
    identifier: str
    name: str | None = None
    email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def link_verified_visitor(
    uow: UnitOfWork, visitor_id: str, user: VerifiedUser, now: datetime | None = None
) -> int:
    """Join the visitor to the shop's logged-in customer; returns that customer's id.

    The identity `(webchat, identifier)` is the anchor (created verified; a proven email links it to the
    customer who owns that email, e.g. through their orders). The browser's visitor identity then points
    to that customer: an anonymous chat from the same browser is merged in (audited, undoable), so the
    customer's profile shows the whole story.
    """
    now = now or utcnow()
    anchor = ExternalIdentity(
        address=user.identifier,
        name=user.name,
        email=user.email,
        verified=True,
        extra={"inbox_id": user.inbox_id, "source": "setUser", **user.extra},
    )
    resolved = await resolve_sender(uow.session, WEBCHAT, anchor, now)
    customer_id = resolved.customer_id
    if not resolved.created_identity and user.email:
        await _prove_email(uow, resolved.identity_id, customer_id, user.email, now)
    binding = {"user": user.identifier, "inbox_id": user.inbox_id}
    visitor = await find_identity(uow.session, WEBCHAT, visitor_id)
    if visitor is None:
        inserted = await uow.session.exec(
            insert_or_ignore(uow.session, _identity, ["channel_kind", "address"])
            .values(
                customer_id=customer_id, channel_kind=WEBCHAT, address=visitor_id, display_name=user.name,
                verified=False, extra=binding, created_at=now, last_seen_at=now,
            )
            .returning(_identity.c.id)
        )  # fmt: skip
        if inserted.scalar_one_or_none() is not None:
            return customer_id
        visitor = await find_identity(uow.session, WEBCHAT, visitor_id)
        assert visitor is not None
    if visitor.customer_id != customer_id:
        if await _anonymous_only(uow.session, visitor.customer_id):
            await merge_customers(uow, customer_id, visitor.customer_id, None, now)
        else:
            await uow.session.exec(
                sa.update(_identity).where(_identity.c.id == visitor.identity_id).values(customer_id=customer_id)
            )
    await uow.session.exec(sa.update(_identity).where(_identity.c.id == visitor.identity_id).values(extra=binding))
    return customer_id


async def _prove_email(uow: UnitOfWork, identity_id: int, customer_id: int, email: str, now: datetime) -> None:
    """A known log-in now comes with a proven email: record it; another owner of it is only suggested."""
    email_n = normalize_email(email)
    if email_n is None:
        return
    await uow.session.exec(
        sa.update(_identity).where(_identity.c.id == identity_id, _identity.c.email.is_(None)).values(email=email_n)
    )
    owner = await find_customer_by_contact(uow.session, email_n, None)
    await _suggest(uow, customer_id, owner, "same verified email (web chat log-in)", now)


# --- continuity: replies the visitor did not see go out by email ------------------------------------


@dataclass(frozen=True, slots=True)
class OfflinePlan:
    """Which unseen replies to email now (grouped by conversation) and how far the cursor may move."""

    emails: dict[int, list[Any]]
    cursor: int


async def replies_after(session: AsyncSession, inbox_id: int, cursor: int, limit: int = 200) -> list[Any]:
    """Web chat replies of an inbox with an id above `cursor`, oldest first."""
    rows = await session.exec(
        sa.select(*_COLUMNS, _msg.c.sent_at)
        .where(
            _msg.c.inbox_id == inbox_id,
            _msg.c.id > cursor,
            _msg.c.channel == WEBCHAT,
            _msg.c.direction == Direction.OUTBOUND.value,
        )
        .order_by(_msg.c.id)
        .limit(limit)
    )
    return list(rows.all())


def plan_offline_emails(rows: Sequence[Any], cursor: int, now: datetime, delay: timedelta) -> OfflinePlan:
    """Walk replies in id order: unread ones older than `delay` are emailed, read or failed ones skipped.

    The walk stops at the first reply still waiting (queued, or sent less than `delay` ago), so the cursor
    never passes a reply that may still need an email. Replies far older than the delay (the feature was
    just switched on, or the hub was down for long) are skipped rather than emailed late.
    """
    emails: dict[int, list[Any]] = {}
    stale = delay + timedelta(hours=1)
    for row in rows:
        if row.status in (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value):
            break
        if row.status in (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value) and row.sent_at is not None:
            age = now - row.sent_at
            if age < delay:
                break
            if age <= stale and not (row.meta or {}).get("emailed_as"):
                emails.setdefault(row.conversation_id, []).append(row)
        cursor = row.id
    return OfflinePlan(emails=emails, cursor=cursor)


async def visitor_locale(session: AsyncSession, conversation_id: int) -> str | None:
    """The language the visitor's widget ran in when they last wrote in this thread."""
    meta = (
        await session.exec(
            sa.select(_msg.c.meta)
            .where(
                _msg.c.conversation_id == conversation_id,
                _msg.c.channel == WEBCHAT,
                _msg.c.direction == Direction.INBOUND.value,
            )
            .order_by(_msg.c.id.desc())
            .limit(1)
        )
    ).scalar()
    locale = (meta or {}).get("locale")
    return str(locale) if locale else None


async def _email_identity(uow: UnitOfWork, customer_id: int, now: datetime) -> bool:
    """Make sure the customer has an email identity to reply to; False when they have no usable email."""
    session = uow.session
    has = (
        await session.exec(
            sa.select(_identity.c.id).where(_identity.c.customer_id == customer_id, _identity.c.channel_kind == "email")
        )
    ).first()
    if has is not None:
        return True
    rows = (
        await session.exec(
            sa.select(_identity.c.email, _identity.c.verified)
            .where(_identity.c.customer_id == customer_id, _identity.c.email.is_not(None))
            .order_by(_identity.c.verified.desc(), _identity.c.id.desc())
        )
    ).all()
    customer_email = (await session.exec(sa.select(_customer.c.email).where(_customer.c.id == customer_id))).scalar()
    candidates = [(r.email, bool(r.verified)) for r in rows] + ([(customer_email, False)] if customer_email else [])
    if not candidates:
        return False
    email, verified = candidates[0]
    owner = await find_identity(session, "email", email)
    if owner is not None:
        return owner.customer_id == customer_id  # the address is someone else's: never mail them our thread
    await session.exec(
        insert_or_ignore(session, _identity, ["channel_kind", "address"]).values(
            customer_id=customer_id, channel_kind="email", address=email, email=email, verified=verified,
            extra={"source": "webchat"}, created_at=now,
        )
    )  # fmt: skip
    return True


async def queue_offline_email(
    uow: UnitOfWork,
    conversation_id: int,
    replies: Sequence[Any],
    *,
    email_inbox_id: int,
    subject: str,
    footer: str,
    now: datetime | None = None,
) -> Message | None:
    """Email the replies a visitor did not see (one email per conversation), through the normal outbox.

    The email goes out from the inbox's linked email inbox unless the customer already wrote by email in
    this thread (then it answers that email). Their reply threads back by the conversation's reply token
    and Message-ID. Returns None when the customer has no email address we may use.
    """
    now = now or utcnow()
    customer_id = (await uow.session.exec(sa.select(_conv.c.customer_id).where(_conv.c.id == conversation_id))).scalar()
    if customer_id is None or not await _email_identity(uow, int(customer_id), now):
        return None
    last = replies[-1]
    author_name = None
    if last.author_type == AuthorType.AGENT.value and last.author_id:
        author_name = (await uow.session.exec(sa.select(_agent.c.name).where(_agent.c.id == last.author_id))).scalar()
    text = "\n\n".join(r.text for r in replies if r.text) + ("\n\n" + footer if footer else "")
    meta = {"continuity_of": [r.id for r in replies]}
    if last.author_type == AuthorType.BOT.value:
        meta["bot_name"] = (last.meta or {}).get("bot_name")
    author = Author(AuthorType(last.author_type), last.author_id, author_name)
    email = await queue_reply(uow, conversation_id, author, text, channel="email", meta=meta, now=now)
    values: dict[str, Any] = {"subject": subject[:500]}
    if email.in_reply_to is None:  # not answering an email of theirs: send from the chat's linked inbox
        values["inbox_id"] = email_inbox_id
    await uow.session.exec(sa.update(_msg).where(_msg.c.id == email.id).values(**values))
    for reply in replies:
        await uow.session.exec(
            sa.update(_msg).where(_msg.c.id == reply.id).values(meta={**(reply.meta or {}), "emailed_as": email.id})
        )
    return email
