"""The outbound worker's hot path on PostgreSQL: claim + send context in one statement, outcome in one.

The general path (`conversation.delivery` through a SQLAlchemy session) costs ~1.3 ms of CPU per reply
in session, connection and result handling around three statements; this is the same work as plain
SQL on an asyncpg connection in autocommit (bench/NOTES.md, *outbound*). The decisions (what a sent or
failed attempt sets, which event and which retry job follow) are `conversation.delivery`'s, shared by
both paths; the tests run both (SQLite uses the general path).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from conversation.delivery import (
    FailedAttempt,
    RetryPolicy,
    failed_attempt,
    failed_event,
    sent_event,
    sent_values,
    status_event,
)
from conversation.events import DomainEvent
from conversation.types import DeliveryStatus, SendReceipt

#: The claimed row's columns (CLAIM's RETURNING list).
ROW_COLUMNS = (
    "id", "conversation_id", "inbox_id", "channel", "identity_id", "author_id", "author_type", "attempts", "text",
    "html", "subject", "external_thread_ref", "in_reply_to", "meta",
)  # fmt: skip

CLAIM = """
WITH claimed AS (
    UPDATE message SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2
    WHERE id = $1 AND status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
    RETURNING id, conversation_id, inbox_id, channel, identity_id, author_id, author_type, attempts, text, html,
              subject, external_thread_ref, in_reply_to, meta
)
SELECT claimed.*,
       conv.id IS NOT NULL AS conversation_found, conv.subject AS conversation_subject, conv.ref_token,
       who.address, who.display_name, who.email, who.phone, who.extra,
       agent.name AS author_name,
       inbound.created_at AS inbound_at, inbound.meta AS inbound_meta,
       EXISTS (SELECT 1 FROM attachment WHERE attachment.message_id = claimed.id) AS has_attachments
FROM claimed
LEFT JOIN conversation conv ON conv.id = claimed.conversation_id
LEFT JOIN identity who ON who.id = claimed.identity_id
LEFT JOIN agent ON claimed.author_type = 'agent' AND agent.id = claimed.author_id
LEFT JOIN LATERAL (
    SELECT m.created_at, m.meta FROM message m
    WHERE m.conversation_id = claimed.conversation_id AND m.channel = claimed.channel AND m.direction = 'inbound'
    ORDER BY m.id DESC LIMIT 1
) inbound ON true
"""

ATTACHMENTS = (
    "SELECT filename, content_type, size, storage_key, source_url FROM attachment WHERE message_id = $1 ORDER BY id"
)

REFERENCES = (
    "SELECT external_id FROM message WHERE conversation_id = $1 AND channel = $2 AND external_id IS NOT NULL "
    "ORDER BY id"
)

SENT = """
UPDATE message SET status = $2, external_id = $3, sent_at = $4, next_attempt_at = NULL, error = NULL,
                   external_thread_ref = COALESCE(external_thread_ref, $5)
WHERE id = $1 AND status = 'sending'
"""

FAILED = "UPDATE message SET status = $2, next_attempt_at = $3, error = $4 WHERE id = $1"


class Row(dict[str, Any]):
    """A claimed message row that also reads as attributes (what `conversation.delivery` expects)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message this worker now owns (status `sending`) and what sending it needs besides its inbox."""

    row: Row
    conversation_found: bool
    conversation_subject: str | None
    ref_token: str | None
    recipient: dict[str, Any] | None
    author_name: str | None
    inbound_at: datetime | None
    inbound_meta: dict[str, Any] | None
    has_attachments: bool
    event: DomainEvent


async def claim(connection: Any, message_id: int, *, now: datetime, lease_until: datetime) -> Claimed | None:
    """Take a queued message for sending (at most one worker wins) and read its send context."""
    record = await connection.fetchrow(CLAIM, message_id, lease_until, now)
    if record is None:
        return None
    values = dict(record)
    row = Row({k: values[k] for k in ROW_COLUMNS})
    row["meta"] = _json(row["meta"]) or {}
    recipient = None
    if values["address"] is not None:
        recipient = {k: values[k] for k in ("address", "display_name", "email", "phone")}
        recipient["extra"] = _json(values["extra"]) or {}
    return Claimed(
        row=row,
        conversation_found=values["conversation_found"],
        conversation_subject=values["conversation_subject"],
        ref_token=values["ref_token"],
        recipient=recipient,
        author_name=values["author_name"],
        inbound_at=values["inbound_at"],
        inbound_meta=_json(values["inbound_meta"]),
        has_attachments=values["has_attachments"],
        event=status_event(row, DeliveryStatus.SENDING),
    )


async def attachments(connection: Any, message_id: int) -> list[Row]:
    return [Row(dict(r)) for r in await connection.fetch(ATTACHMENTS, message_id)]


async def references(connection: Any, row: Row) -> list[str]:
    return [r[0] for r in await connection.fetch(REFERENCES, row.conversation_id, row.channel)]


async def record_sent(connection: Any, row: Row, receipt: SendReceipt, now: datetime) -> DomainEvent:
    values = sent_values(receipt, now)
    await connection.execute(SENT, row.id, values["status"], values["external_id"], now, receipt.external_thread_ref)
    return sent_event(row, receipt, now)


async def record_attempt_failed(
    connection: Any, row: Row, reason: str, *, retryable: bool, policy: RetryPolicy, now: datetime
) -> tuple[FailedAttempt, DomainEvent]:
    outcome = failed_attempt(row, retryable=retryable, policy=policy, now=now)
    await connection.execute(FAILED, row.id, outcome.status.value, outcome.next_attempt_at, reason)
    return outcome, failed_event(row, outcome, reason)
