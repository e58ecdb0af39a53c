"""Who is asking: bearer API tokens for integrators, session cookies for the console.

Session-authenticated writes to the JSON API must also carry the CSRF token (header `X-CSRFToken`
equal to the `csrftoken` cookie); forms are checked by Litestar's CSRF middleware.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.agents import agent_for_token, touch_token
from conversation.models import Agent

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_AGENT_KEY = "agent_id"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
_CACHE_SECONDS = 5.0


class AgentCache:
    """Agents by token or id for a few seconds: the hot API paths skip a query per request."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Agent | None]] = {}

    def get(self, key: str) -> tuple[bool, Agent | None]:
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] > _CACHE_SECONDS:
            return False, None
        return True, hit[1]

    def put(self, key: str, agent: Agent | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), agent)

    def clear(self) -> None:
        self._entries.clear()


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    if connection.scope["type"] == "websocket":
        # Browsers cannot set headers on a WebSocket: integrators may pass ?token=.
        return connection.query_params.get("token") or None
    return None


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets `request.user` to the active Agent, or answers 401."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        sessions: async_sessionmaker[AsyncSession] = connection.app.state["sessions"]
        cache: AgentCache = connection.app.state["agent_cache"]
        token = _bearer(connection)
        if token is not None:
            agent = await self._by_token(sessions, cache, token)
            if agent is None:
                raise NotAuthorizedException("invalid or revoked API token")
            return AuthenticationResult(user=agent, auth={"method": "token"})
        session_data = connection.scope.get("session") or {}
        agent_id = session_data.get(SESSION_AGENT_KEY) if isinstance(session_data, dict) else None
        if agent_id is None:
            raise NotAuthorizedException("authentication required")
        agent = await self._by_id(sessions, cache, int(agent_id))
        if agent is None:
            raise NotAuthorizedException("your session has ended: please log in again")
        if connection.scope["type"] == "http" and connection.scope.get("method") not in SAFE_METHODS:
            _check_api_csrf(connection)
        return AuthenticationResult(user=agent, auth={"method": "session"})

    @staticmethod
    async def _by_token(sessions: async_sessionmaker[AsyncSession], cache: AgentCache, token: str) -> Agent | None:
        found, agent = cache.get("t:" + token)
        if found:
            return agent
        async with sessions() as session:
            agent = await agent_for_token(session, token)
            if agent is not None:
                await touch_token(session, token)
                await session.commit()
        cache.put("t:" + token, agent)
        return agent

    @staticmethod
    async def _by_id(sessions: async_sessionmaker[AsyncSession], cache: AgentCache, agent_id: int) -> Agent | None:
        found, agent = cache.get(f"a:{agent_id}")
        if found:
            return agent
        async with sessions() as session:
            agent = await session.get(Agent, agent_id)
        agent = agent if agent is not None and agent.is_active else None
        cache.put(f"a:{agent_id}", agent)
        return agent


def _check_api_csrf(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Cookie-authenticated API writes must prove they come from our pages (double submit)."""
    if not connection.url.path.startswith("/api/"):
        return  # console forms are checked by Litestar's CSRF middleware
    cookie = connection.cookies.get(CSRF_COOKIE) or ""
    header = connection.headers.get(CSRF_HEADER) or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise PermissionDeniedException("CSRF token missing or wrong: send the X-CSRFToken header")


def require_admin(agent: Agent) -> None:
    """Raise 403 unless `agent` is an admin."""
    if agent.role != "admin":
        raise PermissionDeniedException("admins only")
