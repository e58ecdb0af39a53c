"""The connector contract: verify an inbound request, parse it, send a reply. No DB, no decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import parse_qsl

import msgspec

from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryUpdate,
    ExternalIdentity,
    InboundMessage,
    OrderEvent,
    OutboundMessage,
    SendReceipt,
    SettingsSpec,
)


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose."""


class SignatureInvalid(ConnectorError):
    """The request is not from the provider (bad or missing signature): answer 401, store nothing."""


class MalformedPayload(ConnectorError):
    """The request is signed but cannot be understood: answer 400 with this reason."""


def decode_json_object(body: bytes, what: str = "body") -> dict[str, Any]:
    """`body` as one JSON object, else `MalformedPayload` naming `what` ("body is not JSON", ...)."""
    try:
        value = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedPayload(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} must be a JSON object")
    return value


class UnsupportedEvent(ConnectorError):
    """A provider event we neither handle nor deliberately ignore: log it and answer 200."""


class SendFailed(ConnectorError):
    """The provider refused or could not take a message.

    `retryable` is True for timeouts, 5xx and rate limits; False for errors that will never
    succeed (bad recipient, 24-hour window closed). `reason` is shown to the agent.
    """

    def __init__(self, reason: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code


class Headers(dict[str, str]):
    """Case-insensitive header mapping (keys stored lower-cased)."""

    def __init__(self, items: dict[str, str] | list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        pairs = items.items() if isinstance(items, dict) else (items or [])
        for key, value in pairs:
            self[key.lower()] = value

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass(frozen=True, slots=True)
class RawRequest:
    """An inbound HTTP request exactly as the provider sent it.

    `url` is the public URL as the provider called it (scheme, host and query included), rebuilt
    behind proxies from `X-Forwarded-*`, because several providers sign the URL.
    """

    method: str
    url: str
    headers: Headers
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    def form(self) -> list[tuple[str, str]]:
        """The body as ordered form pairs (duplicates kept), for form-encoded providers."""
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class InboxConfig:
    """One inbox (or integration) as a connector sees it: its settings with secrets decrypted."""

    id: int
    kind: ChannelKind | str
    name: str
    settings: dict[str, Any]
    webhook_url: str = ""
    public_url: str = ""


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """A direct answer to a provider handshake (Meta hub.challenge, Slack url_verification)."""

    status_code: int = 200
    body: bytes | str | dict[str, Any] = b""
    content_type: str = "text/plain"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one inbound request meant: messages, delivery updates, order events, or a handshake."""

    items: list[InboundMessage | DeliveryUpdate | OrderEvent] = field(default_factory=list)
    reply: HandshakeReply | None = None


@runtime_checkable
class Connector(Protocol):
    """A stateless channel connector (see STYLE.md, "The connector contract")."""

    kind: ClassVar[ChannelKind | str]
    supported_events: ClassVar[frozenset[str]]
    ignored_events: ClassVar[frozenset[str]]
    settings_spec: ClassVar[SettingsSpec]

    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Raise `SignatureInvalid` unless the request is signed by the provider for this account."""
        ...

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """Turn a verified request into domain input. Pure and synchronous."""
        ...

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Send one outbound message; return the provider's id or raise `SendFailed`."""
        ...


@runtime_checkable
class FetchesAttachments(Protocol):
    """Optional: connectors whose media must be downloaded through the provider's API."""

    async def fetch_attachment(self, attachment: Attachment, account: InboxConfig, max_bytes: int) -> bytes:
        """Download one attachment's bytes (raise `SendFailed` on failure, ValueError when too large)."""
        ...


@runtime_checkable
class ResolvesProfiles(Protocol):
    """Optional: connectors that can look up a sender's profile (name, verified email) by API.

    The hub calls this only for senders it has never seen, with a short timeout, before ingest, so a
    Slack user whose profile email matches an existing customer joins that customer at once.
    """

    async def fetch_profile(self, identity: ExternalIdentity, account: InboxConfig) -> ExternalIdentity | None:
        """Return the identity enriched with the provider's profile, or None when unavailable."""
        ...
