"""Teams: groups of agents a conversation can be assigned to."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from conversation.models import Agent, Conversation, Team, TeamMember, utcnow
from conversation.uow import UnitOfWork

_team = Team.__table__  # type: ignore[attr-defined]
_member = TeamMember.__table__  # type: ignore[attr-defined]
_agent = Agent.__table__  # type: ignore[attr-defined]
_conv = Conversation.__table__  # type: ignore[attr-defined]


class TeamError(ValueError):
    """A team change that cannot happen (422 with this reason, 404 for unknown teams)."""

    def __init__(self, reason: str, status_code: int = 422) -> None:
        super().__init__(reason)
        self.status_code = status_code


async def _known_agents(uow: UnitOfWork, agent_ids: list[int]) -> list[int]:
    ids = sorted(set(agent_ids))
    if not ids:
        return []
    found = {int(r[0]) for r in (await uow.session.exec(sa.select(_agent.c.id).where(_agent.c.id.in_(ids)))).all()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise TeamError(f"no agent with id {', '.join(map(str, missing))}")
    return ids


async def create_team(uow: UnitOfWork, name: str, member_ids: list[int] = ()) -> int:  # type: ignore[assignment]
    """A new team (names are unique); returns its id."""
    clean = " ".join(name.split())[:200]
    if not clean:
        raise TeamError("a team needs a name")
    members = await _known_agents(uow, list(member_ids))
    exists = (await uow.session.exec(sa.select(_team.c.id).where(sa.func.lower(_team.c.name) == clean.lower()))).first()
    if exists is not None:
        raise TeamError(f"a team named {clean!r} already exists")
    try:
        team_id = (
            await uow.session.exec(sa.insert(_team).values(name=clean, created_at=utcnow()).returning(_team.c.id))
        ).scalar_one()
    except IntegrityError as exc:
        raise TeamError(f"a team named {clean!r} already exists") from exc
    for agent_id in members:
        await uow.session.exec(sa.insert(_member).values(team_id=team_id, agent_id=agent_id))
    return int(team_id)


async def set_team_members(uow: UnitOfWork, team_id: int, agent_ids: list[int]) -> list[int]:
    """Replace a team's members; returns them sorted."""
    if (await uow.session.exec(sa.select(_team.c.id).where(_team.c.id == team_id))).first() is None:
        raise TeamError("team not found", status_code=404)
    members = await _known_agents(uow, agent_ids)
    await uow.session.exec(sa.delete(_member).where(_member.c.team_id == team_id))
    for agent_id in members:
        await uow.session.exec(sa.insert(_member).values(team_id=team_id, agent_id=agent_id))
    return members


async def delete_team(uow: UnitOfWork, team_id: int) -> None:
    """Remove a team; its conversations keep their agent and lose the team."""
    if (await uow.session.exec(sa.select(_team.c.id).where(_team.c.id == team_id))).first() is None:
        raise TeamError("team not found", status_code=404)
    await uow.session.exec(sa.update(_conv).where(_conv.c.team_id == team_id).values(team_id=None))
    await uow.session.exec(sa.delete(_member).where(_member.c.team_id == team_id))
    await uow.session.exec(sa.delete(_team).where(_team.c.id == team_id))


async def list_teams(uow: UnitOfWork) -> list[dict[str, Any]]:
    """`[{id, name, member_ids}]` of every team, by name."""
    teams = (await uow.session.exec(sa.select(_team.c.id, _team.c.name).order_by(_team.c.name))).all()
    members: dict[int, list[int]] = {}
    for team_id, agent_id in (await uow.session.exec(sa.select(_member.c.team_id, _member.c.agent_id))).all():
        members.setdefault(int(team_id), []).append(int(agent_id))
    return [{"id": int(t.id), "name": t.name, "member_ids": sorted(members.get(int(t.id), []))} for t in teams]
