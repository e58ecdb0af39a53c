"""Who may see what: admins see every inbox, agents only the inboxes they belong to."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.models import Agent, Conversation, Inbox, InboxMember

_member = InboxMember.__table__  # type: ignore[attr-defined]
_inbox = Inbox.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]


async def visible_inbox_ids(session: AsyncSession, agent: Agent) -> list[int]:
    """The inboxes `agent` works (all of them for an admin)."""
    if agent.role == "admin":
        rows = await session.exec(sa.select(_inbox.c.id).order_by(_inbox.c.id))
    else:
        rows = await session.exec(sa.select(_member.c.inbox_id).where(_member.c.agent_id == agent.id))
    return sorted(int(r[0]) for r in rows.all())


async def may_see_inbox(session: AsyncSession, agent: Agent, inbox_id: int) -> bool:
    """True when `agent` works `inbox_id`."""
    if agent.role == "admin":
        return True
    row = (
        await session.exec(
            sa.select(_member.c.inbox_id).where(_member.c.agent_id == agent.id, _member.c.inbox_id == inbox_id)
        )
    ).first()
    return row is not None


def visible_inbox_subquery(agent: Agent) -> sa.Select[tuple[int]] | None:
    """The inboxes `agent` works as a subquery for `IN (...)` (None: an admin sees every inbox).

    Saves the statement `visible_inbox_ids` costs on read paths with a fixed statement budget.
    """
    if agent.role == "admin":
        return None
    return sa.select(_member.c.inbox_id).where(_member.c.agent_id == agent.id)


async def may_see_conversation(session: AsyncSession, agent: Agent, conversation_id: int) -> bool:
    """True when the conversation exists and belongs to an inbox `agent` works (one statement)."""
    query = sa.select(_conv.c.inbox_id).where(_conv.c.id == conversation_id)
    inboxes = visible_inbox_subquery(agent)
    if inboxes is not None:
        query = query.where(_conv.c.inbox_id.in_(inboxes))
    return (await session.exec(query)).first() is not None
