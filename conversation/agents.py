"""Agents: accounts, argon2 password hashes and API tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.addresses import normalize_email
from conversation.models import Agent, ApiToken, utcnow

_hasher = PasswordHasher()
_agent = Agent.__table__  # type: ignore[attr-defined]
_token = ApiToken.__table__  # type: ignore[attr-defined]

#: `bot`: an external bot's account (issue 7): its API replies are bot turns and never take a thread over.
ROLES = ("admin", "agent", "bot")
TOKEN_PREFIX = "omh_"  # noqa: S105 - a public marker, not a secret
MIN_PASSWORD_LENGTH = 8


class AgentError(ValueError):
    """Invalid agent data (one-line reason)."""


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time check of `password` against its argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: A valid hash of nothing, so a login for an unknown email costs as much as one for a known email.
DUMMY_HASH = hash_password(secrets.token_hex(8))


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_agent(email: str, name: str, role: str, password: str) -> str:
    """The normalised email, or AgentError naming what is wrong."""
    normalized = normalize_email(email)
    if normalized is None:
        raise AgentError(f"not a valid email address: {email!r}")
    if not name.strip():
        raise AgentError("name must not be empty")
    if role not in ROLES:
        raise AgentError(f"role must be one of: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return normalized


async def find_agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    """The agent with this email (case-insensitive)."""
    normalized = normalize_email(email) or email.strip().lower()
    return (await session.exec(select(Agent).where(Agent.email == normalized))).first()


async def create_agent(session: AsyncSession, *, email: str, name: str, role: str, password: str) -> Agent:
    """A new agent (raises AgentError on invalid input or a taken email)."""
    normalized = validate_agent(email, name, role, password)
    if await find_agent_by_email(session, normalized) is not None:
        raise AgentError(f"an agent with email {normalized} already exists")
    agent = Agent(email=normalized, name=name.strip(), role=role, password_hash=hash_password(password))
    session.add(agent)
    await session.flush()
    return agent


async def set_password(session: AsyncSession, agent: Agent, password: str) -> None:
    """Replace an agent's password (admin reset)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    agent.password_hash = hash_password(password)
    session.add(agent)
    await session.flush()


async def issue_token(session: AsyncSession, agent: Agent, name: str = "cli") -> str:
    """Create an API token for `agent` and return it (shown once; only its hash is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(agent_id=agent.id, name=name, token_hash=hash_token(token)))  # type: ignore[arg-type]
    await session.flush()
    return token


async def agent_for_token(session: AsyncSession, token: str) -> Agent | None:
    """The active agent an API token belongs to."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = (
        (
            await session.exec(
                sa.select(Agent)  # type: ignore[call-overload]
                .join(_token, _token.c.agent_id == _agent.c.id)
                .where(_token.c.token_hash == hash_token(token), _agent.c.is_active.is_(True))
            )
        )
        .scalars()
        .first()
    )
    return row  # type: ignore[no-any-return]


async def touch_token(session: AsyncSession, token: str) -> None:
    """Remember when a token was last used."""
    await session.exec(sa.update(_token).where(_token.c.token_hash == hash_token(token)).values(last_used_at=utcnow()))
