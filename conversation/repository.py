"""Read queries for the console and the API: lists, threads, profiles, search (fixed statement counts)."""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased, defer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.models import (
    Agent,
    Attachment,
    Conversation,
    ConversationTag,
    Customer,
    Identity,
    Inbox,
    Message,
    Order,
)
from conversation.sql import dialect_name
from conversation.views import (
    conversation_summary,
    customer_display_name,
    customer_view,
    identity_view,
    iso,
    message_view,
    order_view,
)

_conv = Conversation.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]
_agent = Agent.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_tag = ConversationTag.__table__  # type: ignore[attr-defined]
_order = Order.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]

MAX_PAGE = 100
#: The agent who wrote a message (a module-level alias: a new one per query defeats the statement cache).
_author = aliased(Agent, name="author")


#: Which inboxes a read may see: ids, a subquery of them (`access.visible_inbox_subquery`, which saves the
#: statement that lists them), or None for every inbox (admins).
InboxFilter = list[int] | sa.Select[tuple[int]] | None


def _in_inboxes(column: Any, inbox_ids: InboxFilter) -> list[Any]:
    """The condition restricting `column` to `inbox_ids` (none for None; no rows for an empty list)."""
    if inbox_ids is None:
        return []
    if isinstance(inbox_ids, list):
        return [column.in_(inbox_ids or [-1])]
    return [column.in_(inbox_ids)]


class BadQuery(ValueError):
    """A filter or cursor the API cannot use (400 with this reason)."""


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Filters of the conversation list. `assignee` is an agent id, "me", "none" or None (anyone)."""

    status: str | None = "open"
    assignee: str | None = None
    inbox_id: int | None = None
    customer_id: int | None = None
    channel: str | None = None
    tag: str | None = None
    priority: str | None = None
    q: str | None = None
    sort: str = "activity"  # activity (newest first) | waiting (longest waiting first)


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor from the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort key inside a cursor; BadQuery when it was not made by `encode_cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadQuery("invalid cursor") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise BadQuery("invalid cursor")
    return values


def _channel_condition(session: AsyncSession, channel: str) -> Any:
    if dialect_name(session) == "postgresql":
        return _conv.c.channels.op("@>")(sa.literal([channel], type_=postgresql.JSONB))
    return sa.exists(
        sa.select(sa.literal(1)).select_from(sa.func.json_each(_conv.c.channels)).where(sa.text("value = :ch"))
    ).params(ch=channel)


def _assignee_condition(assignee: str, me: int) -> Any:
    if assignee == "me":
        return _conv.c.assignee_id == me
    if assignee in ("none", "unassigned"):
        return _conv.c.assignee_id.is_(None)
    try:
        return _conv.c.assignee_id == int(assignee)
    except ValueError as exc:
        raise BadQuery("assignee must be an agent id, 'me' or 'none'") from exc


def _filters(session: AsyncSession, f: ConversationFilter, inbox_ids: InboxFilter, me: int) -> list[Any]:
    conditions: list[Any] = _in_inboxes(_conv.c.inbox_id, inbox_ids)
    if f.status and f.status != "all":
        conditions.append(_conv.c.status == f.status)
    if f.assignee:
        conditions.append(_assignee_condition(f.assignee, me))
    if f.inbox_id is not None:
        conditions.append(_conv.c.inbox_id == f.inbox_id)
    if f.customer_id is not None:
        conditions.append(_conv.c.customer_id == f.customer_id)
    if f.channel:
        conditions.append(_channel_condition(session, f.channel))
    if f.tag:
        conditions.append(_conv.c.id.in_(sa.select(_tag.c.conversation_id).where(_tag.c.tag == f.tag.lower())))
    if f.priority:
        conditions.append(_conv.c.priority == f.priority)
    if f.q:
        conditions.append(
            sa.or_(
                _conv.c.id.in_(sa.select(_msg.c.conversation_id).where(_message_match(session, f.q)).limit(500)),
                _conv.c.customer_id.in_(sa.select(_customer.c.id).where(_customer_match(f.q)).limit(500)),
            )
        )
    return conditions


def _sort(f: ConversationFilter) -> tuple[list[Any], Any, str]:
    """(order by, the first sort column, its name) for the list's keyset pagination."""
    if f.sort == "waiting":
        waiting = sa.func.coalesce(_conv.c.waiting_since, _conv.c.last_activity_at)
        return [waiting.asc(), _conv.c.id.asc()], waiting, "asc"
    if f.sort != "activity":
        raise BadQuery("sort must be 'activity' or 'waiting'")
    return [_conv.c.last_activity_at.desc(), _conv.c.id.desc()], _conv.c.last_activity_at, "desc"


def _parse_cursor_time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise BadQuery("invalid cursor") from exc


async def list_conversations(
    session: AsyncSession,
    f: ConversationFilter,
    *,
    inbox_ids: InboxFilter,
    me: int,
    cursor: str | None = None,
    limit: int = 25,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of conversations (one SQL statement), newest activity first, and the next cursor."""
    if isinstance(inbox_ids, list) and not inbox_ids:
        return [], None
    limit = max(1, min(limit, MAX_PAGE))
    order_by, key, direction = _sort(f)
    conditions = _filters(session, f, inbox_ids, me)
    if cursor:
        after_time, after_id = decode_cursor(cursor)
        when = _parse_cursor_time(after_time)
        if direction == "desc":
            conditions.append(sa.or_(key < when, sa.and_(key == when, _conv.c.id < int(after_id))))
        else:
            conditions.append(sa.or_(key > when, sa.and_(key == when, _conv.c.id > int(after_id))))
    query = (
        sa.select(_conv, _customer.c.name.label("customer_name"), _customer.c.email.label("customer_email"),
                  _customer.c.phone.label("customer_phone"), _agent.c.name.label("assignee_name"),
                  _agent.c.email.label("assignee_email"), key.label("sort_key"))
        .select_from(
            _conv.join(_customer, _customer.c.id == _conv.c.customer_id)
            .outerjoin(_agent, _agent.c.id == _conv.c.assignee_id)
        )
        .where(*conditions)
        .order_by(*order_by)
        .limit(limit + 1)
    )  # fmt: skip
    rows = (await session.exec(query)).all()
    items = []
    for row in rows[:limit]:
        assignee = None
        if row.assignee_id is not None:
            assignee = {
                "id": row.assignee_id,
                "name": row.assignee_name,
                "email": row.assignee_email,
                "avatar_url": None,
            }
        name = row.customer_name or row.customer_email or row.customer_phone or f"Customer #{row.customer_id}"
        items.append(conversation_summary(row, name, assignee))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([iso(last.sort_key), last.id])
    return items, next_cursor


async def get_thread(
    session: AsyncSession,
    conversation_id: int,
    *,
    before_id: int | None = None,
    limit: int = 200,
    inbox_ids: InboxFilter = None,
) -> dict[str, Any] | None:
    """A conversation with its messages in order (the newest `limit`, or those before `before_id`).

    None when it does not exist or is not in `inbox_ids`. At most three statements whatever the thread
    holds: conversation + assignee + customer, messages + their agent authors, attachments (only when
    some message has files).
    """
    row = (
        await session.exec(
            sa.select(_conv, _agent.c.name.label("assignee_name"), _agent.c.email.label("assignee_email"), Customer)
            .select_from(
                _conv.outerjoin(_agent, _agent.c.id == _conv.c.assignee_id)
                .outerjoin(_customer, _customer.c.id == _conv.c.customer_id)
            )
            .where(_conv.c.id == conversation_id, *_in_inboxes(_conv.c.inbox_id, inbox_ids))
        )
    ).first()
    if row is None:
        return None
    customer = row.Customer
    query = (
        sa.select(Message, _author, sa.exists().where(Attachment.message_id == Message.id).label("has_files"))
        .outerjoin(_author, sa.and_(Message.author_type == "agent", _author.id == Message.author_id))
        .where(Message.conversation_id == conversation_id)
        .options(defer(Message.raw))  # type: ignore[arg-type]  # the provider payload: never shown, can be large
    )
    if before_id is not None:
        query = query.where(Message.id < before_id)  # type: ignore[operator]
    rows = (await session.exec(query.order_by(Message.id.desc()).limit(limit))).all()  # type: ignore[union-attr]
    messages = [r[0] for r in reversed(rows)]
    agents = {r[1].id: r[1] for r in rows if r[1] is not None}
    attachments: dict[int, list[Attachment]] = {}
    ids = [r[0].id for r in rows if r.has_files]
    if ids:
        for att in (await session.exec(select(Attachment).where(Attachment.message_id.in_(ids)))).all():  # type: ignore[attr-defined]
            attachments.setdefault(att.message_id, []).append(att)
    name = customer_display_name(customer)
    assignee = None
    if row.assignee_id is not None:
        assignee = {"id": row.assignee_id, "name": row.assignee_name, "email": row.assignee_email, "avatar_url": None}
    thread = conversation_summary(row, name, assignee)
    thread["customer"] = (
        {**customer_view(customer), "name": name} if customer else {"id": row.customer_id, "name": name}
    )
    thread["ref_token"] = row.ref_token
    thread["messages"] = [
        message_view(m, customer_name=name, agents=agents, attachments=attachments.get(m.id or 0, []), full=True)
        for m in messages
    ]
    thread["has_more"] = len(messages) == limit
    return thread


async def get_customer_profile(
    session: AsyncSession,
    customer_id: int,
    inbox_ids: InboxFilter,
    *,
    visible_only: bool = False,
) -> dict[str, Any] | None:
    """A customer with identities, orders and conversations (only those in `inbox_ids`, if given).

    `inbox_ids` may be a subquery (`access.visible_inbox_subquery`). With `visible_only`, a customer
    who wrote only to other inboxes is None too (agents see customers of their inboxes, or customers
    with no conversation yet); that check rides on the first of the four statements.
    """
    query = sa.select(Customer).where(Customer.id == customer_id)  # type: ignore[arg-type]
    check = visible_only and inbox_ids is not None
    if check:
        of_customer = _conv.c.customer_id == customer_id
        query = query.add_columns(
            sa.exists().where(of_customer).label("has_conversations"),
            sa.exists().where(of_customer, _conv.c.inbox_id.in_(inbox_ids)).label("visible"),  # type: ignore[arg-type]
        )
    row = (await session.exec(query)).first()
    if row is None or (check and row.has_conversations and not row.visible):
        return None
    customer = row[0]
    identities = (
        await session.exec(select(Identity).where(Identity.customer_id == customer_id).order_by(Identity.id))
    ).all()  # type: ignore[arg-type]
    orders = (
        await session.exec(
            select(Order)
            .where(Order.customer_id == customer_id)
            .order_by(Order.placed_at.desc().nulls_last(), Order.id.desc())
            .limit(50)  # type: ignore[union-attr]
        )
    ).all()
    conv_query = select(Conversation).where(Conversation.customer_id == customer_id)
    if inbox_ids is not None:
        conv_query = conv_query.where(Conversation.inbox_id.in_(inbox_ids))  # type: ignore[attr-defined]
    conversations = (await session.exec(conv_query.order_by(Conversation.last_activity_at.desc()).limit(50))).all()  # type: ignore[attr-defined]
    view = customer_view(customer)
    view["identities"] = [identity_view(i) for i in identities]
    view["orders"] = [order_view(o) for o in orders]
    view["conversations"] = [conversation_summary(c, view["display_name"], None) for c in conversations]
    return view


def _customer_match(q: str) -> Any:
    like = f"%{q.strip().lower()}%"
    return sa.or_(
        sa.func.lower(_customer.c.name).like(like),
        sa.func.lower(_customer.c.email).like(like),
        _customer.c.phone.like(like),
    )


_TOKEN = re.compile(r"\w+", re.UNICODE)


def _message_match(session: AsyncSession, q: str) -> Any:
    """Full-text condition on `message` (PostgreSQL tsvector, SQLite FTS5)."""
    tokens = _TOKEN.findall(q)
    if not tokens:
        return sa.false()
    if dialect_name(session) == "postgresql":
        return sa.text("message.search_vector @@ plainto_tsquery('simple', :fts_q)").bindparams(fts_q=" ".join(tokens))
    fts = " ".join(f'"{t}"' for t in tokens)
    return _msg.c.id.in_(sa.text("SELECT rowid FROM message_fts WHERE message_fts MATCH :fts_q").bindparams(fts_q=fts))


def highlight(text: str, q: str, width: int = 160) -> str:
    """An HTML-escaped snippet of `text` around the first match, with matches in <mark>."""
    tokens = [t for t in _TOKEN.findall(q) if t]
    if not tokens:
        return html.escape(text[:width])
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, (first.start() if first else 0) - width // 3)
    snippet = text[start : start + width]
    parts, last = [], 0
    for match in pattern.finditer(snippet):
        parts.append(html.escape(snippet[last : match.start()]))
        parts.append(f"<mark>{html.escape(match.group(0))}</mark>")
        last = match.end()
    parts.append(html.escape(snippet[last:]))
    return ("…" if start else "") + "".join(parts) + ("…" if start + width < len(text) else "")


async def search(session: AsyncSession, q: str, inbox_ids: InboxFilter, limit: int = 20) -> dict[str, Any]:
    """Messages, customers and orders matching `q`, newest first, with highlighted snippets."""
    q = q.strip()
    if not q:
        return {"messages": [], "customers": [], "orders": []}
    limit = max(1, min(limit, 50))
    msg_rows = (
        await session.exec(
            sa.select(
                _msg.c.id, _msg.c.conversation_id, _msg.c.text, _msg.c.channel, _msg.c.direction, _msg.c.created_at
            )
            .where(_message_match(session, q), *_in_inboxes(_msg.c.inbox_id, inbox_ids))
            .order_by(_msg.c.id.desc())
            .limit(limit)
        )
    ).all()
    customers = (
        await session.exec(
            sa.select(_customer.c.id, _customer.c.name, _customer.c.email, _customer.c.phone)
            .where(_customer_match(q), _customer.c.merged_into_id.is_(None))
            .order_by(_customer.c.id.desc())
            .limit(limit)
        )
    ).all()
    number = q.lstrip("#").strip()
    orders = (
        await session.exec(
            select(Order)
            .where(sa.or_(Order.number == number, Order.number.like(f"{number}%")))
            .order_by(Order.id.desc())
            .limit(limit)  # type: ignore[attr-defined]
        )
    ).all()
    return {
        "messages": [
            {"id": r.id, "conversation_id": r.conversation_id, "channel": r.channel, "direction": r.direction,
             "created_at": iso(r.created_at), "snippet": highlight(r.text, q)}
            for r in msg_rows
        ],
        "customers": [
            {"id": r.id, "name": r.name, "email": r.email, "phone": r.phone,
             "snippet": highlight(" · ".join(x for x in (r.name, r.email, r.phone) if x), q)}
            for r in customers
        ],
        "orders": [{**order_view(o), "snippet": highlight(o.number, number)} for o in orders],
    }  # fmt: skip


async def list_inboxes(session: AsyncSession, inbox_ids: list[int]) -> list[Inbox]:
    """Inboxes in `inbox_ids`, by id."""
    return list((await session.exec(select(Inbox).where(Inbox.id.in_(inbox_ids)).order_by(Inbox.id))).all())  # type: ignore[union-attr,attr-defined]
