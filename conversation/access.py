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


async def may_see_conversation(session: AsyncSession, agent: Agent, conversation_id: int) -> bool:
    """True when the conversation exists and belongs to an inbox `agent` works."""
    inbox_id = (await session.exec(sa.select(_conv.c.inbox_id).where(_conv.c.id == conversation_id))).scalar()
    return inbox_id is not None and await may_see_inbox(session, agent, int(inbox_id))
