"""Console entry pages: `/` (redirect), `/login` (form, throttled), `/logout`.

Failed logins are counted per (client address, email) in the app's `console` store: in memory for the
single embedded process, in Redis when `OMNIHUB_REDIS_URL` is set, so every process shares the count.
A forgotten password is reset by an admin with `omnihub reset-password` (the login page says so).
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.stores.base import Store

from agent_console.auth import SESSION_AGENT_KEY
from conversation.agents import DUMMY_HASH, find_agent_by_email, verify_password
from conversation.uow import UnitOfWork

#: Failed logins allowed per (client, email) in the window before the form refuses for a while.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 15 * 60
STORE_NAME = "console"


class LoginLimiter:
    """A fixed window of failed logins per key, kept in a Litestar store (shared through Redis)."""

    def __init__(self, attempts: int = LOGIN_ATTEMPTS, window_seconds: int = LOGIN_WINDOW_SECONDS) -> None:
        self.attempts = attempts
        self.window_seconds = window_seconds

    @staticmethod
    def _key(key: str) -> str:
        # Hashed: the store never holds addresses or emails in clear.
        return "login-failures:" + hashlib.sha256(key.encode()).hexdigest()

    async def blocked(self, store: Store, key: str) -> bool:
        raw = await store.get(self._key(key))
        return raw is not None and int(raw) >= self.attempts

    async def fail(self, store: Store, key: str) -> None:
        name = self._key(key)
        raw = await store.get(name)
        count = int(raw) + 1 if raw is not None else 1
        remaining = await store.expires_in(name) if raw is not None else None
        ttl = remaining if remaining and remaining > 0 else self.window_seconds
        await store.set(name, str(count), expires_in=ttl)

    async def reset(self, store: Store, key: str) -> None:
        await store.delete(self._key(key))


LIMITER = LoginLimiter()


def _client_key(request: Request[Any, Any, Any], email: str) -> str:
    client = request.client.host if request.client else "?"
    return f"{client}|{email.strip().lower()}"


def _store(request: Request[Any, Any, Any]) -> Store:
    return request.app.stores.get(STORE_NAME)


@get("/", exclude_from_auth=True, include_in_schema=False)
async def root(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect("/console" if request.session.get(SESSION_AGENT_KEY) else "/login")


def _login_page(error: str | None, email: str, next_: str, status_code: int = 200) -> Template:
    context = {"error": error, "email": email, "next": _safe_next(next_)}
    return Template("login.html", context=context, status_code=status_code)


@get("/login", exclude_from_auth=True, include_in_schema=False)
async def login_form(request: Request[Any, Any, Any], next: FromQuery[str] = "/console") -> Response[Any]:
    if request.session.get(SESSION_AGENT_KEY):
        return Redirect(_safe_next(next))
    return _login_page(None, "", next)


def _safe_next(target: str) -> str:
    # Only same-site paths: never an open redirect to another host.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/console"
    return target


@post("/login", exclude_from_auth=True, include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]], uow: NamedDependency[UnitOfWork]
) -> Response[Any]:
    email, password = data.get("email", ""), data.get("password", "")
    next_ = data.get("next", "/console")
    key = _client_key(request, email)
    store = _store(request)
    if await LIMITER.blocked(store, key):
        minutes = LIMITER.window_seconds // 60
        return _login_page(f"Too many failed attempts. Try again in {minutes} minutes.", email, next_, 429)
    agent = await find_agent_by_email(uow.session, email) if email else None
    ok = (
        verify_password(agent.password_hash if agent else DUMMY_HASH, password)
        and agent is not None
        and agent.is_active
    )
    if not ok:
        await LIMITER.fail(store, key)
        return _login_page("Wrong email or password.", email, next_, 401)
    await LIMITER.reset(store, key)
    request.clear_session()
    request.set_session({SESSION_AGENT_KEY: agent.id})  # type: ignore[union-attr]
    return Redirect(_safe_next(next_), status_code=303)


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)
