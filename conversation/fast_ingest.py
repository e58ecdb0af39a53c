"""The hot path of ingest: a known sender writing into their open conversation, in one round trip.

Most inbound traffic is a customer we know writing again into a thread that is still open. For that
case this module stores the message and moves the conversation forward with prepared statements on the
driver connection (one data-modifying CTE on PostgreSQL: no BEGIN/COMMIT round trips; three statements
in one IMMEDIATE transaction on SQLite, handed whole to the writer thread). It applies exactly the rules
of `ingest.receive_inbound` for that case; anything else (new sender, resolved or missing thread, edits,
email references, attachments, auto-replies) returns None and the caller takes the general path, which
re-checks everything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import msgspec

from conversation.events import CONVERSATION_CREATED, JOB_BOT, MESSAGE_CREATED, DomainEvent, Job
from conversation.html import sanitize_html
from conversation.identities import SAME_NAME, SAME_NAME_LIMIT, ContactKeys, InvalidAddress, contact_keys, full_name
from conversation.ingest import InboxPolicy, IngestResult, inbound_message_payload, preview
from conversation.threads import new_ref_token
from conversation.types import InboundMessage
from conversation.views import conversation_summary, iso

# Columns of `conversation` the event summary needs, in RETURNING/SELECT order.
_SUMMARY_COLUMNS = (
    "id", "inbox_id", "customer_id", "status", "assignee_id", "team_id", "priority", "subject", "snoozed_until",
    "channels", "tags", "unread_count", "message_count", "waiting_since", "last_message_id", "last_message_text",
    "last_message_direction", "last_message_channel", "last_message_author_type", "bot_state", "created_at",
    "updated_at", "last_activity_at",
)  # fmt: skip
_RETURNING = ", ".join(f"cv.{c}" for c in _SUMMARY_COLUMNS)

PG_STORE = f"""
WITH ident AS (
    SELECT i.id, i.customer_id, cu.name AS customer_name
    FROM identity i JOIN customer cu ON cu.id = i.customer_id
    WHERE i.channel_kind = $1 AND i.address = $2
), conv AS (
    SELECT c.id, c.status FROM conversation c JOIN ident ON c.customer_id = ident.customer_id
    ORDER BY (c.status = 'resolved'), c.last_activity_at DESC
    LIMIT 1
), ins AS (
    INSERT INTO message (conversation_id, inbox_id, channel, direction, author_type, author_id, identity_id, text,
                         html, subject, external_id, external_thread_ref, in_reply_to, status, attempts, raw, meta,
                         created_at)
    SELECT conv.id, $3, $1, 'inbound', 'customer', ident.customer_id, ident.id, $4, $5, $6, $7, $8, $9, 'received',
           0, $10::jsonb, $11::jsonb, $12
    FROM conv, ident WHERE conv.status <> 'resolved'
    ON CONFLICT (inbox_id, external_id) DO NOTHING
    RETURNING id, conversation_id
), upd AS (
    UPDATE conversation cv SET
        last_message_id = ins.id, last_message_text = $13, last_message_direction = 'inbound',
        last_message_channel = $1, last_message_author_type = 'customer', last_activity_at = $12,
        last_inbound_at = $12, updated_at = $12, unread_count = cv.unread_count + 1,
        message_count = cv.message_count + 1, waiting_since = COALESCE(cv.waiting_since, $12),
        channels = CASE WHEN cv.channels @> $14::jsonb THEN cv.channels ELSE cv.channels || $14::jsonb END,
        status = CASE WHEN cv.status IN ('pending', 'snoozed') THEN 'open' ELSE cv.status END,
        snoozed_until = CASE WHEN cv.status IN ('pending', 'snoozed') THEN NULL ELSE cv.snoozed_until END
    FROM ins WHERE cv.id = ins.conversation_id
    RETURNING {_RETURNING}
)
SELECT ident.id AS identity_id, ident.customer_id, ident.customer_name, conv.id AS conversation_id,
       conv.status AS previous_status, ins.id AS message_id, a.name AS assignee_name, a.email AS assignee_email,
       {", ".join(f"upd.{c} AS u_{c}" for c in _SUMMARY_COLUMNS)}
FROM (SELECT 1) AS one
LEFT JOIN ident ON true LEFT JOIN conv ON true LEFT JOIN ins ON true LEFT JOIN upd ON true
LEFT JOIN agent a ON a.id = upd.assignee_id
"""  # noqa: S608 - only constant column names are interpolated; values are bound parameters

_CONVERSATION_INSERT_COLUMNS = (
    "id, inbox_id, customer_id, status, priority, subject, ref_token, channels, tags, unread_count, message_count, "
    "waiting_since, last_inbound_at, last_message_id, last_message_text, last_message_direction, "
    "last_message_channel, last_message_author_type, bot_state, created_at, updated_at, last_activity_at"
)
_MESSAGE_INSERT_COLUMNS = (
    "id, conversation_id, inbox_id, channel, direction, author_type, author_id, identity_id, text, html, subject, "
    "external_id, external_thread_ref, in_reply_to, status, attempts, raw, meta, created_at"
)

#: A first message from a sender nobody knows and whose email/phone links to no one: customer, identity,
#: conversation and message in one statement, ids drawn from the sequences up front. A concurrent first
#: message from the same sender loses the identity race and inserts nothing (the caller falls back).
PG_NEW_SENDER = f"""
WITH link AS (
    SELECT 1 FROM identity
    WHERE verified AND ((email = $3 AND $3 IS NOT NULL) OR (phone = $4 AND $4 IS NOT NULL))
    LIMIT 1
), ids AS (
    SELECT nextval(pg_get_serial_sequence('customer', 'id')) AS customer_id,
           nextval(pg_get_serial_sequence('conversation', 'id')) AS conversation_id,
           nextval(pg_get_serial_sequence('message', 'id')) AS message_id
    WHERE NOT EXISTS (SELECT 1 FROM link)
), ident AS (
    INSERT INTO identity (customer_id, channel_kind, address, email, phone, display_name, verified, extra, created_at,
                          last_seen_at)
    SELECT ids.customer_id, $1, $2, $3, $4, $5, true, $6::jsonb, $7, $7 FROM ids
    ON CONFLICT (channel_kind, address) DO NOTHING
    RETURNING id, customer_id
), cust AS (
    INSERT INTO customer (id, name, email, phone, avatar_url, attributes, created_at, updated_at)
    SELECT ident.customer_id, $5, $3, $4, $8, '{{}}'::jsonb, $7, $7 FROM ident
    RETURNING id
), conv AS (
    INSERT INTO conversation ({_CONVERSATION_INSERT_COLUMNS})
    SELECT ids.conversation_id, $9, cust.id, 'open', 'none', $10, $11, $12::jsonb, '[]'::jsonb, 1, 1, $7, $7,
           ids.message_id, $13, 'inbound', $1, 'customer', '{{}}'::jsonb, $7, $7, $7
    FROM ids, cust
    RETURNING {", ".join(_SUMMARY_COLUMNS)}
), msg AS (
    INSERT INTO message ({_MESSAGE_INSERT_COLUMNS})
    SELECT ids.message_id, ids.conversation_id, $9, $1, 'inbound', 'customer', cust.id, ident.id, $14, $15, $10, $16,
           $17, $18, 'received', 0, $19::jsonb, $20::jsonb, $7
    FROM ids, cust, ident
    RETURNING id
), same_name AS (
    INSERT INTO merge_suggestion (customer_id, other_customer_id, reason, status, created_at)
    SELECT cust.id, other.id, $22, 'open', $7
    FROM cust, (
        SELECT id FROM customer
        WHERE $21::text IS NOT NULL AND lower(name) = lower($21::text) AND merged_into_id IS NULL
        ORDER BY id DESC LIMIT {SAME_NAME_LIMIT}
    ) AS other
    ON CONFLICT (customer_id, other_customer_id) DO NOTHING
)
SELECT (SELECT count(*) FROM link) AS linked, ident.id AS identity_id, msg.id AS message_id,
       {", ".join(f"conv.{c} AS u_{c}" for c in _SUMMARY_COLUMNS)}
FROM (SELECT 1) AS one LEFT JOIN ident ON true LEFT JOIN msg ON true LEFT JOIN conv ON true
"""  # noqa: S608 - only constant column names are interpolated; values are bound parameters

SQLITE_LOOKUP = """
SELECT i.id, i.customer_id, cu.name, c.id, c.status
FROM identity i JOIN customer cu ON cu.id = i.customer_id
LEFT JOIN conversation c ON c.id = (
    SELECT id FROM conversation WHERE customer_id = i.customer_id
    ORDER BY (status = 'resolved'), last_activity_at DESC LIMIT 1)
WHERE i.channel_kind = ? AND i.address = ?
"""
SQLITE_INSERT = """
INSERT INTO message (conversation_id, inbox_id, channel, direction, author_type, author_id, identity_id, text, html,
                     subject, external_id, external_thread_ref, in_reply_to, status, attempts, raw, meta, created_at)
VALUES (?, ?, ?, 'inbound', 'customer', ?, ?, ?, ?, ?, ?, ?, ?, 'received', 0, ?, ?, ?)
ON CONFLICT (inbox_id, external_id) DO NOTHING
RETURNING id
"""
SQLITE_UPDATE = f"""
UPDATE conversation AS cv SET
    last_message_id = ?1, last_message_text = ?2, last_message_direction = 'inbound', last_message_channel = ?3,
    last_message_author_type = 'customer', last_activity_at = ?4, last_inbound_at = ?4, updated_at = ?4,
    unread_count = cv.unread_count + 1, message_count = cv.message_count + 1,
    waiting_since = COALESCE(cv.waiting_since, ?4),
    channels = CASE WHEN EXISTS (SELECT 1 FROM json_each(cv.channels) WHERE value = ?3) THEN cv.channels
                    ELSE json_insert(cv.channels, '$[#]', ?3) END,
    status = CASE WHEN cv.status IN ('pending', 'snoozed') THEN 'open' ELSE cv.status END,
    snoozed_until = CASE WHEN cv.status IN ('pending', 'snoozed') THEN NULL ELSE cv.snoozed_until END
WHERE cv.id = ?5 AND cv.status <> 'resolved'
RETURNING {", ".join(_SUMMARY_COLUMNS)}
"""  # noqa: S608 - only constant column names are interpolated; values are bound parameters
SQLITE_LINK = """
SELECT 1 FROM identity WHERE verified AND ((email = ?1 AND ?1 IS NOT NULL) OR (phone = ?2 AND ?2 IS NOT NULL)) LIMIT 1
"""
SQLITE_NEW_IDENTITY = """
INSERT INTO identity (customer_id, channel_kind, address, email, phone, display_name, verified, extra, created_at,
                      last_seen_at)
VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
ON CONFLICT (channel_kind, address) DO NOTHING
RETURNING id
"""
SQLITE_NEW_CUSTOMER = """
INSERT INTO customer (name, email, phone, avatar_url, attributes, created_at, updated_at)
VALUES (?, ?, ?, ?, '{}', ?, ?) RETURNING id
"""
SQLITE_NEW_CONVERSATION = f"""
INSERT INTO conversation (inbox_id, customer_id, status, priority, subject, ref_token, channels, tags, unread_count,
                          message_count, waiting_since, last_inbound_at, last_message_text, last_message_direction,
                          last_message_channel, last_message_author_type, bot_state, created_at, updated_at,
                          last_activity_at)
VALUES (?1, ?2, 'open', 'none', ?3, ?4, json_array(?5), '[]', 1, 1, ?6, ?6, ?7, 'inbound', ?5, 'customer', '{{}}', ?6,
        ?6, ?6)
RETURNING {", ".join(_SUMMARY_COLUMNS)}
"""  # noqa: S608 - only constant column names are interpolated; values are bound parameters
SQLITE_SET_LAST_MESSAGE = "UPDATE conversation SET last_message_id = ? WHERE id = ?"
SQLITE_SAME_NAME = """
INSERT INTO merge_suggestion (customer_id, other_customer_id, reason, status, created_at)
SELECT ?1, id, ?2, 'open', ?3 FROM customer
WHERE lower(name) = lower(?4) AND id <> ?1 AND merged_into_id IS NULL
ORDER BY id DESC LIMIT ?5
ON CONFLICT (customer_id, other_customer_id) DO NOTHING
"""
SQLITE_AGENT = "SELECT name, email FROM agent WHERE id = ?"


class Row(Protocol):
    def __getitem__(self, key: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """What the fast path stored, to turn into an IngestResult and events."""

    message_id: int
    customer_id: int
    customer_name: str | None
    conversation: dict[str, Any]
    assignee: dict[str, Any] | None
    previous_status: str
    created_conversation: bool = False


def applicable(msg: InboundMessage) -> bool:
    """Only the plain case: everything else has rules only the general path applies."""
    return not (
        msg.is_edit or msg.is_auto_reply or msg.attachments or msg.thread_token or msg.in_reply_to_external_id
        or msg.references or msg.full_text
    )  # fmt: skip


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _message_values(msg: InboundMessage) -> tuple[str, str | None, str | None, str, str | None, str | None, str, str]:
    meta = {**msg.meta, "sent_at": iso(msg.sent_at)}
    return (
        msg.text,
        sanitize_html(msg.html),
        msg.subject[:500] if msg.subject else None,
        msg.external_message_id,
        msg.external_thread_ref,
        msg.in_reply_to_external_id,
        _json(msg.raw),
        _json(meta),
    )


def _assignee(assignee_id: int | None, name: str | None, email: str | None) -> dict[str, Any] | None:
    if assignee_id is None:
        return None
    return {"id": assignee_id, "name": name, "email": email, "avatar_url": None}


def _decode_json_fields(values: dict[str, Any]) -> dict[str, Any]:
    for key in ("channels", "tags", "bot_state"):
        if isinstance(values.get(key), str | bytes):
            values[key] = msgspec.json.decode(values[key])
    return values


async def store_postgres(
    connection: Any, msg: InboundMessage, keys: ContactKeys, now: datetime
) -> Stored | bool | None:
    """One statement (asyncpg connection, autocommit). Stored, True for a duplicate, None if not applicable.

    A message whose external id collides while creating a new sender raises the driver's unique-violation
    error: the caller takes the general path, which sorts it out.
    """
    text, html, subject, external_id, thread_ref, in_reply_to, raw, meta = _message_values(msg)
    channel = msg.channel_kind.value
    row = await connection.fetchrow(
        PG_STORE, channel, keys.address, msg.inbox_id, text, html, subject, external_id, thread_ref, in_reply_to,
        raw, meta, now, preview(msg.text), _json([channel]),
    )  # fmt: skip
    if row["identity_id"] is None:
        return await _create_postgres(connection, msg, keys, now) if msg.sender.verified else None
    if row["conversation_id"] is None or row["previous_status"] == "resolved":
        return None
    if row["message_id"] is None:
        return True
    conversation = _decode_json_fields({c: row[f"u_{c}"] for c in _SUMMARY_COLUMNS})
    return Stored(
        message_id=int(row["message_id"]),
        customer_id=int(row["customer_id"]),
        customer_name=row["customer_name"],
        conversation=conversation,
        assignee=_assignee(conversation["assignee_id"], row["assignee_name"], row["assignee_email"]),
        previous_status=row["previous_status"],
    )


async def _create_postgres(connection: Any, msg: InboundMessage, keys: ContactKeys, now: datetime) -> Stored | None:
    text, html, subject, external_id, thread_ref, in_reply_to, raw, meta = _message_values(msg)
    sender = msg.sender
    row = await connection.fetchrow(
        PG_NEW_SENDER, msg.channel_kind.value, keys.address, keys.email, keys.phone, sender.name,
        _json(sender.extra or {}), now, sender.avatar_url, msg.inbox_id, subject, new_ref_token(),
        _json([msg.channel_kind.value]), preview(msg.text), text, html, external_id, thread_ref, in_reply_to, raw, meta,
        full_name(sender.name), SAME_NAME,
    )  # fmt: skip
    if row["message_id"] is None:  # linked to someone, or another delivery created this sender just now
        return None
    conversation = _decode_json_fields({c: row[f"u_{c}"] for c in _SUMMARY_COLUMNS})
    return Stored(
        int(row["message_id"]), int(conversation["customer_id"]), sender.name, conversation, None, "open", True
    )


#: SQLite allows one writer: ingest queues its transactions here instead of spinning on SQLITE_BUSY.
SQLITE_WRITER = asyncio.Lock()


def _sqlite_time(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime type writes (naive UTC), so both paths compare equal.
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


async def store_sqlite(connection: Any, msg: InboundMessage, keys: ContactKeys, now: datetime) -> Stored | bool | None:
    """One IMMEDIATE transaction, handed whole to the SQLite writer thread (`hub/storage/raw.py`)."""
    async with SQLITE_WRITER:
        return await connection.run(_sqlite_transaction, msg, keys, now)  # type: ignore[no-any-return]


def _sqlite_transaction(db: Any, msg: InboundMessage, keys: ContactKeys, now: datetime) -> Stored | bool | None:
    """Runs on the writer thread, on a `sqlite3` connection in autocommit mode."""
    db.execute("BEGIN IMMEDIATE")
    try:
        outcome = _sqlite_steps(db, msg, keys, now)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT" if isinstance(outcome, Stored) else "ROLLBACK")
    return outcome


def _sqlite_steps(db: Any, msg: InboundMessage, keys: ContactKeys, now: datetime) -> Stored | bool | None:
    found = _fetch(db, SQLITE_LOOKUP, (msg.channel_kind.value, keys.address))
    if found is None:
        return _sqlite_create(db, msg, keys, now) if msg.sender.verified else None
    if found[3] is None or found[4] == "resolved":
        return None
    identity_id, customer_id, customer_name, conversation_id, previous_status = found
    text, html, subject, external_id, thread_ref, in_reply_to, raw, meta = _message_values(msg)
    stamp = _sqlite_time(now)
    inserted = _fetch(
        db,
        SQLITE_INSERT,
        (conversation_id, msg.inbox_id, msg.channel_kind.value, customer_id, identity_id, text, html, subject,
         external_id, thread_ref, in_reply_to, raw, meta, stamp),
    )  # fmt: skip
    if inserted is None:
        return True
    updated = _fetch(
        db, SQLITE_UPDATE, (inserted[0], preview(msg.text), msg.channel_kind.value, stamp, conversation_id)
    )
    if updated is None:  # the thread was resolved between our reads: cannot happen under the writer lock
        return None
    conversation = _sqlite_conversation(updated, now)
    assignee = None
    if conversation["assignee_id"] is not None:
        agent = _fetch(db, SQLITE_AGENT, (conversation["assignee_id"],))
        assignee = _assignee(conversation["assignee_id"], agent[0] if agent else None, agent[1] if agent else None)
    return Stored(int(inserted[0]), int(customer_id), customer_name, conversation, assignee, previous_status)


def _sqlite_conversation(row: Any, now: datetime) -> dict[str, Any]:
    conversation = _decode_json_fields(dict(zip(_SUMMARY_COLUMNS, row, strict=True)))
    for key in ("created_at", "updated_at", "last_activity_at", "waiting_since", "snoozed_until"):
        if isinstance(conversation.get(key), str):
            conversation[key] = datetime.fromisoformat(conversation[key]).replace(tzinfo=now.tzinfo)
    return conversation


def _fetch(db: Any, sql: str, params: tuple[Any, ...]) -> Any:
    return db.execute(sql, params).fetchone()


def _sqlite_create(db: Any, msg: InboundMessage, keys: ContactKeys, now: datetime) -> Stored | None:
    """A first message from an unknown sender who links to no one (inside the caller's transaction)."""
    if _fetch(db, SQLITE_LINK, (keys.email, keys.phone)) is not None:
        return None
    sender, stamp, channel = msg.sender, _sqlite_time(now), msg.channel_kind.value
    customer = _fetch(db, SQLITE_NEW_CUSTOMER, (sender.name, keys.email, keys.phone, sender.avatar_url, stamp, stamp))
    identity = _fetch(
        db, SQLITE_NEW_IDENTITY,
        (customer[0], channel, keys.address, keys.email, keys.phone, sender.name, _json(sender.extra or {}),
         stamp, stamp),
    )  # fmt: skip
    if identity is None:
        return None
    text, html, subject, external_id, thread_ref, in_reply_to, raw, meta = _message_values(msg)
    created = _fetch(
        db,
        SQLITE_NEW_CONVERSATION,
        (msg.inbox_id, customer[0], subject, new_ref_token(), channel, stamp, preview(msg.text)),
    )
    inserted = _fetch(
        db,
        SQLITE_INSERT,
        (created[0], msg.inbox_id, channel, customer[0], identity[0], text, html, subject, external_id, thread_ref,
         in_reply_to, raw, meta, stamp),
    )  # fmt: skip
    if inserted is None:  # the external id exists under another sender: let the general path decide
        return None
    db.execute(SQLITE_SET_LAST_MESSAGE, (inserted[0], created[0]))
    if (name := full_name(sender.name)) is not None:
        db.execute(SQLITE_SAME_NAME, (customer[0], SAME_NAME, stamp, name, SAME_NAME_LIMIT))
    conversation = _sqlite_conversation(created, now)
    conversation["last_message_id"] = inserted[0]
    return Stored(int(inserted[0]), int(customer[0]), sender.name, conversation, None, "open", True)


class _Attrs(dict[str, Any]):
    """A dict that also reads as attributes (what views.conversation_summary expects of a row)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def outcome(
    msg: InboundMessage, stored: Stored, policy: InboxPolicy, now: datetime
) -> tuple[IngestResult, list[DomainEvent], list[Job]]:
    """The result, events and jobs of a fast-path store: the same as the general path records."""
    row = _Attrs(stored.conversation)
    summary = conversation_summary(row, stored.customer_name, stored.assignee)
    message = inbound_message_payload(msg, stored.message_id, row.id, stored.customer_id, stored.customer_name, now)
    created = DomainEvent(MESSAGE_CREATED, {"message": message, "conversation": summary}, row.inbox_id, row.id)
    events = [created]
    if stored.created_conversation:
        events.insert(0, DomainEvent(CONVERSATION_CREATED, {"conversation": summary}, row.inbox_id, row.id))
    jobs = []
    if policy.bot_enabled and row.assignee_id is None and not (row.bot_state or {}).get("handed_off"):
        jobs.append(Job(JOB_BOT, {"message_id": stored.message_id}, key=f"bot:{stored.message_id}"))
    result = IngestResult(
        message_id=stored.message_id,
        conversation_id=row.id,
        customer_id=stored.customer_id,
        created_conversation=stored.created_conversation,
        events=[created],
    )
    return result, events, jobs


def sender_keys(msg: InboundMessage) -> ContactKeys | None:
    """The normalised address, email and phone of the sender (None when invalid: the general path decides)."""
    try:
        return contact_keys(msg.channel_kind.value, msg.sender)
    except InvalidAddress:
        return None
