"""SQLModel tables: customers and identities, inboxes, conversations, messages, orders, agents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSONType, nullable=False)


# --- agents and access --------------------------------------------------------------------------


class Agent(SQLModel, table=True):
    """A person who works the console. Admins see every inbox; agents only their inboxes."""

    __tablename__ = "agent"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    role: str = Field(default="agent", max_length=20)  # admin | agent
    password_hash: str = Field(max_length=300)
    is_active: bool = Field(default=True)
    avatar_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    last_seen_at: datetime | None = _ts()


class Team(SQLModel, table=True):
    """A group of agents conversations can be assigned to."""

    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = _created()


class TeamMember(SQLModel, table=True):
    """Agent membership in a team."""

    __tablename__ = "team_member"

    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    agent_id: int = Field(foreign_key="agent.id", primary_key=True, ondelete="CASCADE")


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True, ondelete="CASCADE")
    name: str = Field(default="cli", max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created()
    last_used_at: datetime | None = _ts()


# --- channels -----------------------------------------------------------------------------------


class Inbox(SQLModel, table=True):
    """A connected channel account (one Twilio number, one mailbox, one web-chat widget...).

    `settings` holds the public options; `secrets` the encrypted JSON of the provider credentials.
    """

    __tablename__ = "inbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    name: str = Field(max_length=200)
    settings: dict[str, Any] = _json()
    secrets: str = Field(default="", sa_type=sa.Text)
    is_active: bool = Field(default=True)
    created_at: datetime = _created()


class InboxMember(SQLModel, table=True):
    """Which agents work which inbox."""

    __tablename__ = "inbox_member"

    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True, ondelete="CASCADE")
    agent_id: int = Field(foreign_key="agent.id", primary_key=True, ondelete="CASCADE", index=True)


class InboxState(SQLModel, table=True):
    """Small durable per-inbox state kept by pollers (IMAP UIDVALIDITY/UID, cursors)."""

    __tablename__ = "inbox_state"

    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True, ondelete="CASCADE")
    key: str = Field(primary_key=True, max_length=200)
    value: dict[str, Any] = _json()
    updated_at: datetime = _created()


class Integration(SQLModel, table=True):
    """An order source such as a Shopify store."""

    __tablename__ = "integration"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    name: str = Field(default="", max_length=200)
    settings: dict[str, Any] = _json()
    secrets: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = _created()


class ProcessedWebhook(SQLModel, table=True):
    """Delivery ids already handled (Shopify X-Shopify-Webhook-Id, ...): dedupe by constraint."""

    __tablename__ = "processed_webhook"
    __table_args__ = (sa.UniqueConstraint("source", "external_id", name="uq_processed_webhook"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=300)
    received_at: datetime = _created()


# --- customers ----------------------------------------------------------------------------------


class Customer(SQLModel, table=True):
    """One person, however many channels they write on. `merged_into_id` marks a merged-away profile."""

    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=32, index=True)
    avatar_url: str | None = Field(default=None, max_length=500)
    attributes: dict[str, Any] = _json()
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Identity(SQLModel, table=True):
    """A channel address that belongs to one customer: (channel kind, normalised address) is unique.

    `email` and `phone` are the normalised contact keys this identity vouches for; a new identity with
    the same verified email or phone joins the same customer.
    """

    __tablename__ = "identity"
    __table_args__ = (sa.UniqueConstraint("channel_kind", "address", name="uq_identity_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    channel_kind: str = Field(max_length=20)
    address: str = Field(max_length=320)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=32, index=True)
    display_name: str | None = Field(default=None, max_length=300)
    verified: bool = Field(default=True)
    extra: dict[str, Any] = _json()
    created_at: datetime = _created()
    last_seen_at: datetime | None = _ts()


class MergeSuggestion(SQLModel, table=True):
    """Two customers the hub thinks are one person (weak evidence): an agent decides."""

    __tablename__ = "merge_suggestion"
    __table_args__ = (sa.UniqueConstraint("customer_id", "other_customer_id", name="uq_merge_suggestion_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    other_customer_id: int = Field(foreign_key="customer.id", index=True)
    reason: str = Field(max_length=300)
    status: str = Field(default="open", max_length=20)  # open | merged | dismissed
    created_at: datetime = _created()


# --- conversations and messages -----------------------------------------------------------------


class Conversation(SQLModel, table=True):
    """One thread with one customer across every channel they use.

    The `last_*` columns denormalise what the conversation list shows, so a page of the list is one
    indexed query with no per-row lookups.
    """

    __tablename__ = "conversation"
    __table_args__ = (
        sa.Index("ix_conversation_status_activity", "status", "last_activity_at", "id"),
        sa.Index("ix_conversation_inbox_status_activity", "inbox_id", "status", "last_activity_at", "id"),
        sa.Index("ix_conversation_assignee_status_activity", "assignee_id", "status", "last_activity_at", "id"),
        sa.Index("ix_conversation_customer_activity", "customer_id", "last_activity_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inbox.id")
    customer_id: int = Field(foreign_key="customer.id")
    status: str = Field(default="open", max_length=20)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    team_id: int | None = Field(default=None, foreign_key="team.id")
    priority: str = Field(default="none", max_length=10)  # none | low | medium | high | urgent
    subject: str | None = Field(default=None, max_length=500)
    snoozed_until: datetime | None = _ts()
    ref_token: str = Field(max_length=40, unique=True)  # email reply+token addresses and links
    channels: list[str] = _json(list)
    tags: list[str] = _json(list)  # denormalised copy of conversation_tag for display
    unread_count: int = Field(default=0)
    message_count: int = Field(default=0)
    waiting_since: datetime | None = _ts()  # oldest customer message not yet answered
    last_inbound_at: datetime | None = _ts()
    last_message_id: int | None = Field(default=None)
    last_message_text: str | None = Field(default=None, max_length=300)
    last_message_direction: str | None = Field(default=None, max_length=10)
    last_message_channel: str | None = Field(default=None, max_length=20)
    last_message_author_type: str | None = Field(default=None, max_length=10)
    bot_state: dict[str, Any] = _json()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    last_activity_at: datetime = _created()
    resolved_at: datetime | None = _ts()


class ConversationTag(SQLModel, table=True):
    """Tag membership, indexed for the per-tag views."""

    __tablename__ = "conversation_tag"

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(primary_key=True, max_length=100, index=True)


class Message(SQLModel, table=True):
    """One message in a thread: inbound, outbound, a private note or a system line.

    Outbound messages are rows first (`status=queued`) and jobs second; the status columns are the
    truth the outbox works from. `(inbox_id, external_id)` is unique: a provider's retry is absorbed.
    """

    __tablename__ = "message"
    __table_args__ = (
        sa.UniqueConstraint("inbox_id", "external_id", name="uq_message_inbox_external"),
        sa.Index("ix_message_conversation_id", "conversation_id", "id"),
        sa.Index("ix_message_status_next_attempt", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    inbox_id: int = Field(foreign_key="inbox.id")
    channel: str = Field(max_length=20)
    direction: str = Field(max_length=10)
    author_type: str = Field(max_length=10)
    author_id: int | None = Field(default=None)
    identity_id: int | None = Field(default=None, foreign_key="identity.id")
    text: str = Field(default="", sa_type=sa.Text)
    html: str | None = Field(default=None, sa_type=sa.Text)
    full_text: str | None = Field(default=None, sa_type=sa.Text)
    subject: str | None = Field(default=None, max_length=500)
    external_id: str | None = Field(default=None, max_length=300)
    external_thread_ref: str | None = Field(default=None, max_length=300)
    in_reply_to: str | None = Field(default=None, max_length=300)
    status: str = Field(default="received", max_length=12)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _ts()
    error: str | None = Field(default=None, sa_type=sa.Text)
    raw: dict[str, Any] = _json()
    meta: dict[str, Any] = _json()
    created_at: datetime = _created()
    sent_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()
    read_at: datetime | None = _ts()
    edited_at: datetime | None = _ts()


class Attachment(SQLModel, table=True):
    """A file on a message. Bytes live in the attachment store under `storage_key`."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True, ondelete="CASCADE")
    filename: str = Field(max_length=300)
    content_type: str = Field(max_length=200)
    size: int | None = Field(default=None)
    storage_key: str | None = Field(default=None, max_length=300)
    source_url: str | None = Field(default=None, sa_type=sa.Text)
    source_ref: dict[str, Any] = _json()
    content_id: str | None = Field(default=None, max_length=300)
    inline: bool = Field(default=False)
    status: str = Field(default="stored", max_length=12)  # pending | stored | failed | too_large
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()


class CannedResponse(SQLModel, table=True):
    """A saved reply agents insert with `/short_code`."""

    __tablename__ = "canned_response"

    id: int | None = Field(default=None, primary_key=True)
    short_code: str = Field(max_length=100, unique=True)
    title: str = Field(default="", max_length=200)
    text: str = Field(sa_type=sa.Text)
    created_by: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = _created()


class AuditEvent(SQLModel, table=True):
    """Who did what, with enough data to undo it (merges, splits, settings changes)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    actor_type: str = Field(max_length=10)  # agent | system | api
    actor_id: int | None = Field(default=None)
    action: str = Field(max_length=100, index=True)
    subject_type: str = Field(max_length=50)
    subject_id: int | None = Field(default=None)
    data: dict[str, Any] = _json()
    created_at: datetime = _created()


# --- orders -------------------------------------------------------------------------------------


class Order(SQLModel, table=True):
    """A shop order, linked to a customer by email/phone. `fulfillments` is a list of shipments."""

    __tablename__ = "orders"
    __table_args__ = (sa.Index("ix_orders_customer_placed", "customer_id", "placed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=100, unique=True)
    store: str = Field(default="", max_length=200)
    source: str = Field(default="api", max_length=20)
    external_id: str | None = Field(default=None, max_length=100)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=32, index=True)
    status: str = Field(default="pending", max_length=30)
    currency: str = Field(default="USD", max_length=3)
    total: str = Field(default="0.00", max_length=30)
    subtotal: str | None = Field(default=None, max_length=30)
    items: list[dict[str, Any]] = _json(list)
    shipping_address: dict[str, Any] = _json()
    billing_address: dict[str, Any] = _json()
    fulfillments: list[dict[str, Any]] = _json(list)
    fulfillment_status: str | None = Field(default=None, max_length=30)
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)
    tracking_url: str | None = Field(default=None, max_length=1000)
    eta: datetime | None = _ts()
    placed_at: datetime | None = _ts()
    source_updated_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class OrderStatusChange(SQLModel, table=True):
    """History of an order's status."""

    __tablename__ = "order_status_change"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    from_status: str | None = Field(default=None, max_length=30)
    to_status: str = Field(max_length=30)
    source: str = Field(default="api", max_length=20)
    changed_at: datetime = _created()
