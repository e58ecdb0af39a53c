"""Conversation workflow: status, assignment, tags, priority, read state; each change is an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conversation.events import CONVERSATION_UPDATED, MESSAGE_CREATED, DomainEvent
from conversation.models import Agent, AuditEvent, Conversation, ConversationTag, Customer, Message, Team, utcnow
from conversation.threads import assignee_name
from conversation.types import AuthorType, ConversationStatus, DeliveryStatus, Direction
from conversation.uow import UnitOfWork
from conversation.views import conversation_summary, message_view

_conv = Conversation.__table__  # type: ignore[attr-defined]
_tag = ConversationTag.__table__  # type: ignore[attr-defined]
_agent = Agent.__table__  # type: ignore[attr-defined]
_customer = Customer.__table__  # type: ignore[attr-defined]
_team = Team.__table__  # type: ignore[attr-defined]

PRIORITIES = ("none", "low", "medium", "high", "urgent")
MAX_TAGS = 30


class ChangeRejected(ValueError):
    """A conversation change that is not allowed (422 with this reason)."""


@dataclass(frozen=True, slots=True)
class ConversationChange:
    """What to change; fields left as None stay as they are (use `unassign` to clear the assignee)."""

    status: str | None = None
    assignee_id: int | None = None
    unassign: bool = False
    team_id: int | None = None
    tags: list[str] | None = None
    priority: str | None = None
    snoozed_until: datetime | None = None


def normalize_tags(tags: list[str]) -> list[str]:
    """Lower-case, trimmed, de-duplicated tags in their given order."""
    seen: dict[str, None] = {}
    for tag in tags:
        clean = " ".join(str(tag).split()).lower()[:100]
        if clean:
            seen.setdefault(clean, None)
    if len(seen) > MAX_TAGS:
        raise ChangeRejected(f"at most {MAX_TAGS} tags")
    return list(seen)


async def _validate(uow: UnitOfWork, change: ConversationChange, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.status is not None:
        try:
            status = ConversationStatus(change.status)
        except ValueError as exc:
            raise ChangeRejected(f"status must be one of: {', '.join(s.value for s in ConversationStatus)}") from exc
        values["status"] = status.value
        values["resolved_at"] = now if status == ConversationStatus.RESOLVED else None
        if status == ConversationStatus.SNOOZED:
            if change.snoozed_until is None or change.snoozed_until <= now:
                raise ChangeRejected("snoozing needs a snoozed_until in the future")
            values["snoozed_until"] = change.snoozed_until
        else:
            values["snoozed_until"] = None
    if change.unassign:
        values["assignee_id"] = None
    elif change.assignee_id is not None:
        exists = (
            await uow.session.exec(
                sa.select(_agent.c.id).where(_agent.c.id == change.assignee_id, _agent.c.is_active.is_(True))
            )
        ).first()
        if exists is None:
            raise ChangeRejected(f"no active agent with id {change.assignee_id}")
        values["assignee_id"] = change.assignee_id
    if change.team_id is not None:
        values["team_id"] = await _team_value(uow, change.team_id)
    if change.priority is not None:
        if change.priority not in PRIORITIES:
            raise ChangeRejected(f"priority must be one of: {', '.join(PRIORITIES)}")
        values["priority"] = change.priority
    if change.tags is not None:
        values["tags"] = normalize_tags(change.tags)
    return values


async def _team_value(uow: UnitOfWork, team_id: int) -> int | None:
    """0 clears the team; any other id must be a team (a foreign key error would be a 500)."""
    if not team_id:
        return None
    if (await uow.session.exec(sa.select(_team.c.id).where(_team.c.id == team_id))).first() is None:
        raise ChangeRejected(f"no team with id {team_id}")
    return team_id


_ACTIVITY = {
    "status": lambda v, names: {
        "open": "reopened the conversation",
        "pending": "marked the conversation as pending",
        "snoozed": "snoozed the conversation",
        "resolved": "resolved the conversation",
    }[v],
    "assignee_id": lambda v, names: (
        f"assigned the conversation to {names.get(v, 'an agent')}" if v else "unassigned the conversation"
    ),
    "priority": lambda v, names: f"set the priority to {v}",
}


async def update_conversation(
    uow: UnitOfWork, conversation_id: int, change: ConversationChange, actor: Agent | None, now: datetime | None = None
) -> dict[str, Any]:
    """Apply `change`, leave an activity line in the thread, and record `conversation.updated`.

    Returns the conversation's new list-row summary.
    """
    now = now or utcnow()
    current = (await uow.session.exec(sa.select(*_conv.c).where(_conv.c.id == conversation_id))).first()
    if current is None:
        raise ChangeRejected("conversation not found")
    values = await _validate(uow, change, now)
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not changed:
        return await _summary(uow, current)
    changed["updated_at"] = now
    if "assignee_id" in changed and changed["assignee_id"] is not None:
        # A human took the thread: the bot steps back.
        changed["bot_state"] = {**(current.bot_state or {}), "handed_off": True}
    if "tags" in changed:
        await _replace_tags(uow, conversation_id, changed["tags"])
    row = (
        await uow.session.exec(
            sa.update(_conv).where(_conv.c.id == conversation_id).values(**changed).returning(*_conv.c)
        )
    ).one()
    summary = await _summary(uow, row)
    await _activity_lines(uow, row, changed, actor, now, summary)
    uow.record(
        DomainEvent(CONVERSATION_UPDATED, {"conversation": summary, "changes": sorted(changed)}, row.inbox_id, row.id)
    )
    if actor is not None:
        uow.session.add(
            AuditEvent(
                actor_type="agent",
                actor_id=actor.id,
                action="conversation.updated",
                subject_type="conversation",
                subject_id=conversation_id,
                data={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changed.items()},
            )
        )
    return summary


async def _replace_tags(uow: UnitOfWork, conversation_id: int, tags: list[str]) -> None:
    await uow.session.exec(sa.delete(_tag).where(_tag.c.conversation_id == conversation_id))
    for tag in tags:
        await uow.session.exec(sa.insert(_tag).values(conversation_id=conversation_id, tag=tag))


async def _summary(uow: UnitOfWork, row: Any) -> dict[str, Any]:
    name = (await uow.session.exec(sa.select(_customer.c.name).where(_customer.c.id == row.customer_id))).scalar()
    return conversation_summary(row, name, await assignee_name(uow.session, row.assignee_id))


async def _activity_lines(
    uow: UnitOfWork, row: Any, changed: dict[str, Any], actor: Agent | None, now: datetime, summary: dict[str, Any]
) -> None:
    """System messages ("Sam resolved the conversation") so the thread tells its own story."""
    names = {}
    if changed.get("assignee_id"):
        assignee = summary.get("assignee") or {}
        names[changed["assignee_id"]] = assignee.get("name")
    who = actor.name if actor is not None else "Omnihub"
    for key, describe in _ACTIVITY.items():
        if key not in changed:
            continue
        message = Message(
            conversation_id=row.id,
            inbox_id=row.inbox_id,
            channel="system",
            direction=Direction.SYSTEM.value,
            author_type=AuthorType.SYSTEM.value,
            author_id=actor.id if actor else None,
            text=f"{who} {describe(changed[key], names)}",
            status=DeliveryStatus.RECEIVED.value,
            created_at=now,
        )
        uow.session.add(message)
        await uow.session.flush()
        uow.record(
            DomainEvent(
                MESSAGE_CREATED, {"message": message_view(message), "conversation": summary}, row.inbox_id, row.id
            )
        )


async def mark_read(uow: UnitOfWork, conversation_id: int) -> None:
    """An agent opened the thread: its unread count drops to zero."""
    row = (
        await uow.session.exec(
            sa.update(_conv)
            .where(_conv.c.id == conversation_id, _conv.c.unread_count > 0)
            .values(unread_count=0)
            .returning(*_conv.c)
        )
    ).first()
    if row is not None:
        summary = await _summary(uow, row)
        uow.record(
            DomainEvent(CONVERSATION_UPDATED, {"conversation": summary, "changes": ["unread"]}, row.inbox_id, row.id)
        )
