"""`email` connector: raw RFC 5322 mail in (HTTP intake, IMAP, pipes), threaded replies out over SMTP."""

from __future__ import annotations

import email
import hmac
from email import policy
from typing import ClassVar
from urllib.parse import parse_qs

from connectors.base import (
    HandshakeReply,
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SendFailed,
    SignatureInvalid,
    UnsupportedEvent,
)
from connectors.email.client import compose, deliver
from connectors.email.mime import part_bytes
from connectors.email.parser import Mailbox, ParsedEmail, parse_email
from connectors.email.settings import SETTINGS_SPEC, SettingsError, email_settings
from conversation.types import ChannelKind, DeliveryStatus, OutboundMessage, SendReceipt, SettingsSpec

#: Set by the IMAP poller when a message was too large and only its headers were fetched.
ORIGINAL_SIZE_HEADER = "X-Omnihub-Original-Size"
#: Form fields inbound-parse services put the raw MIME in (SendGrid "raw", Mailgun "body-mime").
_FORM_FIELDS = ("email", "body-mime", "message", "raw")


class EmailConnector:
    """A mailbox: mail arrives as raw RFC 5322 bytes, replies leave over SMTP and thread.

    `POST /webhooks/email/{inbox_id}` takes the raw message as the body (or as a multipart/form field
    of an inbound-parse service) with `Authorization: Bearer <webhook_token>`; the IMAP poller and
    `omnihub ingest-email` hand the same bytes to `parse`.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.EMAIL
    supported_events: ClassVar[frozenset[str]] = frozenset({"message", "bounce", "delivery_report"})
    #: Mail loops, reports on mail that is not ours and "still trying" reports: taken and dropped.
    ignored_events: ClassVar[frozenset[str]] = frozenset({"loop", "bounce.unmatched", "dsn.delayed"})
    settings_spec: ClassVar[SettingsSpec] = SETTINGS_SPEC

    def __init__(self, smtp_timeout: float = 30.0) -> None:
        self.smtp_timeout = smtp_timeout

    # -- verify -------------------------------------------------------------------------------------
    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Check `Authorization: Bearer <webhook_token>` in constant time."""
        expected = str(account.settings.get("webhook_token") or "")
        if not expected:
            raise SignatureInvalid("this inbox takes no mail over HTTP: set its webhook_token first")
        scheme, _, given = (request.headers.get("authorization") or "").strip().partition(" ")
        matches = hmac.compare_digest(given.strip().encode(), expected.encode())
        if scheme.lower() != "bearer" or not matches:
            raise SignatureInvalid("Authorization: Bearer <webhook_token> is missing or wrong")

    # -- parse --------------------------------------------------------------------------------------
    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """One raw message -> an inbound message, a delivery update (bounce), or nothing (a loop)."""
        raw = _raw_message(request)
        parsed = parse_email(raw, mailbox_for(account), original_size=_original_size(request))
        if parsed.event in self.ignored_events:
            return ParseResult(items=[], reply=_ignored(parsed))
        if parsed.event not in self.supported_events:
            raise UnsupportedEvent(parsed.event)
        return ParseResult(items=list(parsed.items))

    # -- send ---------------------------------------------------------------------------------------
    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Compose a threaded reply and send it over SMTP; our Message-ID is the receipt's id."""
        try:
            config = email_settings(account.settings)
        except SettingsError as exc:
            raise SendFailed(f"the inbox settings cannot be used: {exc}", retryable=False) from exc
        composed = compose(message, config, account.name)
        answer = await deliver(composed, config.smtp, timeout=self.smtp_timeout)
        return SendReceipt(
            external_message_id=composed.message_id, status=DeliveryStatus.SENT, raw={"smtp": answer[:300]}
        )


def mailbox_for(account: InboxConfig) -> Mailbox:
    """The parser's view of an inbox: its id and every address that is ours."""
    settings = account.settings
    address = str(settings.get("address") or "").strip()
    aliases = settings.get("aliases") or []
    if isinstance(aliases, str):
        aliases = aliases.split(",")
    return Mailbox(inbox_id=account.id, address=address, aliases=frozenset(str(a).strip() for a in aliases))


def _ignored(parsed: ParsedEmail) -> HandshakeReply:
    return HandshakeReply(200, {"ok": True, "ignored": parsed.reason or parsed.event})


def _original_size(request: RawRequest) -> int | None:
    value = request.headers.get(ORIGINAL_SIZE_HEADER)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _raw_message(request: RawRequest) -> bytes:
    """The RFC 5322 bytes: the body itself, or the raw-MIME field of an inbound-parse form post."""
    ctype = (request.headers.get("content-type") or "").strip()
    lowered = ctype.lower()
    if lowered.startswith("multipart/form-data"):
        return _from_multipart_form(ctype, request.body)
    if lowered.startswith("application/x-www-form-urlencoded"):
        fields = parse_qs(request.body.decode("utf-8", "replace"))
        for name in _FORM_FIELDS:
            if fields.get(name):
                return fields[name][0].encode("utf-8")
        raise MalformedPayload(f"the form has none of the fields {', '.join(_FORM_FIELDS)}")
    return request.body


def _from_multipart_form(ctype: str, body: bytes) -> bytes:
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("utf-8", "replace")
    form = email.message_from_bytes(head + body, policy=policy.HTTP)
    for part in form.walk():
        if part.is_multipart():
            continue
        try:
            name = part.get_param("name", header="content-disposition")
        except Exception:
            name = None
        if isinstance(name, str) and name in _FORM_FIELDS:
            return part_bytes(part)
    raise MalformedPayload(f"the form has none of the fields {', '.join(_FORM_FIELDS)}")
