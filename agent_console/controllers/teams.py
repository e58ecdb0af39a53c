"""`/api/v1/teams`: groups of agents conversations can be assigned to (`PATCH ... {team_id}`)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody

from agent_console.auth import require_admin
from conversation.models import Agent
from conversation.teams import TeamError, create_team, delete_team, list_teams, set_team_members
from conversation.uow import UnitOfWork


class TeamCreate(msgspec.Struct):
    name: str
    member_ids: list[int] = []


class TeamMembers(msgspec.Struct):
    agent_ids: list[int]


def _error(exc: TeamError) -> Exception:
    return NotFoundException(str(exc)) if exc.status_code == 404 else ValidationException(str(exc))


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["teams"]

    @get("/", summary="Teams and their members")
    async def list(self, uow: NamedDependency[UnitOfWork]) -> dict[str, Any]:
        return {"items": await list_teams(uow)}

    @post("/", status_code=201, summary="Create a team (admins)")
    async def create(
        self, request: Request[Agent, Any, Any], data: JSONBody[TeamCreate], uow: NamedDependency[UnitOfWork]
    ) -> dict[str, Any]:
        require_admin(request.user)
        try:
            team_id = await create_team(uow, data.name, data.member_ids)
        except TeamError as exc:
            raise _error(exc) from exc
        await uow.commit()
        return next(t for t in await list_teams(uow) if t["id"] == team_id)

    @put("/{team_id:int}/members", summary="Set a team's members (admins)")
    async def members(
        self,
        request: Request[Agent, Any, Any],
        team_id: FromPath[int],
        data: JSONBody[TeamMembers],
        uow: NamedDependency[UnitOfWork],
    ) -> dict[str, Any]:
        require_admin(request.user)
        try:
            members = await set_team_members(uow, team_id, data.agent_ids)
        except TeamError as exc:
            raise _error(exc) from exc
        await uow.commit()
        return {"team_id": team_id, "agent_ids": members}

    @delete("/{team_id:int}", status_code=204, summary="Delete a team (admins)")
    async def remove(
        self, request: Request[Agent, Any, Any], team_id: FromPath[int], uow: NamedDependency[UnitOfWork]
    ) -> None:
        require_admin(request.user)
        try:
            await delete_team(uow, team_id)
        except TeamError as exc:
            raise _error(exc) from exc
        await uow.commit()
