"""Raw RFC 5322 intake shared by `omnihub ingest-email` (and the IMAP poller)."""

from __future__ import annotations

from connectors.base import Headers, MalformedPayload, RawRequest
from connectors.registry import get_connector
from conversation.models import Inbox
from conversation.types import InboundMessage
from hub.services import Services
from hub.webhooks import store_inbound


class IntakeError(ValueError):
    """The message cannot be taken (one-line reason)."""


async def ingest_raw_email(services: Services, inbox_id: int, raw: bytes) -> str:
    """Parse and store one raw email for `inbox_id`; returns a one-line outcome."""
    async with services.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.kind != "email":
        raise IntakeError(f"no email inbox with id {inbox_id}")
    connector = get_connector("email")
    if connector is None:
        raise IntakeError("the email connector is not available in this version")
    request = RawRequest(method="POST", url="", headers=Headers({"content-type": "message/rfc822"}), body=raw)
    try:
        parsed = connector.parse(request, services.inbox_config(inbox))
    except MalformedPayload as exc:
        raise IntakeError(f"not a readable email: {exc}") from exc
    stored = duplicates = 0
    for item in parsed.items:
        if isinstance(item, InboundMessage):
            ok, _ = await store_inbound(services, inbox, item, connector)
            stored, duplicates = stored + ok, duplicates + (not ok)
    if duplicates and not stored:
        return "already stored (same Message-ID)"
    return f"stored {stored} message(s)"
