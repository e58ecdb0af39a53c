"""The agent console: conversation list, thread, reply box, customer sidebar, search (HTML + HTMX).

Every page is server-rendered; HTMX asks for fragments (`HX-Request`), and live updates come over
`WS /api/v1/stream`. Writes go through the same domain functions as the JSON API, with Litestar's CSRF
check on every POST (forms carry `_csrf_token`, HTMX and fetch the `X-CSRFToken` header).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from litestar import MediaType, Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlmodel import col, select

from agent_console.deps import ConsoleContext
from agent_console.ui import UI_HELPERS
from conversation.access import may_see_conversation, visible_inbox_ids
from conversation.bulk import MAX_BULK, bulk_update
from conversation.conversations import ChangeRejected, ConversationChange, mark_read
from conversation.customers import MergeRejected, merge_customers, open_suggestions, undo_merge
from conversation.delivery import retry_failed
from conversation.models import (
    Agent,
    Attachment,
    AuditEvent,
    Conversation,
    Customer,
    Inbox,
    InboxMember,
    Message,
    utcnow,
)
from conversation.replies import Author, ReplyRejected, queue_reply
from conversation.repository import BadQuery, ConversationFilter, get_customer_profile, get_thread, list_conversations
from conversation.repository import list_inboxes as load_inboxes
from conversation.repository import search as search_all
from conversation.types import AuthorType
from conversation.uow import UnitOfWork
from conversation.views import customer_display_name, message_view
from conversation.workspace import delivery_warning, known_tags, open_tags, reply_options, teams, view_counts

PAGE_SIZE = 30
THREAD_PAGE = 100
VIEWS = ("mine", "unassigned", "all")
STATUSES = ("open", "pending", "snoozed", "resolved", "all")
PRIORITIES = ("none", "low", "medium", "high", "urgent")
SORTS = ("activity", "waiting")
#: Replies with attachments may be larger than Litestar's 10 MB default body limit.
REPLY_MAX_BODY = 30 * 1024 * 1024
MAX_FILES = 10


# --- the list's state ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Which conversations the list shows: a view (mine/unassigned/all), an inbox or tag, and filters."""

    view: str = "all"
    inbox: int | None = None
    tag: str | None = None
    status: str = "open"
    channel: str | None = None
    priority: str | None = None
    sort: str = "activity"

    @classmethod
    def from_request(cls, request: Request[Any, Any, Any]) -> ListQuery:
        """Read the list state from the query string; unknown values fall back to the defaults."""
        params = request.query_params
        inbox = params.get("inbox") or ""
        return cls(
            view=_pick(params.get("view"), VIEWS, "all"),
            inbox=int(inbox) if inbox.isdigit() else None,
            tag=(params.get("tag") or "").strip().lower() or None,
            status=_pick(params.get("status"), STATUSES, "open"),
            channel=_pick(params.get("channel"), tuple(UI_HELPERS.channels), "") or None,
            priority=_pick(params.get("priority"), PRIORITIES, "") or None,
            sort=_pick(params.get("sort"), SORTS, "activity"),
        )

    def conversation_filter(self) -> ConversationFilter:
        assignee = {"mine": "me", "unassigned": "none"}.get(self.view)
        return ConversationFilter(
            status=self.status, assignee=assignee, inbox_id=self.inbox, channel=self.channel, tag=self.tag,
            priority=self.priority, sort=self.sort,
        )  # fmt: skip

    def params(self, **changes: Any) -> dict[str, str]:
        """The non-default parts, as query parameters (after `changes`)."""
        state = replace(self, **changes) if changes else self
        defaults = ListQuery()
        out = {}
        for name in ("view", "inbox", "tag", "status", "channel", "priority", "sort"):
            value = getattr(state, name)
            if value is not None and value != getattr(defaults, name):
                out[name] = str(value)
        return out

    def qs(self, **changes: Any) -> str:
        """`?view=mine&status=pending`, or "" for the default list."""
        params = self.params(**changes)
        return "?" + urlencode(params) if params else ""

    def client_filter(self, me: int) -> dict[str, Any]:
        """What the browser needs to decide whether a live conversation belongs in this list."""
        return {
            "view": self.view, "inbox": self.inbox, "tag": self.tag, "status": self.status,
            "channel": self.channel, "priority": self.priority, "sort": self.sort, "me": me,
        }  # fmt: skip


def _pick(value: str | None, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


def _title(lq: ListQuery, inboxes: list[Inbox]) -> str:
    if lq.inbox is not None:
        return next((i.name for i in inboxes if i.id == lq.inbox), "Inbox")
    if lq.tag:
        return f"#{lq.tag}"
    return {"mine": "Mine", "unassigned": "Unassigned", "all": "All conversations"}[lq.view]


# --- shared context ------------------------------------------------------------------------------


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


async def shell_context(request: Request[Agent, Any, Any], uow: UnitOfWork, section: str) -> dict[str, Any]:
    """What every console page needs: the agent, their inboxes, view counts, tags."""
    agent = request.user
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    inboxes = await load_inboxes(uow.session, inbox_ids)
    return {
        "agent": agent,
        "is_admin": agent.role == "admin",
        "inbox_ids": inbox_ids,
        "inboxes": inboxes,
        "inbox_by_id": {i.id: i for i in inboxes},
        "counts": await view_counts(uow.session, inbox_ids, agent.id or 0),
        "tags": await open_tags(uow.session, inbox_ids),
        "section": section,
        "ui": UI_HELPERS,
    }


async def _list_context(
    uow: UnitOfWork, agent: Agent, inbox_ids: list[int], inboxes: list[Inbox], lq: ListQuery, cursor: str | None = None
) -> dict[str, Any]:
    try:
        items, next_cursor = await list_conversations(
            uow.session, lq.conversation_filter(), inbox_ids=inbox_ids, me=agent.id or 0, cursor=cursor, limit=PAGE_SIZE
        )
    except BadQuery as exc:
        raise ClientException(str(exc)) from exc
    return {
        "lq": lq,
        "items": items,
        "next_cursor": next_cursor,
        "list_title": _title(lq, inboxes),
        "client_filter": lq.client_filter(agent.id or 0),
    }


async def _ensure_visible(uow: UnitOfWork, agent: Agent, conversation_id: int) -> None:
    # Unknown and forbidden look the same: nothing leaks about other inboxes.
    if not await may_see_conversation(uow.session, agent, conversation_id):
        raise NotFoundException("conversation not found")


async def _assignable_agents(uow: UnitOfWork, inbox_id: int) -> list[Agent]:
    """Active agents who can see the inbox (its members and the admins): the people to assign to."""
    members = sa.select(InboxMember.agent_id).where(InboxMember.inbox_id == inbox_id)  # type: ignore[call-overload]
    query = (
        select(Agent)
        .where(col(Agent.is_active).is_(True), sa.or_(Agent.role == "admin", col(Agent.id).in_(members)))
        .order_by(col(Agent.name))
    )
    return list((await uow.session.exec(query)).all())


async def customer_panel_context(uow: UnitOfWork, agent: Agent, customer_id: int) -> dict[str, Any]:
    """The customer sidebar: profile, identities, orders, conversations, merge suggestions."""
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    await _ensure_customer_visible(uow, agent, customer_id, inbox_ids)
    profile = await get_customer_profile(uow.session, customer_id, None if agent.role == "admin" else inbox_ids)
    if profile is None:
        raise NotFoundException("customer not found")
    profile["merge_suggestions"] = await open_suggestions(uow, customer_id)
    return {"customer": profile, "ui": UI_HELPERS}


async def _ensure_customer_visible(uow: UnitOfWork, agent: Agent, customer_id: int, inbox_ids: list[int]) -> None:
    """Agents see customers who wrote to one of their inboxes (or to none yet); admins see all."""
    if agent.role == "admin":
        return
    rows = (
        await uow.session.exec(sa.select(Conversation.inbox_id).where(Conversation.customer_id == customer_id))  # type: ignore[call-overload]
    ).all()
    inboxes = {r[0] for r in rows}
    if inboxes and not inboxes & set(inbox_ids):
        raise NotFoundException("customer not found")


async def thread_context(uow: UnitOfWork, agent: Agent, conversation_id: int) -> dict[str, Any]:
    """The open conversation: header, messages, reply options, and the customer sidebar."""
    await _ensure_visible(uow, agent, conversation_id)
    thread = await get_thread(uow.session, conversation_id, limit=THREAD_PAGE)
    if thread is None:
        raise NotFoundException("conversation not found")
    options = await reply_options(uow.session, conversation_id)
    now = utcnow()
    chosen = next((c for c in options.channels if c.kind == options.default), None)
    inbox = await uow.session.get(Inbox, thread["inbox_id"])
    context = {
        "thread": thread,
        "inbox": inbox,
        "reply": options,
        "reply_warning": delivery_warning(chosen.kind, chosen.last_inbound_at, now) if chosen else None,
        "agents": await _assignable_agents(uow, thread["inbox_id"]),
        "teams": await teams(uow.session),
        "known_tags": await known_tags(uow.session),
        "ui": UI_HELPERS,
    }
    context.update(await customer_panel_context(uow, agent, thread["customer"]["id"]))
    return context


# --- pages ---------------------------------------------------------------------------------------


@get("/", name="console")
async def console_home(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Template:
    """The conversation list (no thread open)."""
    return await _console_page(request, uow, None)


@get("/c/{conversation_id:int}", name="console-thread")
async def conversation_page(
    request: Request[Agent, Any, Any], conversation_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """A conversation: the whole console with it open, or (HTMX) the thread pane and sidebar only."""
    if _is_htmx(request) and request.headers.get("hx-target") == "thread-pane":
        context = await thread_context(uow, request.user, conversation_id)
        return Template("console/_thread_pane.html", context={**context, "oob_customer": True})
    return await _console_page(request, uow, conversation_id)


async def _console_page(request: Request[Agent, Any, Any], uow: UnitOfWork, conversation_id: int | None) -> Template:
    lq = ListQuery.from_request(request)
    context = await shell_context(request, uow, "inbox")
    context.update(await _list_context(uow, request.user, context["inbox_ids"], context["inboxes"], lq))
    if conversation_id is not None:
        context.update(await thread_context(uow, request.user, conversation_id))
    return Template("console/index.html", context=context)


@get("/list")
async def list_pane(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], open: FromQuery[int | None] = None
) -> Template:
    """The list pane for a view or filter change; pushes the matching page URL into the history."""
    lq = ListQuery.from_request(request)
    agent = request.user
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    inboxes = await load_inboxes(uow.session, inbox_ids)
    context = await _list_context(uow, agent, inbox_ids, inboxes, lq)
    path = f"/console/c/{open}" if open else "/console"
    return Template(
        "console/_list_pane.html",
        context={**context, "ui": UI_HELPERS, "inbox_by_id": {i.id: i for i in inboxes}},
        headers={"HX-Push-Url": path + lq.qs()},
    )


@get("/rows")
async def more_rows(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], cursor: FromQuery[str] = ""
) -> Template:
    """The next page of rows after `cursor` ("load more" and infinite scroll)."""
    lq = ListQuery.from_request(request)
    agent = request.user
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    inboxes = await load_inboxes(uow.session, inbox_ids)
    context = await _list_context(uow, agent, inbox_ids, inboxes, lq, cursor=cursor or None)
    return Template(
        "console/_rows.html", context={**context, "ui": UI_HELPERS, "inbox_by_id": {i.id: i for i in inboxes}}
    )


@get("/nav")
async def nav_fragment(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Template:
    """The navigation with fresh counts (refreshed after live events, debounced by the browser)."""
    context = await shell_context(request, uow, "inbox")
    return Template("console/_nav.html", context={**context, "lq": ListQuery.from_request(request)})


@get("/c/{conversation_id:int}/header")
async def thread_header(
    request: Request[Agent, Any, Any], conversation_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """The thread header (status, assignee, tags) after a change made elsewhere."""
    context = await thread_context(uow, request.user, conversation_id)
    return Template("console/_thread_head.html", context=context)


@get("/c/{conversation_id:int}/customer")
async def thread_customer(
    request: Request[Agent, Any, Any], conversation_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """The customer sidebar of a conversation (after a merge or a customer update)."""
    await _ensure_visible(uow, request.user, conversation_id)
    customer_id = (
        await uow.session.exec(sa.select(Conversation.customer_id).where(Conversation.id == conversation_id))  # type: ignore[call-overload]
    ).scalar()
    context = await customer_panel_context(uow, request.user, int(customer_id))
    return Template("console/_customer.html", context={**context, "conversation_id": conversation_id})


@get("/c/{conversation_id:int}/m/{message_id:int}")
async def message_fragment(
    request: Request[Agent, Any, Any],
    conversation_id: FromPath[int],
    message_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
) -> Template:
    """One message as the thread draws it (live inserts and status changes)."""
    await _ensure_visible(uow, request.user, conversation_id)
    view = await _message_view(uow, conversation_id, message_id)
    return Template("console/_message.html", context={"m": view, "conversation_id": conversation_id, "ui": UI_HELPERS})


@get("/c/{conversation_id:int}/earlier")
async def earlier_messages(
    request: Request[Agent, Any, Any],
    conversation_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    before: FromQuery[int] = 0,
) -> Template:
    """Older messages of a long thread, above the ones shown."""
    await _ensure_visible(uow, request.user, conversation_id)
    thread = await get_thread(uow.session, conversation_id, before_id=before or None, limit=THREAD_PAGE)
    if thread is None:
        raise NotFoundException("conversation not found")
    return Template("console/_earlier.html", context={"thread": thread, "ui": UI_HELPERS})


async def _message_view(uow: UnitOfWork, conversation_id: int, message_id: int) -> dict[str, Any]:
    message = await uow.session.get(Message, message_id)
    if message is None or message.conversation_id != conversation_id:
        raise NotFoundException("message not found")
    customer_name = None
    if message.author_type == "customer" and message.author_id:
        customer_name = customer_display_name(await uow.session.get(Customer, message.author_id))
    agents = {}
    if message.author_type == "agent" and message.author_id:
        author = await uow.session.get(Agent, message.author_id)
        agents = {author.id: author} if author else {}
    attachments = (await uow.session.exec(select(Attachment).where(Attachment.message_id == message_id))).all()
    return message_view(message, customer_name=customer_name, agents=agents, attachments=attachments, full=True)  # type: ignore[arg-type]


# --- actions -------------------------------------------------------------------------------------


@post("/c/{conversation_id:int}/read", status_code=204)
async def read_conversation(
    request: Request[Agent, Any, Any], conversation_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> None:
    """The agent has the thread in front of them: its unread count drops to zero."""
    await _ensure_visible(uow, request.user, conversation_id)
    await mark_read(uow, conversation_id)
    await uow.commit()


async def _uploads(request: Request[Any, Any, Any], console: ConsoleContext) -> list[Attachment]:
    form = await request.form()
    files = [f for f in form.getall("files") if isinstance(f, UploadFile) and f.filename] if "files" in form else []
    if not files:
        return []
    if console.write_attachment is None:
        raise ValidationException("attachments are not enabled on this hub")
    if len(files) > MAX_FILES:
        raise ValidationException(f"at most {MAX_FILES} files per message")
    rows = []
    for upload in files:
        data = await upload.read()
        if len(data) > console.max_attachment_bytes:
            raise ValidationException(
                f"{upload.filename} is larger than {UI_HELPERS.filesize(console.max_attachment_bytes)}"
            )
        key = await console.write_attachment(data)
        name = (upload.filename or "file").replace("/", "_").replace("\\", "_")[-200:]
        rows.append(
            Attachment(
                message_id=0,
                filename=name,
                content_type=upload.content_type or "application/octet-stream",
                size=len(data),
                storage_key=key,
                status="stored",
            )
        )
    return rows


@post("/c/{conversation_id:int}/reply", status_code=201, request_max_body_size=REPLY_MAX_BODY)
async def reply(
    request: Request[Agent, Any, Any],
    conversation_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    console: NamedDependency[ConsoleContext],
) -> Template:
    """Send a reply on the chosen channel, or add a private note; answers with the new message."""
    agent = request.user
    await _ensure_visible(uow, agent, conversation_id)
    form = await request.form()
    private = str(form.get("private") or "") in ("1", "true", "on")
    channel = str(form.get("channel") or "") or None
    attachments = await _uploads(request, console)
    try:
        message = await queue_reply(
            uow, conversation_id, Author(AuthorType.AGENT, agent.id, agent.name), str(form.get("text") or ""),
            channel=None if private else channel, private=private, attachments=attachments,
        )  # fmt: skip
    except ReplyRejected as exc:
        raise ValidationException(exc.reason) from exc
    await uow.commit()
    view = message_view(message, agents={agent.id: agent}, attachments=attachments, full=True)  # type: ignore[dict-item]
    context = {"m": view, "conversation_id": conversation_id, "ui": UI_HELPERS}
    return Template("console/_message.html", context=context, status_code=201)


@post("/c/{conversation_id:int}/m/{message_id:int}/retry")
async def retry_message(
    request: Request[Agent, Any, Any],
    conversation_id: FromPath[int],
    message_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
) -> Template:
    """Queue a failed reply again (the outbox sends it from attempt one)."""
    await _ensure_visible(uow, request.user, conversation_id)
    message = await uow.session.get(Message, message_id)
    if message is None or message.conversation_id != conversation_id:
        raise NotFoundException("message not found")
    if not await retry_failed(uow, message_id):
        raise ValidationException(f"only failed messages can be retried (this one is {message.status})")
    await uow.commit()
    view = await _message_view(uow, conversation_id, message_id)
    return Template("console/_message.html", context={"m": view, "conversation_id": conversation_id, "ui": UI_HELPERS})


def _change_from_form(form: Any, agent: Agent) -> ConversationChange:
    """A ConversationChange from console form fields (status, snoozed_until, assignee, team, priority)."""
    snoozed = None
    if form.get("snoozed_until"):
        try:
            snoozed = datetime.fromisoformat(str(form["snoozed_until"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationException("snoozed_until must be a date and time") from exc
        if snoozed.tzinfo is None:
            raise ValidationException("snoozed_until needs a timezone")
    assignee = str(form.get("assignee") or "")
    team = str(form.get("team") or "")
    return ConversationChange(
        status=str(form["status"]) if form.get("status") else None,
        snoozed_until=snoozed,
        assignee_id=agent.id if assignee == "me" else (int(assignee) if assignee.isdigit() else None),
        unassign=assignee == "none",
        team_id=0 if team == "none" else (int(team) if team.isdigit() else None),
        priority=str(form["priority"]) if form.get("priority") else None,
    )


def _tag_edits(form: Any) -> tuple[list[str], list[str]]:
    add = [t for t in str(form.get("add_tag") or "").split(",") if t.strip()]
    remove = [t for t in form.getall("remove_tag")] if "remove_tag" in form else []
    return add, [str(t) for t in remove if str(t).strip()]


@post("/c/{conversation_id:int}/update")
async def update_thread(
    request: Request[Agent, Any, Any], conversation_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """Status (incl. snooze), assignee (self/agent/team), priority and tags; answers with the header."""
    agent = request.user
    await _ensure_visible(uow, agent, conversation_id)
    form = await request.form()
    change = _change_from_form(form, agent)
    add, remove = _tag_edits(form)
    try:
        result = await bulk_update(uow, [conversation_id], change, agent, add_tags=add, remove_tags=remove)
    except ChangeRejected as exc:
        raise ValidationException(str(exc)) from exc
    if result.rejected:
        raise ValidationException(result.rejected[conversation_id])
    await uow.commit()
    context = await thread_context(uow, agent, conversation_id)
    trigger = {"omnihub:summaries": {"items": result.updated}}
    return Template("console/_thread_head.html", context=context, headers={"HX-Trigger": json.dumps(trigger)})


@post("/bulk")
async def bulk_action(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Response[str]:
    """One change to every selected conversation; the browser redraws the rows from the summaries."""
    agent = request.user
    form = await request.form()
    ids = [int(i) for i in (form.getall("ids") if "ids" in form else []) if str(i).isdigit()]
    if not ids:
        raise ValidationException("select at least one conversation")
    if len(ids) > MAX_BULK:
        raise ValidationException(f"at most {MAX_BULK} conversations at once")
    inbox_ids = set(await visible_inbox_ids(uow.session, agent))
    rows = (
        await uow.session.exec(sa.select(Conversation.id, Conversation.inbox_id).where(col(Conversation.id).in_(ids)))
    ).all()  # type: ignore[call-overload]
    visible = [int(r[0]) for r in rows if r[1] in inbox_ids]
    add, remove = _tag_edits(form)
    try:
        result = await bulk_update(
            uow, visible, _change_from_form(form, agent), agent, add_tags=add, remove_tags=remove
        )
    except ChangeRejected as exc:
        raise ValidationException(str(exc)) from exc
    await uow.commit()
    trigger = {
        "omnihub:summaries": {"items": result.updated},
        "omnihub:bulk-done": {
            "updated": len(result.updated),
            "rejected": len(result.rejected) + len(ids) - len(visible),
        },
    }
    return Response(content="", status_code=200, headers={"HX-Trigger": json.dumps(trigger)}, media_type=MediaType.TEXT)


# --- customers -----------------------------------------------------------------------------------


@get("/customers/{customer_id:int}")
async def customer_page(
    request: Request[Agent, Any, Any], customer_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """A customer's profile on its own page (from search), or the sidebar fragment for HTMX."""
    panel = await customer_panel_context(uow, request.user, customer_id)
    if _is_htmx(request):
        return Template("console/_customer.html", context=panel)
    context = await shell_context(request, uow, "customer")
    return Template("console/customer.html", context={**context, **panel, "lq": ListQuery()})


@get("/customers/{customer_id:int}/candidates")
async def merge_candidates(
    request: Request[Agent, Any, Any],
    customer_id: FromPath[int],
    uow: NamedDependency[UnitOfWork],
    q: FromQuery[str] = "",
) -> Template:
    """Customers matching `q` that could be merged into this one."""
    agent = request.user
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    await _ensure_customer_visible(uow, agent, customer_id, inbox_ids)
    found: list[Customer] = []
    term = q.strip().lower()
    if len(term) >= 2:
        like = f"%{term}%"
        query = (
            select(Customer)
            .where(col(Customer.merged_into_id).is_(None), Customer.id != customer_id)
            .where(sa.or_(sa.func.lower(Customer.name).like(like), sa.func.lower(Customer.email).like(like),
                          col(Customer.phone).like(like)))
            .order_by(col(Customer.id).desc())
            .limit(20)
        )  # fmt: skip
        for candidate in (await uow.session.exec(query)).all():
            try:
                await _ensure_customer_visible(uow, agent, candidate.id or 0, inbox_ids)
            except NotFoundException:
                continue
            found.append(candidate)
    return Template(
        "console/_candidates.html",
        context={"candidates": found[:8], "customer_id": customer_id, "q": q, "ui": UI_HELPERS},
    )


@post("/customers/{customer_id:int}/merge")
async def merge(
    request: Request[Agent, Any, Any], customer_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """Merge another customer into this one; the sidebar comes back with an undo button."""
    agent = request.user
    form = await request.form()
    other = str(form.get("other_id") or "")
    if not other.isdigit():
        raise ValidationException("choose the customer to merge")
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    await _ensure_customer_visible(uow, agent, customer_id, inbox_ids)
    await _ensure_customer_visible(uow, agent, int(other), inbox_ids)
    other_name = customer_display_name(await uow.session.get(Customer, int(other)))
    try:
        merge_id = await merge_customers(uow, customer_id, int(other), agent)
    except MergeRejected as exc:
        raise ValidationException(str(exc)) from exc
    await uow.commit()
    context = await customer_panel_context(uow, agent, customer_id)
    context["notice"] = {"kind": "merged", "merge_id": merge_id, "other_name": other_name}
    return Template("console/_customer.html", context=context)


@post("/merges/{merge_id:int}/undo")
async def undo(
    request: Request[Agent, Any, Any], merge_id: FromPath[int], uow: NamedDependency[UnitOfWork]
) -> Template:
    """Undo a merge: both profiles are back as they were."""
    agent = request.user
    audit = await uow.session.get(AuditEvent, merge_id)
    if audit is None or audit.action != "customer.merged":
        raise NotFoundException("merge not found")
    kept = int(audit.data.get("kept", 0))
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    await _ensure_customer_visible(uow, agent, kept, inbox_ids)
    try:
        restored = await undo_merge(uow, merge_id, agent)
    except MergeRejected as exc:
        raise ValidationException(str(exc)) from exc
    await uow.commit()
    context = await customer_panel_context(uow, agent, kept)
    context["notice"] = {"kind": "unmerged", "restored_id": restored}
    return Template("console/_customer.html", context=context)


# --- search --------------------------------------------------------------------------------------


@get("/search")
async def search_page(
    request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork], q: FromQuery[str] = ""
) -> Template:
    """Messages, customers and order numbers matching `q`, with the matches highlighted."""
    context = await shell_context(request, uow, "search")
    results = await search_all(uow.session, q, context["inbox_ids"], limit=30)
    if request.user.role != "admin":
        results = await _only_visible_customers(uow, results, context["inbox_ids"])
    conversation_ids = sorted({m["conversation_id"] for m in results["messages"]})
    names: dict[int, str] = {}
    if conversation_ids:
        rows = (
            await uow.session.exec(
                sa.select(Conversation.id, Customer.name, Customer.email, Customer.phone)  # type: ignore[call-overload]
                .join(Customer, Customer.id == Conversation.customer_id)
                .where(col(Conversation.id).in_(conversation_ids))
            )
        ).all()
        names = {int(r[0]): r[1] or r[2] or r[3] or "Customer" for r in rows}
    context.update({"q": q, "results": results, "conversation_names": names, "lq": ListQuery()})
    template = "console/_search_results.html" if _is_htmx(request) else "console/search.html"
    return Template(template, context=context)


async def _only_visible_customers(uow: UnitOfWork, results: dict[str, Any], inbox_ids: list[int]) -> dict[str, Any]:
    """Drop customers (and their orders) who only wrote to inboxes the agent does not work."""
    ids = {c["id"] for c in results["customers"]} | {
        o["customer"]["id"] for o in results["orders"] if o["customer"]["id"]
    }
    if not ids:
        return results
    rows = (
        await uow.session.exec(
            sa.select(Conversation.customer_id, Conversation.inbox_id).where(col(Conversation.customer_id).in_(ids))  # type: ignore[call-overload]
        )
    ).all()
    inboxes_of: dict[int, set[int]] = {}
    for customer_id, inbox_id in rows:
        inboxes_of.setdefault(int(customer_id), set()).add(int(inbox_id))
    mine = set(inbox_ids)
    hidden = {cid for cid, inboxes in inboxes_of.items() if not inboxes & mine}
    return {
        **results,
        "customers": [c for c in results["customers"] if c["id"] not in hidden],
        "orders": [o for o in results["orders"] if o["customer"]["id"] not in hidden],
    }


# --- errors --------------------------------------------------------------------------------------


def _page_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Console errors as people read them: a toast for HTMX/fetch, a page otherwise, login when signed out."""
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        target = "/login?" + urlencode({"next": str(request.url.path)})
        if _is_htmx(request):
            return Response(content="", status_code=401, headers={"HX-Redirect": target})
        return Redirect(target)
    detail = exc.detail or "Something went wrong"
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        detail = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in exc.extra)
    if _is_htmx(request):
        return Response(content=detail, status_code=status, media_type=MediaType.TEXT)
    return Template("console/error.html", context={"status": status, "detail": detail}, status_code=status)


ERROR_HANDLERS: dict[Any, Any] = {
    NotAuthorizedException: _page_error,
    NotFoundException: _page_error,
    PermissionDeniedException: _page_error,
    ValidationException: _page_error,
    ClientException: _page_error,
}

console_router = Router(
    path="/console",
    route_handlers=[
        console_home, conversation_page, list_pane, more_rows, nav_fragment, thread_header, thread_customer,
        message_fragment, earlier_messages, read_conversation, reply, retry_message, update_thread, bulk_action,
        customer_page, merge_candidates, merge, undo, search_page,
    ],
    exception_handlers=ERROR_HANDLERS,
    include_in_schema=False,
)  # fmt: skip
