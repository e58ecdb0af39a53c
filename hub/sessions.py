"""Server-side console sessions that exist only once they hold something.

Litestar's server-side backend stores a session for every response whose request had none: each
webhook, API call with a bearer token and health check wrote a fresh 14-day session (a Redis SET, or a
file under `var/sessions` on the embedded default) and sent a Set-Cookie. This backend skips storing
an empty session that the request did not bring, so only logged-in consoles have sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, ScopeSession


class LazySessionBackend(ServerSideSessionBackend):
    """Stores and sets the cookie of non-empty sessions, and of sessions the client already had."""

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        cookie = connection.cookies.get(self.config.key)
        if not scope_session and scope_session is not None and (not cookie or cookie == "null"):
            return  # nothing to remember and nothing to forget
        await super().store_in_message(scope_session, message, connection)


@dataclass
class LazySessionConfig(ServerSideSessionConfig):
    """`ServerSideSessionConfig` with the lazy backend."""

    _backend_class = LazySessionBackend  # type: ignore[assignment]
