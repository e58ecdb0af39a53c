"""Inboxes: create and configure channel accounts; secrets are split off and sealed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conversation.bot.settings import inbox_bot_problems
from conversation.models import Inbox, InboxMember, utcnow
from conversation.secretbox import SecretBox
from conversation.types import ChannelKind, SettingsSpec
from conversation.uow import UnitOfWork

_inbox = Inbox.__table__  # type: ignore[attr-defined]
_member = InboxMember.__table__  # type: ignore[attr-defined]


class InvalidSettings(ValueError):
    """Settings that do not fit the inbox kind (422 naming the keys)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def split_settings(spec: SettingsSpec, settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public, secret) parts of validated settings."""
    problems = spec.validate(settings) + inbox_bot_problems(settings)
    if problems:
        raise InvalidSettings(problems)
    public = {k: v for k, v in settings.items() if k not in spec.secrets}
    secret = {k: v for k, v in settings.items() if k in spec.secrets}
    return public, secret


async def create_inbox(
    uow: UnitOfWork,
    *,
    kind: str,
    name: str,
    settings: dict[str, Any],
    spec: SettingsSpec,
    box: SecretBox,
    member_ids: list[int] | None = None,
) -> Inbox:
    """Validate and store a new inbox; its creator's agents (if given) become members."""
    try:
        ChannelKind(kind)
    except ValueError as exc:
        raise InvalidSettings([f"kind must be one of: {', '.join(k.value for k in ChannelKind)}"]) from exc
    if not name.strip():
        raise InvalidSettings(["name must not be empty"])
    public, secret = split_settings(spec, settings)
    inbox = Inbox(kind=kind, name=name.strip()[:200], settings=public, secrets=box.seal(secret), created_at=utcnow())
    uow.session.add(inbox)
    await uow.session.flush()
    for agent_id in member_ids or []:
        uow.session.add(InboxMember(inbox_id=inbox.id, agent_id=agent_id))  # type: ignore[arg-type]
    return inbox


async def update_inbox(
    uow: UnitOfWork,
    inbox: Inbox,
    *,
    name: str | None,
    settings: dict[str, Any] | None,
    spec: SettingsSpec,
    box: SecretBox,
) -> Inbox:
    """Change an inbox's name and/or settings. Secrets left out of `settings` keep their value."""
    if name is not None:
        if not name.strip():
            raise InvalidSettings(["name must not be empty"])
        inbox.name = name.strip()[:200]
    if settings is not None:
        merged = {**inbox.settings, **box.open(inbox.secrets), **settings}
        public, secret = split_settings(spec, merged)
        inbox.settings, inbox.secrets = public, box.seal(secret)
    uow.session.add(inbox)
    await uow.session.flush()
    return inbox


def full_settings(inbox: Inbox, box: SecretBox) -> dict[str, Any]:
    """Public settings and decrypted secrets together, for connectors only (never for responses)."""
    return {**inbox.settings, **box.open(inbox.secrets)}


async def set_members(uow: UnitOfWork, inbox_id: int, agent_ids: list[int]) -> None:
    """Replace the agents who work an inbox."""
    await uow.session.exec(sa.delete(_member).where(_member.c.inbox_id == inbox_id))
    for agent_id in sorted(set(agent_ids)):
        await uow.session.exec(sa.insert(_member).values(inbox_id=inbox_id, agent_id=agent_id))


async def set_agent_inboxes(uow: UnitOfWork, agent_id: int, inbox_ids: list[int]) -> None:
    """Replace the inboxes one agent works (the per-agent side of `set_members`)."""
    await uow.session.exec(sa.delete(_member).where(_member.c.agent_id == agent_id))
    for inbox_id in sorted(set(inbox_ids)):
        await uow.session.exec(sa.insert(_member).values(inbox_id=inbox_id, agent_id=agent_id))
