"""Raw RFC 5322 intake shared by `omnihub ingest-email` and the IMAP poller (the webhook has its own route)."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import HandshakeReply, Headers, MalformedPayload, RawRequest
from connectors.registry import get_connector
from conversation.delivery import apply_delivery_update
from conversation.models import Inbox
from conversation.types import DeliveryUpdate, InboundMessage
from hub.errors import ApiError
from hub.services import Services
from hub.webhooks import store_inbound


class IntakeError(ValueError):
    """The message cannot be taken (one-line reason); taking it again will not help."""


@dataclass(slots=True)
class IntakeOutcome:
    """What became of one raw message."""

    stored: int = 0
    duplicates: int = 0
    updated: int = 0
    unmatched: int = 0
    ignored: str | None = None

    def describe(self) -> str:
        """One line for people (the CLI prints it)."""
        if self.ignored:
            return f"ignored: {self.ignored}"
        if self.updated or self.unmatched:
            return "delivery report applied" if self.updated else "delivery report for an unknown message"
        if self.duplicates and not self.stored:
            return "already stored (same Message-ID)"
        return f"stored {self.stored} message(s)"


async def ingest_email_bytes(
    services: Services, inbox: Inbox, raw: bytes, headers: dict[str, str] | None = None
) -> IntakeOutcome:
    """Parse one raw message for `inbox` and store what it means (retry-safe: one row per Message-ID)."""
    connector = get_connector("email")
    if connector is None:
        raise IntakeError("the email connector is not available in this version")
    request = RawRequest(
        method="POST", url="", headers=Headers({"content-type": "message/rfc822", **(headers or {})}), body=raw
    )
    try:
        parsed = connector.parse(request, services.inbox_config(inbox))
    except MalformedPayload as exc:
        raise IntakeError(f"not a readable email: {exc}") from exc
    outcome = IntakeOutcome()
    if not parsed.items and isinstance(parsed.reply, HandshakeReply) and isinstance(parsed.reply.body, dict):
        outcome.ignored = str(parsed.reply.body.get("ignored") or "nothing to store")
    for item in parsed.items:
        if isinstance(item, InboundMessage):
            try:
                stored, _ = await store_inbound(services, inbox, item, connector)
            except ApiError as exc:  # an unusable sender address
                raise IntakeError(exc.detail) from exc
            outcome.stored += stored
            outcome.duplicates += not stored
        elif isinstance(item, DeliveryUpdate):
            async with services.uow() as uow:
                applied = await apply_delivery_update(uow, item)
                await uow.commit()
            outcome.updated += applied
            outcome.unmatched += not applied
    return outcome


async def ingest_raw_email(services: Services, inbox_id: int, raw: bytes) -> str:
    """Parse and store one raw email for `inbox_id`; returns a one-line outcome."""
    async with services.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.kind != "email":
        raise IntakeError(f"no email inbox with id {inbox_id}")
    return (await ingest_email_bytes(services, inbox, raw)).describe()
