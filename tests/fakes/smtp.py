"""A real SMTP server for tests (aiosmtpd in its own thread) that keeps every message it accepts.

Tests script refusals (`refuse_next(code, text)` answers RCPT or DATA with that reply) and may require
a login (`SmtpServer(users={"user": "password"})`).
"""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.base import free_port


@dataclass
class Received:
    """One accepted message: the envelope and the bytes as they crossed the wire."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        refusal = self.server.take_refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = self.server.take_refusal("DATA")
        if refusal:
            return refusal
        data = envelope.original_content or envelope.content
        with self.server.lock:
            self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(data)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """`with SmtpServer() as smtp:` listens on 127.0.0.1:`smtp.port` until the block ends."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.users = users
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self._refusals: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {}
        if users is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.users is not None
            and (self.users.get(data.login.decode()) == data.password.decode())
        )
        return AuthResult(success=ok, handled=False)

    def refuse_next(self, reply: str, stage: str = "RCPT") -> None:
        """Answer the next RCPT (or DATA) with `reply`, e.g. "550 5.1.1 No such user"."""
        with self.lock:
            self._refusals.append((stage, reply))

    def take_refusal(self, stage: str) -> str | None:
        with self.lock:
            for index, (wanted, reply) in enumerate(self._refusals):
                if wanted == stage:
                    del self._refusals[index]
                    return reply
        return None

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
