"""One raw RFC 5322 message -> an InboundMessage or a DeliveryUpdate (stdlib `email`, policy default).

Everything here is pure: bytes in, domain input out. Decoding never raises on bad input; only a
message with nothing to work with (no sender) is `MalformedPayload`.
"""

from __future__ import annotations

import base64
import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.base import MalformedPayload
from connectors.email import signals
from connectors.email.mime import (
    Address,
    MimeContent,
    clean_header,
    clean_text,
    decode_header_value,
    message_ids,
    parse_addresses,
    raw_header,
    walk_content,
)
from connectors.email.trimming import TrimmedReply, html_to_text, trim_html_reply, trim_reply
from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    InboundMessage,
)

MB = 1024 * 1024
#: Synthesised Message-IDs live under a reserved domain (RFC 2606) so they never leave the hub.
SYNTHETIC_ID_DOMAIN = "message-id.invalid"
_TOKEN = re.compile(r"[A-Za-z0-9]{6,40}")
_SUBJECT_TOKEN = re.compile(r"\[#([A-Za-z0-9]{6,40})\]")
_RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-forwarded-to")


@dataclass(frozen=True, slots=True)
class Limits:
    """Size caps; whatever is dropped is said so on the message."""

    max_attachment_bytes: int = 25 * MB
    max_attachments: int = 50
    max_text_chars: int = 100_000
    max_html_chars: int = 1_000_000
    #: The raw MIME is kept with the message (for audit and replay) up to this size; headers only beyond.
    max_raw_kept_bytes: int = 2 * MB


@dataclass(frozen=True, slots=True)
class Mailbox:
    """The receiving inbox as the parser needs it: its id and the addresses that are ours."""

    inbox_id: int
    address: str
    aliases: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=Limits)

    @property
    def own(self) -> frozenset[str]:
        return frozenset(a.strip().lower() for a in (self.address, *self.aliases) if a and "@" in a)

    def is_ours(self, addr: str) -> bool:
        """Our address, an alias, or a plus-addressed variant of either (`support+abc@shop.com`)."""
        return _base_address(addr) in self.own

    def token_in(self, addr: str) -> str | None:
        """The conversation token of a `support+<token>@domain` address of ours."""
        local, _, domain = addr.strip().lower().rpartition("@")
        base, plus, tag = local.partition("+")
        if plus and f"{base}@{domain}" in self.own and _TOKEN.fullmatch(tag):
            return tag
        return None


def _base_address(addr: str) -> str:
    local, _, domain = addr.strip().lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    """What one raw message meant. `event` names it; ignored mail has no items and says why."""

    event: str  # message | bounce | delivery_report | loop | bounce.unmatched | dsn.delayed
    items: tuple[InboundMessage | DeliveryUpdate, ...] = ()
    reason: str | None = None


def load(raw: bytes) -> Message:
    """The message object for raw bytes (the stdlib parser accepts anything; we refuse only emptiness)."""
    if not raw or not raw.strip():
        raise MalformedPayload("the message is empty")
    try:
        return email.message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the stdlib parser is lenient; this is a last line of defence
        raise MalformedPayload(f"unreadable message: {exc.__class__.__name__}") from exc


def parse_email(
    raw: bytes, mailbox: Mailbox, *, now: datetime | None = None, original_size: int | None = None
) -> ParsedEmail:
    """Parse one raw message received by `mailbox`.

    Args:
        raw: The message exactly as delivered (RFC 5322 bytes).
        mailbox: The receiving inbox: our addresses decide loops and reply tokens.
        now: The receipt time (a missing or absurd `Date` falls back to it).
        original_size: When only the headers were fetched because the message was too large, its size.
    """
    now = now or datetime.now(UTC)
    message = load(raw)
    subject = decode_header_value(raw_header(message, "subject"))
    if signals.carries_our_loop_header(message, mailbox.address):
        return ParsedEmail("loop", reason=f"our own mail came back ({signals.LOOP_HEADER})")
    senders = parse_addresses(message, "from") or parse_addresses(message, "sender")
    # Delivery reports come first: many carry no usable sender ("From: MAILER DAEMON <>").
    bounce = signals.bounce_report(message, senders[0].addr if senders else None, subject)
    if bounce is not None:
        return _bounce_outcome(bounce, mailbox, now)
    author = _author(message, mailbox, senders)
    if isinstance(author, str):
        return ParsedEmail("loop", reason=author)
    return ParsedEmail("message", (_inbound(message, raw, subject, author, mailbox, now, original_size),))


def _author(message: Message, mailbox: Mailbox, senders: list[Address]) -> Address | str:
    """Who wrote the message, or a loop reason (str) when it is our own mail."""
    senders = senders or parse_addresses(message, "return-path")
    if not senders:
        raise MalformedPayload("no sender address (From)")
    author = senders[0]
    if not mailbox.is_ours(author.addr):
        return author
    # A contact form on the shop's site sends "From: support@..." with the customer in Reply-To.
    foreign = [a for a in parse_addresses(message, "reply-to") if not mailbox.is_ours(a.addr)]
    if foreign:
        return foreign[0]
    return f"mail from our own address {author.addr}"


def _bounce_outcome(bounce: signals.Bounce, mailbox: Mailbox, now: datetime) -> ParsedEmail:
    if bounce.original_message_id is None:
        return ParsedEmail("bounce.unmatched", reason="a delivery report that names no message of ours")
    statuses = {"failed": DeliveryStatus.FAILED, "delivered": DeliveryStatus.DELIVERED,
                "relayed": DeliveryStatus.DELIVERED, "expanded": DeliveryStatus.DELIVERED}  # fmt: skip
    status = statuses.get(bounce.action)
    if status is None:
        return ParsedEmail("dsn.delayed", reason=f"delivery report: {bounce.action}")
    update = DeliveryUpdate(
        channel_kind=ChannelKind.EMAIL,
        inbox_id=mailbox.inbox_id,
        external_message_id=bounce.original_message_id,
        status=status,
        occurred_at=now,
        error=bounce.reason if status is DeliveryStatus.FAILED else None,
        raw={"action": bounce.action, "reason": bounce.reason},
    )
    return ParsedEmail("bounce" if status is DeliveryStatus.FAILED else "delivery_report", (update,))


# --- an inbound message ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Body:
    text: str
    full_text: str
    html: str | None
    signature_kept: str
    notes: list[str]


def _inbound(
    message: Message,
    raw: bytes,
    subject: str,
    author: Address,
    mailbox: Mailbox,
    now: datetime,
    original_size: int | None,
) -> InboundMessage:
    content = walk_content(message)
    body = _body(content, mailbox.limits)
    attachments = _attachments(content, mailbox.limits, body.notes)
    if original_size is not None:
        body.notes.append(f"the message ({_size(original_size)}) was too large: only its headers were fetched")
    own_id = message_ids(raw_header(message, "message-id"))
    message_id = own_id[0] if own_id else _synthetic_id(raw)
    in_reply_to = next(iter(message_ids(raw_header(message, "in-reply-to"))), None)
    references = _references(message, in_reply_to, message_id)
    meta = _meta(message, content, body, subject, author)
    if not own_id:
        meta["message_id_synthesized"] = True
    auto = signals.auto_reply_reason(message, subject, body.text)
    if auto:
        meta["auto_reply_reason"] = auto
    text = body.text + _note_lines(body.notes)
    return InboundMessage(
        channel_kind=ChannelKind.EMAIL,
        inbox_id=mailbox.inbox_id,
        external_message_id=message_id,
        sender=ExternalIdentity(address=author.addr, name=author.name, email=author.addr),
        text=text,
        sent_at=_sent_at(message, now),
        html=body.html,
        full_text=body.full_text + _note_lines(body.notes),
        subject=subject or None,
        attachments=attachments,
        external_thread_ref=references[0] if references else message_id,
        in_reply_to_external_id=in_reply_to,
        references=references,
        thread_token=_thread_token(message, mailbox, subject, bool(references)),
        is_auto_reply=auto is not None,
        raw=_raw_record(raw, message_id, mailbox.limits.max_raw_kept_bytes),
        meta=meta,
    )


def _body(content: MimeContent, limits: Limits) -> _Body:
    notes: list[str] = []
    plain_parts, html_parts = content.plain, content.html
    if not any(p.strip() for p in (*plain_parts, *html_parts)):
        # A bare forward (the whole mail is an attached message): its text is what there is to read.
        plain_parts, html_parts = content.embedded_plain, content.embedded_html
    plain = "\n\n".join(part.strip("\n") for part in plain_parts if part.strip())
    html = "\n".join(part for part in html_parts if part.strip()) or None
    if html is not None and len(html) > limits.max_html_chars:
        notes.append(f"the HTML version ({_size(len(html))}) was too large to keep; the text version is shown")
        html = None
    if plain.strip():
        full, trimmed = plain, trim_reply(_cap(plain, limits.max_text_chars))
    elif html is not None:
        full, trimmed = html_to_text(html), trim_html_reply(html)
    else:
        full, trimmed = "", TrimmedReply("", "", "")
    if len(full) > limits.max_text_chars:
        notes.append(f"the text was cut after {limits.max_text_chars:,} characters; the rest is in the original")
        full = full[: limits.max_text_chars]
    if content.encrypted:
        notes.append("the message is encrypted and cannot be shown")
    if content.truncated_structure:
        notes.append("parts nested too deeply were not read")
    # Never show less than nothing: a reply the trimmer emptied falls back to the whole text.
    text = trimmed.reply or full.strip()
    return _Body(clean_text(text), clean_text(full.strip()), html, trimmed.reply_with_signature, notes)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def _attachments(content: MimeContent, limits: Limits, notes: list[str]) -> tuple[Attachment, ...]:
    kept: list[Attachment] = []
    for index, file in enumerate(content.files):
        if index >= limits.max_attachments:
            dropped = len(content.files) - index
            notes.append(f"{dropped} more attachment(s) were not kept (limit {limits.max_attachments})")
            break
        size = len(file.content)
        too_large = size > limits.max_attachment_bytes
        if too_large:
            notes.append(f"attachment “{file.filename}” ({_size(size)}) was not kept: larger than "
                         f"{_size(limits.max_attachment_bytes)}")  # fmt: skip
        kept.append(
            Attachment(
                filename=file.filename,
                content_type=file.content_type,
                size=size,
                content=None if too_large else file.content,
                content_id=file.content_id,
                inline=file.inline,
                status="too_large" if too_large else "stored",
            )
        )
    return tuple(kept)


def _size(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{max(1, size // 1024)} KB"


def _note_lines(notes: list[str]) -> str:
    return "".join(f"\n\n[Omnihub: {note}]" for note in notes)


def _synthetic_id(raw: bytes) -> str:
    """A stable id for a message without one: the same bytes always give the same id (retry-safe)."""
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_ID_DOMAIN}"


def _references(message: Message, in_reply_to: str | None, message_id: str) -> tuple[str, ...]:
    """References oldest first, ending with In-Reply-To; the newest 50 are plenty to thread."""
    refs = [r for r in message_ids(raw_header(message, "references")) if r != message_id]
    if in_reply_to and in_reply_to not in refs and in_reply_to != message_id:
        refs.append(in_reply_to)
    return tuple(refs[-50:])


def _thread_token(message: Message, mailbox: Mailbox, subject: str, has_references: bool) -> str | None:
    for name in _RECIPIENT_HEADERS:
        for address in parse_addresses(message, name):
            token = mailbox.token_in(address.addr)
            if token:
                return token
    # The subject token is the last resort: reply headers, when present, decide instead.
    match = _SUBJECT_TOKEN.search(subject)
    return match.group(1).lower() if match and not has_references else None


def _sent_at(message: Message, now: datetime) -> datetime:
    raw = raw_header(message, "date")
    try:
        value = parsedate_to_datetime(clean_header(raw)) if raw else None
    except (TypeError, ValueError, IndexError, OverflowError):
        value = None
    if value is None:
        return now
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    # Clocks lie; a date in the future or before e-mail existed is worth less than the receipt time.
    if value > now + timedelta(days=1) or value.year < 1980:
        return now
    return value


def _meta(message: Message, content: MimeContent, body: _Body, subject: str, author: Address) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    recipients = [a.addr for name in ("to", "cc") for a in parse_addresses(message, name)]
    if recipients:
        meta["recipients"] = recipients[:50]
    reply_to = parse_addresses(message, "reply-to")
    if reply_to and reply_to[0].addr.lower() != author.addr.lower():
        meta["reply_to"] = reply_to[0].addr
    has_message = any(f.content_type == "message/rfc822" for f in content.files)
    forwarded = signals.forward_info(subject, body.full_text, has_message)
    if forwarded is not None:
        meta["forwarded"] = forwarded
    if body.signature_kept and body.signature_kept != body.text:
        meta["reply_with_signature"] = clean_text(body.signature_kept)[:5000]
    if body.notes:
        meta["notes"] = list(body.notes)
    return meta


def _raw_record(raw: bytes, message_id: str, limit: int) -> dict[str, Any]:
    """The original bytes for audit and replay (base64: exact and safe in JSON); headers only when huge."""
    record: dict[str, Any] = {"format": "rfc822", "size": len(raw), "message_id": message_id}
    if len(raw) <= limit:
        record["mime_b64"] = base64.b64encode(raw).decode("ascii")
    else:
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][: 64 * 1024]
        record["headers"] = clean_text(head.decode("latin-1"))
    return record
