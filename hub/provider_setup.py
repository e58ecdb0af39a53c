"""Provider-side setup for admins: tell a provider where to deliver an inbox's webhooks (Telegram setWebhook).

Used by `POST /api/v1/inboxes/{id}/register_webhook` and `omnihub telegram-webhook --inbox ID`. Twilio,
Slack and Meta take the webhook URL in their own consoles (docs/channels/), so only Telegram is here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, post
from litestar.params import FromPath

from agent_console.auth import require_admin
from connectors.base import InboxConfig, SendFailed
from connectors.telegram.client import register_webhook as register_telegram_webhook
from conversation.models import Agent, Inbox
from hub.errors import ApiError
from hub.services import Services

Registrar = Callable[[InboxConfig, str], Awaitable[None]]

#: Inbox kind -> the connector call that registers a webhook URL with the provider.
REGISTRARS: dict[str, Registrar] = {"telegram": register_telegram_webhook}


class SetupFailed(Exception):
    """The registration cannot be done; `status_code` is what the API answers, `reason` one line."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


async def register_inbox_webhook(services: Services, inbox_id: int, kind: str | None = None) -> tuple[str, str]:
    """Register the inbox's `webhook_url` with its provider; return (inbox kind, that URL).

    `kind`, when given, is the kind the caller expects (the CLI command is Telegram's own).

    Raises `SetupFailed`: 404 unknown inbox, 422 a kind registered in the provider's console or a
    refusal by the provider (its reason, e.g. "Bad webhook: an https url must be provided for webhook"),
    502 the provider could not be reached.
    """
    async with services.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None:
        raise SetupFailed(404, f"no inbox {inbox_id}")
    if kind is not None and inbox.kind != kind:
        raise SetupFailed(422, f"inbox {inbox_id} is a {inbox.kind} inbox, not a {kind} one")
    registrar = REGISTRARS.get(inbox.kind)
    if registrar is None:
        raise SetupFailed(422, f"a {inbox.kind} inbox is registered in the provider's console, not by Omnihub")
    account = services.inbox_config(inbox)
    try:
        await registrar(account, account.webhook_url)
    except SendFailed as exc:
        status = 502 if exc.retryable else 422
        raise SetupFailed(status, f"{inbox.kind.title()} refused the webhook: {exc.reason}") from exc
    return inbox.kind, account.webhook_url


def provider_setup_handlers(services: Services) -> list[Any]:
    """The setup routes, bound to this process's services (registered in `hub.features`)."""

    @post(
        "/api/v1/inboxes/{inbox_id:int}/register_webhook",
        status_code=200,
        tags=["inboxes"],
        summary="Register the inbox's webhook URL with its provider (Telegram)",
    )
    async def register_webhook(request: Request[Agent, Any, Any], inbox_id: FromPath[int]) -> dict[str, Any]:
        """Admins only. Answers `{inbox_id, kind, webhook_url}` once the provider accepted the URL."""
        require_admin(request.user)
        try:
            kind, url = await register_inbox_webhook(services, inbox_id)
        except SetupFailed as exc:
            raise ApiError(exc.status_code, exc.reason) from exc
        return {"inbox_id": inbox_id, "kind": kind, "webhook_url": url}

    return [register_webhook]
