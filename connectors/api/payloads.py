"""Typed shapes of the `api` channel's webhook bodies (only what we read)."""

from __future__ import annotations

import msgspec


class ApiContact(msgspec.Struct, forbid_unknown_fields=False):
    """The customer as the integrating system knows them."""

    identifier: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class ApiAttachment(msgspec.Struct, forbid_unknown_fields=False):
    """A file the integrator hosts; the hub downloads it later."""

    url: str
    filename: str = "attachment"
    content_type: str = "application/octet-stream"


class ApiInboundMessage(msgspec.Struct, forbid_unknown_fields=False):
    """`POST /webhooks/api/{inbox_id}`: one customer message."""

    contact: ApiContact
    external_id: str
    text: str = ""
    html: str | None = None
    sent_at: str | None = None
    attachments: list[ApiAttachment] = []
    event: str = "message"


class ApiStatusUpdate(msgspec.Struct, forbid_unknown_fields=False):
    """`{"event": "message_status", ...}`: the integrator reports on a message we sent it."""

    event: str
    external_id: str
    status: str
    error: str | None = None
