"""Presentation helpers for the console templates: labels, relative times, initials, safe text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

#: Display names of channel kinds, in the order the console lists them.
CHANNEL_LABELS: dict[str, str] = {
    "email": "Email",
    "webchat": "Web chat",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "messenger": "Messenger",
    "slack": "Slack",
    "api": "API",
    "note": "Note",
    "system": "Activity",
}
STATUS_LABELS = {"open": "Open", "pending": "Pending", "snoozed": "Snoozed", "resolved": "Resolved", "all": "All"}
PRIORITY_LABELS = {"none": "No priority", "low": "Low", "medium": "Medium", "high": "High", "urgent": "Urgent"}
DELIVERY_LABELS = {
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "failed": "Failed",
    "received": "Received",
}
_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)
#: Avatar hues, chosen so white initials keep AA contrast on every one of them.
AVATAR_COLORS = 8


def parse_time(value: Any) -> datetime | None:
    """A datetime from a datetime or an ISO string (views carry ISO strings)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ago(value: Any, now: datetime | None = None) -> str:
    """A compact age: "now", "5m", "3h", "2d", "Mar 4" (the browser re-renders it in local time)."""
    when = parse_time(value)
    if when is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 7 * 86400:
        return f"{seconds // 86400}d"
    return f"{when:%b} {when.day}"


def absolute(value: Any) -> str:
    """`2026-03-04 14:05 UTC` (title text; the browser shows local time)."""
    when = parse_time(value)
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else ""


def day(value: Any) -> str:
    """`Mar 4, 2026`."""
    when = parse_time(value)
    return f"{when:%b} {when.day}, {when:%Y}" if when else ""


def initials(name: str | None) -> str:
    """Up to two initials of a name ("Ada Lovelace" -> "AL"), "?" for nothing."""
    words = [w for w in re.split(r"[\s@._+-]+", name or "") if w and w[0].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


def avatar_color(key: Any) -> int:
    """A stable avatar colour index (0..7) for a customer or agent id (console.js computes the same)."""
    value = 0
    for char in str(key):
        value = (value * 31 + ord(char)) % 4294967296
    return value % AVATAR_COLORS


def rich_text(text: str | None) -> Markup:
    """Customer or agent text as safe HTML: escaped, links made clickable (newlines kept by CSS)."""
    if not text:
        return Markup("")
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        parts.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        parts.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer nofollow">{url}</a>')
        last = match.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


def filesize(size: int | None) -> str:
    """`12 KB`, `3.4 MB`."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size // 1024} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def money(amount: Any, currency: str | None) -> str:
    """`€89.00`, `$12.50`, `129.00 SEK`."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency or ''}".strip()
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get((currency or "").upper())
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency or ''}".strip()


def preview_prefix(last_message: dict[str, Any] | None) -> str:
    """What precedes a list row's preview: who wrote the last line when it was not the customer."""
    if not last_message:
        return ""
    if last_message.get("direction") == "note":
        return "Note: "
    if last_message.get("author_type") == "bot":
        return "Bot: "
    if last_message.get("direction") == "outbound":
        return "Reply: "
    return ""


def safe_url(url: Any) -> str | None:
    """`url` when it is an http(s) link, else None (no `javascript:` from a webhook payload)."""
    text = str(url or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else None


def to_json(value: Any) -> str:
    """JSON for a data attribute (Jinja escapes it for the attribute)."""
    return json.dumps(value, separators=(",", ":"), default=str)


class UI:
    """The helpers templates call as `ui.<name>(...)`."""

    channels = CHANNEL_LABELS
    statuses = STATUS_LABELS
    priorities = PRIORITY_LABELS
    deliveries = DELIVERY_LABELS
    ago = staticmethod(ago)
    absolute = staticmethod(absolute)
    day = staticmethod(day)
    initials = staticmethod(initials)
    avatar_color = staticmethod(avatar_color)
    rich_text = staticmethod(rich_text)
    filesize = staticmethod(filesize)
    money = staticmethod(money)
    preview_prefix = staticmethod(preview_prefix)
    json = staticmethod(to_json)
    safe_url = staticmethod(safe_url)

    @staticmethod
    def channel(kind: str | None) -> str:
        return CHANNEL_LABELS.get(kind or "", (kind or "").title())


UI_HELPERS = UI()
