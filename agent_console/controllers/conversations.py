"""`/api/v1/conversations`: the unified threads, replies and notes, workflow changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody

from conversation.access import may_see_conversation, visible_inbox_ids, visible_inbox_subquery
from conversation.bot.handoff import hand_off, resume_bot
from conversation.bulk import MAX_BULK, bulk_update
from conversation.conversations import ChangeRejected, ConversationChange, mark_read, update_conversation
from conversation.delivery import retry_failed
from conversation.models import Agent, Conversation, Message
from conversation.replies import Author, ReplyRejected, queue_reply
from conversation.repository import BadQuery, ConversationFilter, get_thread, list_conversations
from conversation.types import AuthorType
from conversation.uow import UnitOfWork
from conversation.views import message_view


class BulkChange(msgspec.Struct):
    """One change for many conversations: the PATCH fields plus tag additions and removals."""

    ids: list[int]
    changes: dict[str, Any] = {}
    add_tags: list[str] = []
    remove_tags: list[str] = []


class ReplyCreate(msgspec.Struct):
    """A reply (sent on `channel`, default: the channel the customer last wrote on) or a private note."""

    text: str
    channel: str | None = None
    private: bool = False


async def _visible(uow: UnitOfWork, agent: Agent, conversation_id: int) -> None:
    # Unknown and forbidden look the same: an agent learns nothing about other inboxes.
    if not await may_see_conversation(uow.session, agent, conversation_id):
        raise NotFoundException("conversation not found")


def _author(agent: Agent) -> tuple[Author, dict[str, Any] | None]:
    """Who a reply is from: a bot agent's (an external bot's) replies are the bot's and do not take over."""
    if agent.role == "bot":
        return Author(AuthorType.BOT, agent.id, agent.name), {"bot_name": agent.name}
    return Author(AuthorType.AGENT, agent.id, agent.name), None


async def _bot_handoff(uow: UnitOfWork, conversation_id: int, agent: Agent, value: Any) -> dict[str, Any] | None:
    """`bot_handoff: true` hands the conversation to the team, `false` gives it back to the bot."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ValidationException("bot_handoff must be true or false")
    if value:
        reason = "external" if agent.role == "bot" else "agent"
        return await hand_off(uow, conversation_id, reason, bot_name=agent.name)
    return await resume_bot(uow, conversation_id)


def _int_or_none(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ClientException(f"{name} must be a number") from exc


def _change_from(data: dict[str, Any]) -> ConversationChange:
    known = {"status", "assignee_id", "team_id", "tags", "priority", "snoozed_until"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationException(f"unknown fields: {', '.join(unknown)}")
    snoozed = data.get("snoozed_until")
    when = None
    if snoozed:
        try:
            when = datetime.fromisoformat(str(snoozed).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationException("snoozed_until must be an ISO 8601 date/time") from exc
        if when.tzinfo is None:
            raise ValidationException("snoozed_until needs a timezone (e.g. 2026-01-01T09:00:00Z)")
    tags = data.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise ValidationException("tags must be a list of strings")
    assignee = data.get("assignee_id", "absent")
    if assignee not in ("absent", None) and not isinstance(assignee, int):
        raise ValidationException("assignee_id must be an agent id or null")
    return ConversationChange(
        status=data.get("status"),
        assignee_id=assignee if isinstance(assignee, int) else None,
        unassign="assignee_id" in data and assignee is None,
        team_id=data.get("team_id"),
        tags=tags,
        priority=data.get("priority"),
        snoozed_until=when,
    )


class ConversationController(Controller):
    path = "/api/v1/conversations"
    tags = ["conversations"]

    @get("/", summary="Conversation list (cursor-paginated, newest activity first)")
    async def list(
        self,
        request: Request[Agent, Any, Any],
        uow: NamedDependency[UnitOfWork],
        status: FromQuery[str | None] = "open",
        assignee: FromQuery[str | None] = None,
        inbox: FromQuery[str | None] = None,
        customer: FromQuery[str | None] = None,
        channel: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        priority: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        sort: FromQuery[str] = "activity",
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 25,
    ) -> dict[str, Any]:
        agent = request.user
        inbox_ids = visible_inbox_subquery(agent)  # part of the list's one statement
        filters = ConversationFilter(
            status=status or None, assignee=assignee, inbox_id=_int_or_none(inbox, "inbox"),
            customer_id=_int_or_none(customer, "customer"), channel=channel, tag=tag, priority=priority,
            q=q, sort=sort,
        )  # fmt: skip
        try:
            items, next_cursor = await list_conversations(
                uow.session,
                filters,
                inbox_ids=inbox_ids,
                me=agent.id or 0,
                cursor=cursor,
                limit=limit,  # type: ignore[arg-type]
            )
        except BadQuery as exc:
            raise ClientException(str(exc)) from exc
        return {"items": items, "next_cursor": next_cursor}

    @get("/{conversation_id:int}", summary="A conversation with its messages in order")
    async def get_one(
        self,
        request: Request[Agent, Any, Any],
        conversation_id: FromPath[int],
        uow: NamedDependency[UnitOfWork],
        before: FromQuery[int | None] = None,
        limit: FromQuery[int] = 200,
    ) -> dict[str, Any]:
        # Unknown and not visible look the same (404); the check rides on the thread's first statement.
        thread = await get_thread(
            uow.session, conversation_id, before_id=before, limit=max(1, min(limit, 500)),
            inbox_ids=visible_inbox_subquery(request.user),
        )  # fmt: skip
        if thread is None:
            raise NotFoundException("conversation not found")
        return thread

    @post("/{conversation_id:int}/messages", status_code=201, summary="Reply on a channel, or add a private note")
    async def reply(
        self,
        request: Request[Agent, Any, Any],
        conversation_id: FromPath[int],
        data: JSONBody[ReplyCreate],
        uow: NamedDependency[UnitOfWork],
    ) -> dict[str, Any]:
        agent = request.user
        await _visible(uow, agent, conversation_id)
        author, meta = _author(agent)
        try:
            message = await queue_reply(
                uow, conversation_id, author, data.text, channel=data.channel, private=data.private, meta=meta,
            )  # fmt: skip
        except ReplyRejected as exc:
            if exc.status_code == 404:
                raise NotFoundException(exc.reason) from exc
            raise ValidationException(exc.reason) from exc
        await uow.commit()
        return message_view(message, agents={agent.id: agent})  # type: ignore[dict-item]

    @patch("/{conversation_id:int}", summary="Change status, assignee, tags, priority")
    async def update(
        self,
        request: Request[Agent, Any, Any],
        conversation_id: FromPath[int],
        data: JSONBody[dict[str, Any]],
        uow: NamedDependency[UnitOfWork],
    ) -> dict[str, Any]:
        await _visible(uow, request.user, conversation_id)
        summary = await _bot_handoff(uow, conversation_id, request.user, data.pop("bot_handoff", None))
        try:
            if data or summary is None:
                summary = await update_conversation(uow, conversation_id, _change_from(data), request.user)
        except ChangeRejected as exc:
            raise ValidationException(str(exc)) from exc
        await uow.commit()
        return summary

    @post("/{conversation_id:int}/read", status_code=200, summary="Mark a conversation as read")
    async def read(
        self, request: Request[Agent, Any, Any], conversation_id: FromPath[int], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        await _visible(uow, request.user, conversation_id)
        await mark_read(uow, conversation_id)
        await uow.commit()
        return {"ok": True}

    @post("/{conversation_id:int}/messages/{message_id:int}/retry", status_code=200, summary="Retry a failed reply")
    async def retry(
        self,
        request: Request[Agent, Any, Any],
        conversation_id: FromPath[int],
        message_id: FromPath[int],
        uow: NamedDependency[UnitOfWork],
    ) -> dict[str, Any]:
        await _visible(uow, request.user, conversation_id)
        message = await uow.session.get(Message, message_id)
        if message is None or message.conversation_id != conversation_id:
            raise NotFoundException("message not found")
        if not await retry_failed(uow, message_id):
            raise ValidationException(f"only failed messages can be retried (this one is {message.status})")
        await uow.commit()
        return {"ok": True, "status": "queued"}

    @post("/bulk", status_code=200, summary="Apply one change to many conversations")
    async def bulk(
        self, request: Request[Agent, Any, Any], data: JSONBody[BulkChange], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        """`{ids, changes: {status?, assignee_id?, team_id?, priority?, snoozed_until?}, add_tags?, remove_tags?}`.

        Answers `{updated: [conversation summaries], rejected: {id: reason}}`; ids the agent may not see
        are rejected as "conversation not found".
        """
        if len(data.ids) > MAX_BULK:
            raise ValidationException(f"at most {MAX_BULK} conversations at once")
        if "tags" in data.changes:
            raise ValidationException("use add_tags / remove_tags for bulk tagging")
        change = _change_from(data.changes)
        inbox_ids = set(await visible_inbox_ids(uow.session, request.user))
        rows = (
            await uow.session.exec(
                sa.select(Conversation.id, Conversation.inbox_id).where(Conversation.id.in_(data.ids))  # type: ignore[call-overload,union-attr]
            )
        ).all()
        visible = [int(r[0]) for r in rows if r[1] in inbox_ids]
        try:
            result = await bulk_update(
                uow, visible, change, request.user, add_tags=data.add_tags, remove_tags=data.remove_tags
            )
        except ChangeRejected as exc:
            raise ValidationException(str(exc)) from exc
        await uow.commit()
        rejected = {str(k): v for k, v in result.rejected.items()}
        rejected.update({str(i): "conversation not found" for i in data.ids if i not in visible})
        return {"updated": result.updated, "rejected": rejected}
