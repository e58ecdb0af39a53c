"""Console pages: login, logout, and the console itself."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from agent_console.auth import SESSION_AGENT_KEY
from conversation.access import visible_inbox_ids
from conversation.agents import DUMMY_HASH, find_agent_by_email, verify_password
from conversation.models import Agent
from conversation.repository import ConversationFilter, list_conversations
from conversation.uow import UnitOfWork

#: Failed logins allowed per (client, email) in the window before the form refuses for a while.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 15 * 60


class LoginLimiter:
    """Per-process sliding window of failed logins (Redis-backed when several processes serve)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, key: str) -> bool:
        window = self._failures.get(key)
        if not window:
            return False
        cutoff = time.monotonic() - LOGIN_WINDOW_SECONDS
        while window and window[0] < cutoff:
            window.popleft()
        return len(window) >= LOGIN_ATTEMPTS

    def fail(self, key: str) -> None:
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)


LIMITER = LoginLimiter()


def _client_key(request: Request[Any, Any, Any], email: str) -> str:
    client = request.client.host if request.client else "?"
    return f"{client}|{email.strip().lower()}"


@get("/", exclude_from_auth=True, include_in_schema=False)
async def root(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect("/console" if request.session.get(SESSION_AGENT_KEY) else "/login")


@get("/login", exclude_from_auth=True, include_in_schema=False)
async def login_form(request: Request[Any, Any, Any], next: FromQuery[str] = "/console") -> Template:
    return Template("login.html", context={"error": None, "email": "", "next": _safe_next(next)})


def _safe_next(target: str) -> str:
    # Only same-site paths: never an open redirect to another host.
    return target if target.startswith("/") and not target.startswith("//") else "/console"


@post("/login", exclude_from_auth=True, include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]], uow: NamedDependency[UnitOfWork]
) -> Response[Any]:
    email, password = data.get("email", ""), data.get("password", "")
    key = _client_key(request, email)
    if LIMITER.blocked(key):
        context = {"error": "Too many failed attempts. Try again in 15 minutes.", "email": email, "next": "/console"}
        return Template("login.html", context=context, status_code=429)
    agent = await find_agent_by_email(uow.session, email) if email else None
    ok = (
        verify_password(agent.password_hash if agent else DUMMY_HASH, password)
        and agent is not None
        and agent.is_active
    )
    if not ok:
        LIMITER.fail(key)
        context = {"error": "Wrong email or password.", "email": email, "next": _safe_next(data.get("next", ""))}
        return Template("login.html", context=context, status_code=401)
    LIMITER.reset(key)
    request.clear_session()
    request.set_session({SESSION_AGENT_KEY: agent.id})  # type: ignore[union-attr]
    return Redirect(_safe_next(data.get("next", "/console")), status_code=303)


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)


@get("/console", include_in_schema=False)
async def console_page(request: Request[Agent, Any, Any], uow: NamedDependency[UnitOfWork]) -> Template:
    agent = request.user
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    items, next_cursor = await list_conversations(
        uow.session, ConversationFilter(status="open"), inbox_ids=inbox_ids, me=agent.id or 0
    )
    return Template("console.html", context={"agent": agent, "conversations": items, "next_cursor": next_cursor})
