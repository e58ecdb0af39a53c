"""Builders for raw test emails: replies, HTML with inline images, delivery reports (bounces)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

SHOP = "support@shop.example.com"
CUSTOMER = "ada@customer.example.org"


def build(
    *,
    from_: str = f"Ada Lovelace <{CUSTOMER}>",
    to: str = SHOP,
    subject: str = "Where is my order?",
    text: str | None = "Hello, where is order 1001?",
    html: str | None = None,
    message_id: str | None = "<m1@customer.example.org>",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    inline_images: tuple[tuple[str, str, bytes], ...] = (),
    date: datetime | None = None,
) -> bytes:
    """A raw RFC 5322 message. `attachments`/`inline_images` are (filename or cid, content type, bytes)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = from_
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
        body = msg.get_body(("html",))
        for cid, ctype, data in inline_images:
            maintype, subtype = ctype.split("/")
            assert body is not None
            body.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{cid}>")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def raw_mime(headers: str, body: str, charset_bytes: bytes | None = None) -> bytes:
    """A message from literal header lines and a body (to control every byte, charset labels included)."""
    data = (headers.strip("\n") + "\n\n").replace("\n", "\r\n").encode("utf-8")
    return data + (charset_bytes if charset_bytes is not None else body.replace("\n", "\r\n").encode("utf-8"))


def dsn(
    original_id: str,
    *,
    recipient: str = CUSTOMER,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <ada@customer.example.org>: Recipient address rejected: User unknown",
    sender: str = "MAILER-DAEMON@mx.shop.example.com",
    to: str = SHOP,
) -> bytes:
    """A delivery status notification (RFC 3464) about our message `original_id`, as Postfix writes one."""
    boundary = "DSN-BOUNDARY-1"
    lines = [
        f"From: Mail Delivery System <{sender}>",
        f"To: {to}",
        "Subject: Undelivered Mail Returned to Sender",
        "Date: Mon, 02 Mar 2026 10:00:00 +0000",
        "Message-ID: <dsn-1@mx.shop.example.com>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "I'm sorry to have to inform you that your message could not be delivered.",
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.shop.example.com",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Action: {action}",
        f"Status: {status}",
        f"Diagnostic-Code: {diagnostic}",
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        f"From: Shop <{to}>",
        f"To: {recipient}",
        "Subject: Re: Where is my order?",
        f"Message-ID: <{original_id}>",
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")
