"""Normalised, provider-free shapes that flow between connectors, the domain and the hub."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ChannelKind(enum.StrEnum):
    """Every channel an inbox can be. The value is also the connector's folder name."""

    EMAIL = "email"
    WEBCHAT = "webchat"
    SMS = "sms"
    TELEGRAM = "telegram"
    SLACK = "slack"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    API = "api"


class Direction(enum.StrEnum):
    """Which way a message travels (notes and system lines never leave the hub)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"
    SYSTEM = "system"


class AuthorType(enum.StrEnum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class DeliveryStatus(enum.StrEnum):
    """Lifecycle of a message. Inbound messages are `received`; outbound move queued -> ... -> delivered."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


#: How far along each status is: a late or repeated callback never moves a message backwards.
DELIVERY_RANK: dict[DeliveryStatus, int] = {
    DeliveryStatus.RECEIVED: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENDING: 2,
    DeliveryStatus.SENT: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.READ: 5,
    DeliveryStatus.FAILED: 3,
}


class ConversationStatus(enum.StrEnum):
    """Conversation workflow states."""

    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who sent an inbound message, as the provider names them.

    `address` is the channel-native id (phone, email, chat id, PSID, visitor id); connectors hand it
    over raw and the domain normalises it. `email`/`phone` are contact details the provider vouches
    for (a Slack profile email, an `api` contact's phone); `verified=False` marks claims the hub must
    not link on (an unverified web-chat email only produces a merge suggestion).
    """

    address: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    verified: bool = True
    avatar_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file on an inbound or outbound message.

    Inbound, a connector fills `content` when the bytes came with the request (email, web chat), or
    `source_url`/`source_ref` when they must be downloaded through the provider's API later.
    """

    filename: str
    content_type: str
    size: int | None = None
    content: bytes | None = None
    source_url: str | None = None
    source_ref: dict[str, Any] = field(default_factory=dict)
    content_id: str | None = None  # email cid: for inline images
    inline: bool = False
    storage_key: str | None = None  # set by the hub once the bytes are in the attachment store
    status: str = "stored"  # or "too_large"/"failed" when the hub could not keep the bytes


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One customer message, normalised. `external_message_id` is the idempotency key per inbox."""

    channel_kind: ChannelKind
    inbox_id: int
    external_message_id: str
    sender: ExternalIdentity
    text: str
    sent_at: datetime
    html: str | None = None
    full_text: str | None = None  # email: the whole body before quote trimming
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    external_thread_ref: str | None = None  # chat id, Slack thread_ts, email root Message-ID
    in_reply_to_external_id: str | None = None
    references: tuple[str, ...] = ()  # email References (and In-Reply-To), oldest first
    thread_token: str | None = None  # a conversation token found in a reply+token address or subject
    is_edit: bool = False  # replaces the text of `external_message_id` instead of adding a message
    is_auto_reply: bool = False  # vacation replies, bounces: never reopen, never trigger the bot
    raw: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Watermark:
    """Every outbound message to `recipient_ref` (the identity address) sent at or before `up_to`."""

    recipient_ref: str
    up_to: datetime


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """A provider's report on one of our outbound messages (sent, delivered, read, failed).

    Some providers report a watermark instead of naming messages (Messenger's `read`, and `delivery`
    without `mids`): then `watermark` is set and the update applies to every message it covers.
    """

    channel_kind: ChannelKind
    inbox_id: int
    external_message_id: str
    status: DeliveryStatus
    occurred_at: datetime
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    watermark: Watermark | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What a connector needs to send one reply. Built by the hub from the message row."""

    message_id: int
    conversation_id: int
    channel_kind: ChannelKind
    inbox_id: int
    recipient: ExternalIdentity
    text: str
    html: str | None = None
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    external_thread_ref: str | None = None  # Slack thread_ts, Telegram chat id, ...
    in_reply_to_external_id: str | None = None  # the provider id of the message we answer
    references: tuple[str, ...] = ()  # email threading chain
    thread_token: str | None = None  # the conversation's reply token (email reply+token address)
    author_name: str | None = None
    last_inbound_at: datetime | None = None  # for windows such as WhatsApp's 24 hours
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The provider's answer to a successful send."""

    external_message_id: str
    status: DeliveryStatus = DeliveryStatus.SENT
    external_thread_ref: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order created or changed at a store (Shopify webhook, API, import), normalised."""

    number: str
    payload: dict[str, Any]
    updated_at: datetime | None = None
    source: str = "api"
    external_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class SettingsSpec:
    """Which settings an inbox kind takes. Secrets are stored encrypted and never returned."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()

    def validate(self, settings: dict[str, Any]) -> list[str]:
        """Return human-readable problems with `settings` (empty when valid)."""
        problems: list[str] = []
        missing = sorted(k for k in self.required if settings.get(k) in (None, ""))
        unknown = sorted(set(settings) - self.required - self.optional)
        if missing:
            problems.append("missing required settings: " + ", ".join(missing))
        if unknown:
            problems.append("unknown settings: " + ", ".join(unknown))
        return problems
