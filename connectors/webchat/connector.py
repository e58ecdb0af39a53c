"""`webchat` connector: checks where a widget frame comes from, turns it into an InboundMessage, and
releases agent replies to the visitor (the hub's widget layer pushes released replies to open sockets).

There is no third-party provider: the "provider" is our own widget (`static/widget.js`). The hub
authenticates the visitor's session token and hands the connector a `RawRequest` whose
`X-Omnihub-Visitor*` headers it set itself (never copied from the browser).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import msgspec

from connectors.base import (
    Headers,
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SendFailed,
    SignatureInvalid,
    UnsupportedEvent,
    decode_json_object,
)
from connectors.webchat.payloads import (
    MAX_CLIENT_ID_CHARS,
    MAX_FRAME_BYTES,
    MAX_TEXT_CHARS,
    MessageFrame,
)
from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    ExternalIdentity,
    InboundMessage,
    OutboundMessage,
    SendReceipt,
    SettingsSpec,
)

VISITOR_HEADER = "X-Omnihub-Visitor"
#: Prefix of the provider id a released reply gets: the widget layer recognises webchat replies by it.
RECEIPT_PREFIX = "webchat:"
#: Visitor ids are minted by the hub: "v_" + 22 URL-safe characters (128 bits).
VISITOR_ID = re.compile(r"^v_[A-Za-z0-9_-]{16,40}$")
_CLIENT_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_CLIENT_ID_CHARS}}}$")
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

LOCALES = ("en", "nl", "da", "de", "ru", "es", "fr", "pt")
DEFAULT_OFFLINE_EMAIL_DELAY = 120
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: What visitors may upload, recognised by the file's first bytes (the browser's type is not trusted).
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"%PDF-", 0, "application/pdf"),
)


class MessageTooLarge(MalformedPayload):
    """A visitor message or file over the limits (the widget shows why; nothing is stored)."""


class FileRefused(MalformedPayload):
    """An upload whose content is not an allowed type."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is on the other end of a widget session, as the hub authenticated them."""

    visitor_id: str
    locale: str | None = None

    def headers(self, origin: str) -> Headers:
        """The hub-set headers `verify` and `parse` read (the browser's own headers are not used)."""
        values = {"origin": origin, VISITOR_HEADER: self.visitor_id}
        if self.locale:
            values[f"{VISITOR_HEADER}-locale"] = self.locale
        return Headers(values)

    @classmethod
    def from_headers(cls, headers: Headers) -> Visitor:
        visitor_id = headers.get(VISITOR_HEADER) or ""
        if not VISITOR_ID.match(visitor_id):
            raise SignatureInvalid("no authenticated visitor session")
        return cls(visitor_id=visitor_id, locale=headers.get(f"{VISITOR_HEADER}-locale"))


# --- origins and signatures ------------------------------------------------------------------------


def normalize_origin(value: str | None) -> str | None:
    """`scheme://host[:port]` in lower case, default ports dropped; None when `value` is no http(s) URL."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_origin_patterns(settings: dict[str, Any]) -> list[str]:
    """The website's origin plus `allowed_origins` (entries may use `*.` for any subdomain)."""
    patterns = []
    site = normalize_origin(settings.get("website_url"))
    if site:
        patterns.append(site)
    for entry in settings.get("allowed_origins") or []:
        entry = str(entry).strip().lower().rstrip("/")
        if "://*." in entry:
            patterns.append(entry)
        else:
            origin = normalize_origin(entry)
            if origin:
                patterns.append(origin)
    return patterns


def origin_allowed(origin: str | None, settings: dict[str, Any]) -> bool:
    """True when a browser `Origin` is the shop's website (or one of its allowed origins)."""
    given = normalize_origin(origin)
    if given is None:
        return False
    for pattern in allowed_origin_patterns(settings):
        if "://*." in pattern:
            scheme, _, suffix = pattern.partition("://*.")
            host = given.split("://", 1)[1]
            if given.startswith(scheme + "://") and host.endswith("." + suffix):
                return True
        elif hmac.compare_digest(given, pattern):
            return True
    return False


def sign(secret: str, value: str) -> str:
    """Hex HMAC-SHA256 of `value` with the inbox's `hmac_secret` (what the shop's server computes)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def signature_valid(secret: str, value: str, given: str | None) -> bool:
    """Constant-time check of a shop-computed hex HMAC (upper or lower case)."""
    if not given or not secret:
        return False
    return hmac.compare_digest(sign(secret, value).encode(), given.strip().lower().encode())


def sniff_content_type(content: bytes) -> str | None:
    """The allowed type `content` really is (PNG, JPEG, GIF, WebP, PDF), or None."""
    for magic, offset, content_type in _MAGIC:
        if content[offset : offset + len(magic)] == magic:
            if content_type == "image/webp" and not content.startswith(b"RIFF"):
                continue
            return content_type
    return None


# --- settings -------------------------------------------------------------------------------------


def _is_url(value: Any, schemes: tuple[str, ...] = ("https", "http")) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in schemes and bool(parts.netloc)


def _check_origins(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "allowed_origins must be a list of origins such as https://shop.example.com"
    for entry in value:
        plain = entry.replace("://*.", "://", 1)
        if normalize_origin(plain) is None:
            return f"allowed_origins: {entry!r} is not an http(s) origin"
    return None


def _check_pre_chat(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dict) and set(value) <= {"enabled", "require_email", "require_name"}:
        return None
    return "pre_chat_form must be true/false or {enabled, require_email, require_name}"


def _check_delay(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 7 * 86400:
        return "offline_email_delay_seconds must be a number of seconds between 0 and 604800"
    return None


_VALUE_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "website_url": lambda v: None if _is_url(v) else "website_url must be the shop's http(s) URL",
    "color": lambda v: None if isinstance(v, str) and _COLOR.match(v) else "color must be a hex colour like #2f5bd3",
    "greeting": lambda v: None if isinstance(v, str) and len(v) <= 500 else "greeting must be text (500 characters)",
    "welcome_title": lambda v: (
        None if isinstance(v, str) and len(v) <= 100 else "welcome_title must be text (100 characters)"
    ),
    "avatar_url": lambda v: None if _is_url(v, ("https",)) else "avatar_url must be an https URL",
    "agent_avatars": lambda v: (
        None
        if isinstance(v, list) and len(v) <= 5 and all(_is_url(x, ("https",)) for x in v)
        else "agent_avatars must be a list of up to 5 https URLs"
    ),
    "allowed_origins": _check_origins,
    "pre_chat_form": _check_pre_chat,
    "email_inbox_id": lambda v: (
        None if isinstance(v, int) and not isinstance(v, bool) else "email_inbox_id must be an inbox id"
    ),
    "offline_email_delay_seconds": _check_delay,
    "locale": lambda v: None if v in (*LOCALES, "auto") else f"locale must be auto or one of {', '.join(LOCALES)}",
    "position": lambda v: None if v in ("right", "left") else "position must be right or left",
}


@dataclass(frozen=True, slots=True)
class WebchatSettingsSpec(SettingsSpec):
    """The keys of a webchat inbox, and the shape of their values (bad values are named in the 422)."""

    def validate(self, settings: dict[str, Any]) -> list[str]:
        problems = SettingsSpec.validate(self, settings)
        for key, check in _VALUE_CHECKS.items():
            if settings.get(key) is not None:
                problem = check(settings[key])
                if problem:
                    problems.append(problem)
        return problems


def pre_chat_form(settings: dict[str, Any]) -> dict[str, bool]:
    """`{enabled, require_email, require_name}` from the setting's short or long form."""
    value = settings.get("pre_chat_form")
    if isinstance(value, dict):
        return {
            "enabled": bool(value.get("enabled", True)),
            "require_email": bool(value.get("require_email", True)),
            "require_name": bool(value.get("require_name", False)),
        }
    return {"enabled": bool(value), "require_email": True, "require_name": False}


def widget_settings(account: InboxConfig) -> dict[str, Any]:
    """What the widget may know about its inbox: look and feel only, never credentials."""
    s = account.settings
    return {
        "inbox_id": account.id,
        "title": s.get("welcome_title") or account.name,
        "greeting": s.get("greeting") or "",
        "color": s.get("color") or "#2f5bd3",
        "avatar_url": s.get("avatar_url"),
        "agent_avatars": list(s.get("agent_avatars") or []),
        "pre_chat_form": pre_chat_form(s),
        "locale": s.get("locale") or "auto",
        "position": s.get("position") or "right",
        "max_text_chars": MAX_TEXT_CHARS,
        "max_file_bytes": MAX_ATTACHMENT_BYTES,
        "file_types": sorted({t for _, _, t in _MAGIC}),
    }


# --- the connector --------------------------------------------------------------------------------


def _text(value: str) -> str:
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise MessageTooLarge(f"a message may have at most {MAX_TEXT_CHARS} characters")
    return text


def _client_id(value: str) -> str:
    if not _CLIENT_ID.match(value or ""):
        raise MalformedPayload(f"client_id must be 1-{MAX_CLIENT_ID_CHARS} letters, digits, '-' or '_'")
    return value


class WebchatConnector:
    """The web chat channel (CONTRACT.md "Web chat")."""

    kind: ClassVar[ChannelKind] = ChannelKind.WEBCHAT
    supported_events: ClassVar[frozenset[str]] = frozenset({"message"})
    ignored_events: ClassVar[frozenset[str]] = frozenset({"typing", "receipt", "ping", "sync"})
    settings_spec: ClassVar[SettingsSpec] = WebchatSettingsSpec(
        required=frozenset({"website_url", "hmac_secret"}),
        optional=frozenset({
            "color", "greeting", "welcome_title", "avatar_url", "agent_avatars", "pre_chat_form",
            "allowed_origins", "email_inbox_id", "offline_email_delay_seconds", "locale", "position",
            "bot_enabled", "bot", "agent_bot_url", "agent_bot_secret",
        }),
        secrets=frozenset({"hmac_secret", "agent_bot_secret"}),
    )  # fmt: skip

    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """The frame comes from the shop's website (Origin) within an authenticated visitor session."""
        if not origin_allowed(request.headers.get("origin"), account.settings):
            raise SignatureInvalid("this website is not allowed to use the chat of this inbox")
        Visitor.from_headers(request.headers)

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """Dispatch on the frame's `type`; only `message` becomes domain input."""
        if len(request.body) > MAX_FRAME_BYTES:
            raise MessageTooLarge(f"a frame may have at most {MAX_FRAME_BYTES} bytes")
        envelope = decode_json_object(request.body, "frame")
        event = str(envelope.get("type") or "message")
        if event in self.ignored_events:
            return ParseResult()
        if event != "message":
            raise UnsupportedEvent(event)
        try:
            frame = msgspec.json.decode(request.body, type=MessageFrame)
        except msgspec.ValidationError as exc:
            raise MalformedPayload(f"invalid message: {exc}") from exc
        visitor = Visitor.from_headers(request.headers)
        text = _text(frame.text)
        if not text:
            raise MalformedPayload("a message needs text")
        return ParseResult(items=[self.inbound(account, visitor, frame.client_id, text, envelope)])

    def parse_upload(
        self, account: InboxConfig, visitor: Visitor, client_id: str, text: str, filename: str, content: bytes
    ) -> InboundMessage:
        """A visitor's file (with an optional caption); the type is read from the bytes, not the name."""
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise MessageTooLarge(f"files may be at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
        if not content:
            raise FileRefused("the file is empty")
        content_type = sniff_content_type(content)
        if content_type is None:
            raise FileRefused("only images (PNG, JPEG, GIF, WebP) and PDF files can be sent")
        name = "".join(c for c in filename.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())[:200]
        attachment = Attachment(filename=name or "file", content_type=content_type, size=len(content), content=content)
        raw = {"type": "message", "client_id": client_id, "text": text, "file": {"name": name, "size": len(content)}}
        return self.inbound(account, visitor, client_id, _text(text), raw, (attachment,))

    def inbound(
        self,
        account: InboxConfig,
        visitor: Visitor,
        client_id: str,
        text: str,
        raw: dict[str, Any],
        attachments: tuple[Attachment, ...] = (),
    ) -> InboundMessage:
        """The normalised message. Its id is the visitor plus their widget's message id: resends are no-ops."""
        return InboundMessage(
            channel_kind=ChannelKind.WEBCHAT,
            inbox_id=account.id,
            external_message_id=f"{visitor.visitor_id}:{_client_id(client_id)}",
            sender=ExternalIdentity(
                address=visitor.visitor_id,
                verified=False,  # an anonymous visitor vouches for nothing (DESIGN.md, decision 2)
                extra={"inbox_id": account.id, **({"locale": visitor.locale} if visitor.locale else {})},
            ),
            text=text,
            sent_at=datetime.now(UTC),
            attachments=attachments,
            external_thread_ref=visitor.visitor_id,
            raw=raw,
            meta={"client_id": client_id, **({"locale": visitor.locale} if visitor.locale else {})},
        )

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Release a reply to the visitor.

        The reply is already a row; releasing it is what lets the hub's widget layer show it: every open
        widget of the conversation receives it at once (`sent`), a widget that connects later fetches it,
        and the widget's acknowledgements move it on to `delivered` and `read`.
        """
        if not message.recipient.address:
            raise SendFailed("this conversation has no web chat visitor to reply to", retryable=False)
        if not (message.text.strip() or message.attachments):
            raise SendFailed("an empty reply cannot be shown", retryable=False)
        return SendReceipt(
            external_message_id=f"{RECEIPT_PREFIX}{message.message_id}",
            status=DeliveryStatus.SENT,
            external_thread_ref=message.external_thread_ref,
            raw={"released_to": f"conversation:{message.conversation_id}"},
        )
