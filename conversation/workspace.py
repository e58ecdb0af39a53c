"""What an agent's workspace shows beside the list: view counts, tags, reply channels and their warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.models import Conversation, ConversationTag, Identity, Inbox, Message, Team

_conv = Conversation.__table__  # type: ignore[attr-defined]
_tag = ConversationTag.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_inbox = Inbox.__table__  # type: ignore[attr-defined]
_msg = Message.__table__  # type: ignore[attr-defined]
_team = Team.__table__  # type: ignore[attr-defined]

#: Channels that only carry free-form replies for a while after the customer's last message
#: (WhatsApp's customer service window; its connector refuses at send time too).
REPLY_WINDOWS: dict[str, timedelta] = {"whatsapp": timedelta(hours=24)}

#: Channels an agent can pick in the reply box (notes and system lines are not channels).
REPLY_CHANNELS = ("email", "webchat", "sms", "whatsapp", "telegram", "messenger", "slack", "api")


#: Counts look at OPEN_CAP open conversations of a view at most (the console then shows "999+"): each
#: count is one bounded index scan, so the navigation stays fast with 100k conversations. Unread counts
#: are taken among those same conversations, so they are exact below the cap.
OPEN_CAP = 1000


@dataclass(frozen=True, slots=True)
class ViewCount:
    """Open conversations in a view (up to OPEN_CAP), and how many of them have unread messages."""

    open: int = 0
    unread: int = 0
    capped: bool = False  # `open` is a lower bound ("1000+")

    @property
    def label(self) -> str:
        """The open count as the navigation shows it."""
        return f"{self.open}+" if self.capped else str(self.open)


@dataclass(slots=True)
class ViewCounts:
    """Counts for the navigation: Mine, Unassigned, All and each inbox."""

    mine: ViewCount = ViewCount()
    unassigned: ViewCount = ViewCount()
    all: ViewCount = ViewCount()
    inboxes: dict[int, ViewCount] = field(default_factory=dict)


def _open_rows(*conditions: Any) -> Any:
    """The unread counts of up to OPEN_CAP open conversations of a view (in index order: no sort)."""
    # One row more than the cap tells "exactly the cap" from "more than the cap".
    return sa.select(_conv.c.unread_count).where(_conv.c.status == "open", *conditions).limit(OPEN_CAP + 1).subquery()


async def view_counts(session: AsyncSession, inbox_ids: list[int], me: int) -> ViewCounts:
    """Open and unread counts per view: one statement, one bounded scan per inbox and per personal view.

    "All" is the sum of the inboxes (so it may pass OPEN_CAP; the console shows "999+").
    """
    if not inbox_ids:
        return ViewCounts()
    visible = _conv.c.inbox_id.in_(inbox_ids)
    views = {"mine": [visible, _conv.c.assignee_id == me], "unassigned": [visible, _conv.c.assignee_id.is_(None)]}
    views.update({f"inbox{i}": [_conv.c.inbox_id == i] for i in inbox_ids})
    branches = []
    for name, conditions in views.items():
        recent = _open_rows(*conditions)
        unread = sa.func.coalesce(sa.func.sum(sa.case((recent.c.unread_count > 0, 1), else_=0)), 0)
        branches.append(
            sa.select(sa.literal(name).label("view"), sa.func.count().label("n"), unread.label("u")).select_from(recent)
        )
    rows = (await session.exec(sa.union_all(*branches))).all()
    counts = {str(r.view): ViewCount(min(int(r.n), OPEN_CAP), int(r.u), int(r.n) > OPEN_CAP) for r in rows}
    inboxes = {i: counts.get(f"inbox{i}", ViewCount()) for i in inbox_ids}
    return ViewCounts(
        mine=counts.get("mine", ViewCount()),
        unassigned=counts.get("unassigned", ViewCount()),
        all=ViewCount(
            sum(c.open for c in inboxes.values()),
            sum(c.unread for c in inboxes.values()),
            any(c.capped for c in inboxes.values()),
        ),
        inboxes=inboxes,
    )


async def open_tags(session: AsyncSession, inbox_ids: list[int], limit: int = 12) -> list[tuple[str, int]]:
    """The tags on open conversations in `inbox_ids`, most used first: `[(tag, count)]`."""
    if not inbox_ids:
        return []
    rows = (
        await session.exec(
            sa.select(_tag.c.tag, sa.func.count().label("n"))
            .select_from(_tag.join(_conv, _conv.c.id == _tag.c.conversation_id))
            .where(_conv.c.status == "open", _conv.c.inbox_id.in_(inbox_ids))
            .group_by(_tag.c.tag)
            .order_by(sa.desc("n"), _tag.c.tag)
            .limit(limit)
        )
    ).all()
    return [(str(tag), int(n)) for tag, n in rows]


async def known_tags(session: AsyncSession, limit: int = 200) -> list[str]:
    """Every tag in use (for suggestions when tagging), alphabetically."""
    rows = (await session.exec(sa.select(_tag.c.tag).distinct().order_by(_tag.c.tag).limit(limit))).all()
    return [str(r[0]) for r in rows]


async def teams(session: AsyncSession) -> list[dict[str, Any]]:
    """`[{id, name}]` of every team, by name."""
    rows = (await session.exec(sa.select(_team.c.id, _team.c.name).order_by(_team.c.name))).all()
    return [{"id": int(r.id), "name": r.name} for r in rows]


@dataclass(frozen=True, slots=True)
class ReplyChannel:
    """A channel the reply box offers: whether a reply can go out on it, and when the customer last wrote."""

    kind: str
    available: bool
    reason: str | None = None
    last_inbound_at: datetime | None = None
    window_hours: float | None = None


@dataclass(frozen=True, slots=True)
class ReplyOptions:
    """The channels of one conversation's reply box and the one picked by default."""

    channels: list[ReplyChannel]
    default: str | None


def delivery_warning(channel: str, last_inbound_at: datetime | None, now: datetime) -> str | None:
    """Why a free-form reply on `channel` would not be delivered now, or None when it can be."""
    window = REPLY_WINDOWS.get(channel)
    if window is None:
        return None
    if last_inbound_at is not None and now - last_inbound_at < window:
        return None
    hours = int(window.total_seconds() // 3600)
    if last_inbound_at is None:
        return f"The customer has not written on {channel} yet: free-form replies need a message from them first."
    return (
        f"The customer's last {channel} message is older than {hours} hours: {channel} will refuse a free-form "
        "reply. Pick another channel or wait for them to write."
    )


async def reply_options(session: AsyncSession, conversation_id: int) -> ReplyOptions:
    """The customer's channels for a reply (default: the channel they last wrote on).

    A channel is available when the customer has an identity on it and an active inbox of that kind
    can send (the same rules as `replies.route_reply`).
    """
    conversation = (await session.exec(sa.select(_conv.c.customer_id).where(_conv.c.id == conversation_id))).first()
    if conversation is None:
        return ReplyOptions([], None)
    kinds = {
        str(r[0])
        for r in (
            await session.exec(
                sa.select(_identity.c.channel_kind).where(_identity.c.customer_id == conversation.customer_id)
            )
        ).all()
    }
    inbound = (
        await session.exec(
            sa.select(_msg.c.channel, sa.func.max(_msg.c.created_at), sa.func.max(_msg.c.id))
            .where(_msg.c.conversation_id == conversation_id, _msg.c.direction == "inbound")
            .group_by(_msg.c.channel)
        )
    ).all()
    last_at: dict[str, datetime] = {str(ch): at for ch, at, _ in inbound}
    latest_channel = max(inbound, key=lambda r: r[2])[0] if inbound else None
    active = {
        str(r[0])
        for r in (await session.exec(sa.select(_inbox.c.kind).where(_inbox.c.is_active.is_(True)).distinct())).all()
    }
    channels = []
    for kind in REPLY_CHANNELS:
        if kind not in kinds and kind not in last_at:
            continue
        reason = None
        if kind not in active:
            reason = f"no {kind} inbox is connected"
        elif kind not in kinds:
            reason = f"the customer has no {kind} address"
        window = REPLY_WINDOWS.get(kind)
        channels.append(
            ReplyChannel(
                kind=kind,
                available=reason is None,
                reason=reason,
                last_inbound_at=last_at.get(kind),
                window_hours=window.total_seconds() / 3600 if window else None,
            )
        )
    available = [c.kind for c in channels if c.available]
    default = latest_channel if latest_channel in available else (available[0] if available else None)
    return ReplyOptions(channels, default)
