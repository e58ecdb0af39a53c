"""`/api/v1/me`, `/api/v1/agents`, `/api/v1/canned_responses`: who works here and what they reuse."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select

from agent_console.auth import require_admin
from conversation.access import visible_inbox_ids
from conversation.agents import AgentError, create_agent
from conversation.models import Agent, CannedResponse
from conversation.uow import UnitOfWork
from conversation.views import agent_ref


class AgentCreate(msgspec.Struct):
    email: str
    name: str
    password: str
    role: str = "agent"


class CannedCreate(msgspec.Struct):
    short_code: str
    text: str
    title: str = ""


@get("/api/v1/me", tags=["agents"], summary="The authenticated agent")
async def me(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> dict[str, Any]:
    agent = request.user
    return {**(agent_ref(agent) or {}), "role": agent.role, "inbox_ids": await visible_inbox_ids(uow.session, agent)}


class AgentController(Controller):
    path = "/api/v1/agents"
    tags = ["agents"]

    @get("/", summary="Agents (for assignment)")
    async def list(self, uow: NamedDependency[UnitOfWork]) -> dict[str, Any]:
        agents = (
            await uow.session.exec(select(Agent).where(col(Agent.is_active).is_(True)).order_by(Agent.name))
        ).all()
        return {"items": [{**(agent_ref(a) or {}), "role": a.role} for a in agents]}

    @post("/", status_code=201, summary="Create an agent (admins)")
    async def create(
        self, request: Request[Agent, Any, Any], data: JSONBody[AgentCreate], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        require_admin(request.user)
        try:
            agent = await create_agent(
                uow.session, email=data.email, name=data.name, role=data.role, password=data.password
            )
        except AgentError as exc:
            raise ValidationException(str(exc)) from exc
        await uow.commit()
        return {**(agent_ref(agent) or {}), "role": agent.role}


class CannedResponseController(Controller):
    path = "/api/v1/canned_responses"
    tags = ["canned responses"]

    @get("/", summary="Saved replies (search with q)")
    async def list(self, uow: NamedDependency[UnitOfWork], q: FromQuery[str] = "") -> dict[str, Any]:
        query = select(CannedResponse)
        if q.strip():
            like = f"%{q.strip().lower()}%"
            query = query.where(or_(col(CannedResponse.short_code).ilike(like), col(CannedResponse.text).ilike(like)))
        rows = (await uow.session.exec(query.order_by(CannedResponse.short_code).limit(50))).all()
        return {"items": [{"id": r.id, "short_code": r.short_code, "title": r.title, "text": r.text} for r in rows]}

    @post("/", status_code=201, summary="Save a reply")
    async def create(
        self, request: Request[Agent, Any, Any], data: JSONBody[CannedCreate], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        code = data.short_code.strip().lstrip("/").lower()
        if not code or not data.text.strip():
            raise ValidationException("short_code and text are required")
        row = CannedResponse(short_code=code, title=data.title, text=data.text.strip(), created_by=request.user.id)
        uow.session.add(row)
        try:
            await uow.commit()
        except IntegrityError as exc:
            raise ValidationException(f"a canned response /{code} already exists") from exc
        return {"id": row.id, "short_code": row.short_code, "title": row.title, "text": row.text}

    @delete("/{canned_id:int}", status_code=204)
    async def remove(
        self, request: Request[Agent, Any, Any], canned_id: FromPath[int], uow: NamedDependency[UnitOfWork]
    ) -> None:
        row = await uow.session.get(CannedResponse, canned_id)
        if row is None:
            raise NotFoundException("canned response not found")
        await uow.session.delete(row)
        await uow.commit()
