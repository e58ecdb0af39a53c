"""Outbound mail: compose a threaded MIME message and hand it to the SMTP server (aiosmtplib).

This is the only module of the email connector that does network I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from connectors.base import SendFailed
from connectors.email.mime import clean_header, message_ids, safe_filename
from connectors.email.settings import EmailSettings, ServerSettings
from connectors.email.signals import LOOP_HEADER, loop_token
from conversation.html import text_to_html
from conversation.types import OutboundMessage

MAX_REFERENCES = 20
MAX_SUBJECT_CHARS = 250
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|antw|vs|odp|ynt|res|rif|tr|fwd?|wg)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_SMTP_DEFAULT_TIMEOUT = 30.0
#: CRLF, 7-bit bodies (quoted-printable/base64: any server takes them) and headers folded only past
#: RFC 5322's hard limit, so a long Message-ID stays on its own line as some clients expect.
_POLICY = policy.SMTP.clone(max_line_length=998, cte_type="7bit")


@dataclass(frozen=True, slots=True)
class Composed:
    """A message ready for SMTP and the id the receipt reports (without angle brackets)."""

    message: EmailMessage
    message_id: str
    sender: str
    recipient: str


def _mailbox(name: str | None, addr: str, what: str) -> Address:
    try:
        return Address(display_name=clean_header(name or "")[:200], addr_spec=addr.strip())
    except (ValueError, IndexError, TypeError) as exc:  # the header registry rejects malformed addresses
        raise SendFailed(f"cannot send: {what} address {addr!r} is not valid", retryable=False) from exc


def reply_subject(subject: str | None, fallback: str, replying: bool) -> str:
    """One clean line: "Re: <subject>" when answering, never "Re: Re:", never a CR or LF."""
    text = clean_header(subject or "") or fallback
    if replying and not _REPLY_PREFIX.match(text):
        text = f"Re: {text}"
    return text[:MAX_SUBJECT_CHARS]


def _threading_ids(message: OutboundMessage) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) from the conversation's ids, without ids we made up ourselves."""

    def usable(ident: str | None) -> str | None:
        ids = message_ids(f"<{ident}>") if ident else []
        return ids[0] if ids and not ids[0].endswith(".invalid") else None

    parent = usable(message.in_reply_to_external_id)
    refs = [r for r in (usable(i) for i in message.references) if r]
    refs = list(dict.fromkeys(r for r in refs if r != parent))
    if parent:
        refs.append(parent)
    return parent, refs[-MAX_REFERENCES:]


def compose(message: OutboundMessage, config: EmailSettings, inbox_name: str) -> Composed:
    """The MIME message for one reply: From/Reply-To, threading headers, text + HTML, attachments."""
    mail = EmailMessage(policy=_POLICY)
    brand = config.from_name or inbox_name
    display = f"{message.author_name} ({brand})" if message.author_name else brand
    mail["From"] = _mailbox(display, config.address, "the inbox")
    if config.plus_addressing and message.thread_token:
        mail["Reply-To"] = _mailbox(brand, config.plus_address(message.thread_token), "the reply-to")
    recipient = message.recipient.email or message.recipient.address
    mail["To"] = _mailbox(message.recipient.name, recipient, "the customer's")
    parent, references = _threading_ids(message)
    subject = reply_subject(message.subject, f"Your message to {brand}", replying=parent is not None)
    if config.subject_token and message.thread_token and f"[#{message.thread_token}]" not in subject:
        subject = f"{subject} [#{message.thread_token}]"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now(UTC))
    message_id = make_msgid(idstring=f"omnihub.{message.message_id}", domain=config.domain)
    mail["Message-ID"] = message_id
    if parent:
        mail["In-Reply-To"] = f"<{parent}>"
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    mail[LOOP_HEADER] = loop_token(config.address)
    if message.meta.get("bot_name"):
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: responders must not answer the bot
    _set_body(mail, message)
    return Composed(mail, message_id.strip("<>"), config.address, recipient)


def _set_body(mail: EmailMessage, message: OutboundMessage) -> None:
    text = message.text.replace("\r\n", "\n").replace("\r", "\n")
    mail.set_content(text, subtype="plain", charset="utf-8")
    html = message.html or f'<div dir="auto">{text_to_html(text)}</div>'
    mail.add_alternative(f"<!DOCTYPE html><html><body>{html}</body></html>", subtype="html", charset="utf-8")
    for attachment in message.attachments:
        if attachment.content is None:
            raise SendFailed(f"cannot send: the attachment {attachment.filename!r} is not available", retryable=False)
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        mail.add_attachment(
            attachment.content,
            maintype=maintype if subtype else "application",
            subtype=subtype or "octet-stream",
            filename=safe_filename(attachment.filename) or "attachment",
        )


async def deliver(composed: Composed, server: ServerSettings, timeout: float = _SMTP_DEFAULT_TIMEOUT) -> str:
    """Send over SMTP; returns the server's answer. SMTP errors become `SendFailed` (4xx retry, 5xx not)."""
    try:
        return await _send(composed, server, timeout)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0] if exc.recipients else None
        code = refused.code if refused is not None else 550
        detail = refused.message if refused is not None else str(exc)
        raise SendFailed(f"the mail server refused the recipient: {code} {detail}", retryable=code < 500,
                         code=str(code)) from exc  # fmt: skip
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SendFailed(
            f"SMTP login failed ({exc.code}): check smtp_username and smtp_password",
            retryable=False,
            code=str(exc.code),
        ) from exc
    except aiosmtplib.SMTPNotSupported as exc:
        raise SendFailed(
            f"the SMTP server does not support this: {exc} (check the TLS options)", retryable=False
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise SendFailed(
            f"the mail server answered {exc.code} {exc.message}", retryable=exc.code < 500, code=str(exc.code)
        ) from exc
    except aiosmtplib.SMTPException as exc:
        if "STARTTLS" in str(exc):  # required by our settings, not offered by the server: no retry will help
            hint = "set smtp_starttls to false only for a trusted local relay"
            raise SendFailed(f"{exc} ({hint})", retryable=False) from exc
        raise SendFailed(f"cannot reach the mail server {server.host}:{server.port}: {exc}", retryable=True) from exc
    except (OSError, TimeoutError) as exc:
        raise SendFailed(f"cannot reach the mail server {server.host}:{server.port}: {exc}", retryable=True) from exc


async def _send(composed: Composed, server: ServerSettings, timeout: float) -> str:
    smtp = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        use_tls=server.tls,
        start_tls=server.starttls,  # True: STARTTLS is required, the connection fails without it
        tls_context=server.ssl_context() if server.tls or server.starttls else None,
        timeout=timeout,
    )
    async with smtp:
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        # Log in when the server offers AUTH (after STARTTLS); a relay that offers none takes mail as is.
        if server.username and smtp.supports_extension("auth"):
            await smtp.login(server.username, server.password)
        # Our own bytes: aiosmtplib would refold the headers with its default policy.
        _, answer = await smtp.sendmail(
            composed.sender, [composed.recipient], composed.message.as_bytes(policy=_POLICY)
        )
    return str(answer)
