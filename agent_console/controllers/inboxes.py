"""`/api/v1/inboxes`: connect channels and read them back (secrets are write-only)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody
from sqlmodel import select

from agent_console.auth import require_admin
from agent_console.deps import ConsoleContext
from conversation.access import may_see_inbox, visible_inbox_ids
from conversation.inboxes import InvalidSettings, create_inbox, set_members, update_inbox
from conversation.models import Agent, Inbox, InboxMember
from conversation.repository import list_inboxes
from conversation.uow import UnitOfWork
from conversation.views import iso


class InboxCreate(msgspec.Struct):
    """A new inbox: its kind, a name, and that provider's settings (CONTRACT.md)."""

    kind: str
    name: str
    settings: dict[str, Any] = {}
    member_ids: list[int] = []


class InboxUpdate(msgspec.Struct):
    """Rename an inbox or change some settings (secrets left out keep their value)."""

    name: str | None = None
    settings: dict[str, Any] | None = None
    is_active: bool | None = None


class Members(msgspec.Struct):
    agent_ids: list[int]


def inbox_view(inbox: Inbox, console: ConsoleContext, members: list[int] | None = None) -> dict[str, Any]:
    """An inbox without its secrets: which secret keys are set is shown, never their values."""
    assert inbox.id is not None
    spec = console.channel_specs.get(inbox.kind)
    secret_keys = sorted(spec.secrets) if spec else []
    set_secrets = sorted(console.box.open(inbox.secrets)) if inbox.secrets else []
    view = {
        "id": inbox.id,
        "kind": inbox.kind,
        "name": inbox.name,
        "settings": inbox.settings,
        "secrets_set": set_secrets,
        "secret_keys": secret_keys,
        "is_active": inbox.is_active,
        "webhook_url": console.webhook_url(inbox.kind, inbox.id),
        "created_at": iso(inbox.created_at),
    }
    if members is not None:
        view["member_ids"] = members
    return view


class InboxController(Controller):
    path = "/api/v1/inboxes"
    tags = ["inboxes"]

    @post("/", status_code=201, summary="Connect a channel")
    async def create(
        self,
        request: Request[Agent, Any, Any],
        data: JSONBody[InboxCreate],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        require_admin(request.user)
        spec = console.channel_specs.get(data.kind)
        if spec is None:
            raise ValidationException(f"kind must be one of: {', '.join(sorted(console.channel_specs))}")
        try:
            inbox = await create_inbox(
                uow, kind=data.kind, name=data.name, settings=data.settings, spec=spec, box=console.box,
                member_ids=sorted({request.user.id, *data.member_ids}),  # type: ignore[arg-type]
            )  # fmt: skip
        except InvalidSettings as exc:
            raise ValidationException(str(exc), extra=exc.problems) from exc
        await uow.commit()
        return inbox_view(inbox, console)

    @get("/", summary="Inboxes you work")
    async def list(
        self,
        request: Request[Agent, Any, Any],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        ids = await visible_inbox_ids(uow.session, request.user)
        return {"items": [inbox_view(i, console) for i in await list_inboxes(uow.session, ids)]}

    @get("/{inbox_id:int}", summary="One inbox")
    async def get_one(
        self,
        request: Request[Agent, Any, Any],
        inbox_id: FromPath[int],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        inbox = await uow.session.get(Inbox, inbox_id)
        if inbox is None or not await may_see_inbox(uow.session, request.user, inbox_id):
            raise NotFoundException("inbox not found")
        members = (await uow.session.exec(select(InboxMember.agent_id).where(InboxMember.inbox_id == inbox_id))).all()
        return inbox_view(inbox, console, sorted(members))

    @patch("/{inbox_id:int}", summary="Rename, reconfigure or pause an inbox")
    async def update(
        self,
        request: Request[Agent, Any, Any],
        inbox_id: FromPath[int],
        data: JSONBody[InboxUpdate],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        require_admin(request.user)
        inbox = await uow.session.get(Inbox, inbox_id)
        if inbox is None:
            raise NotFoundException("inbox not found")
        try:
            await update_inbox(
                uow,
                inbox,
                name=data.name,
                settings=data.settings,
                spec=console.channel_specs[inbox.kind],
                box=console.box,
            )
        except InvalidSettings as exc:
            raise ValidationException(str(exc), extra=exc.problems) from exc
        if data.is_active is not None:
            inbox.is_active = data.is_active
            uow.session.add(inbox)
        await uow.commit()
        console.on_inbox_changed(inbox_id)
        return inbox_view(inbox, console)

    @put("/{inbox_id:int}/members", summary="Set which agents work an inbox")
    async def members(
        self,
        request: Request[Agent, Any, Any],
        inbox_id: FromPath[int],
        data: JSONBody[Members],
        uow: NamedDependency[UnitOfWork],
        console: NamedDependency[ConsoleContext],
    ) -> dict[str, Any]:
        require_admin(request.user)
        if await uow.session.get(Inbox, inbox_id) is None:
            raise NotFoundException("inbox not found")
        await set_members(uow, inbox_id, data.agent_ids)
        await uow.commit()
        console.on_agent_changed()
        return {"inbox_id": inbox_id, "agent_ids": sorted(set(data.agent_ids))}
