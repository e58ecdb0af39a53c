"""`api` channel connector: signed JSON in, signed JSON out to the inbox's callback URL."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from connectors.api.client import post_signed, sign
from connectors.api.payloads import ApiInboundMessage, ApiStatusUpdate
from connectors.base import (
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SendFailed,
    SignatureInvalid,
    UnsupportedEvent,
    decode_json_object,
)
from conversation.types import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    DeliveryUpdate,
    ExternalIdentity,
    InboundMessage,
    OutboundMessage,
    SendReceipt,
    SettingsSpec,
)

SIGNATURE_HEADER = "X-Omnihub-Signature"

_STATUS = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"sent_at is not an ISO 8601 time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decode(body: bytes, shape: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"invalid body: {exc}") from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedPayload("body is not JSON") from exc


class ApiConnector:
    """The generic channel (CONTRACT.md: `POST /webhooks/api/{inbox_id}`)."""

    kind: ClassVar[ChannelKind] = ChannelKind.API
    supported_events: ClassVar[frozenset[str]] = frozenset({"message", "message_status"})
    ignored_events: ClassVar[frozenset[str]] = frozenset({"ping"})
    settings_spec: ClassVar[SettingsSpec] = SettingsSpec(
        required=frozenset({"hmac_secret"}),
        optional=frozenset({"callback_url", "bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"}),
        secrets=frozenset({"hmac_secret", "agent_bot_secret"}),
    )

    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Check `X-Omnihub-Signature: sha256=<hex>` over the raw body, in constant time."""
        given = request.headers.get(SIGNATURE_HEADER) or ""
        expected = sign(str(account.settings["hmac_secret"]), request.body)
        if not given or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise SignatureInvalid("X-Omnihub-Signature does not match")

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """Dispatch on the body's `event` (default `message`)."""
        envelope = decode_json_object(request.body)
        event = str(envelope.get("event") or "message")
        if event in self.ignored_events:
            return ParseResult()
        handler = self._handlers.get(event)
        if handler is None:
            raise UnsupportedEvent(event)
        return ParseResult(items=[handler(request.body, account)])

    @staticmethod
    def _message(body: bytes, account: InboxConfig) -> InboundMessage:
        data: ApiInboundMessage = _decode(body, ApiInboundMessage)
        if not data.contact.identifier.strip():
            raise MalformedPayload("contact.identifier must not be empty")
        if not data.external_id.strip():
            raise MalformedPayload("external_id must not be empty")
        if not (data.text.strip() or data.html or data.attachments):
            raise MalformedPayload("a message needs text, html or attachments")
        contact = data.contact
        return InboundMessage(
            channel_kind=ChannelKind.API,
            inbox_id=account.id,
            external_message_id=data.external_id,
            sender=ExternalIdentity(
                address=contact.identifier.strip(),
                name=contact.name,
                email=contact.email,
                phone=contact.phone,
                verified=True,  # the integrator signed it: its contact details are trusted
            ),
            text=data.text,
            html=data.html,
            sent_at=_parse_time(data.sent_at),
            attachments=tuple(
                Attachment(filename=a.filename, content_type=a.content_type, source_url=a.url) for a in data.attachments
            ),
            raw=msgspec.json.decode(body),
        )

    @staticmethod
    def _status(body: bytes, account: InboxConfig) -> DeliveryUpdate:
        data: ApiStatusUpdate = _decode(body, ApiStatusUpdate)
        status = _STATUS.get(data.status)
        if status is None:
            raise MalformedPayload(f"status must be one of {', '.join(_STATUS)}")
        return DeliveryUpdate(
            channel_kind=ChannelKind.API,
            inbox_id=account.id,
            external_message_id=data.external_id,
            status=status,
            occurred_at=datetime.now(UTC),
            error=data.error,
            raw=msgspec.json.decode(body),
        )

    _handlers: ClassVar[dict[str, Callable[[bytes, InboxConfig], Any]]] = {
        "message": _message,
        "message_status": _status,
    }

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """POST the reply to the inbox's `callback_url`, signed like inbound webhooks."""
        url = account.settings.get("callback_url")
        if not url:
            raise SendFailed("this API inbox has no callback_url to deliver replies to", retryable=False)
        payload = {
            "event": "message",
            "id": message.message_id,
            "conversation_id": message.conversation_id,
            "contact": {"identifier": message.recipient.address},
            "text": message.text,
            "author": {"name": message.author_name},
            "attachments": [{"filename": a.filename, "content_type": a.content_type} for a in message.attachments],
        }
        body = msgspec.json.encode(payload)
        response = await post_signed(str(url), str(account.settings["hmac_secret"]), body)
        external_id = f"omnihub-{message.message_id}"
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("external_id"):
            external_id = str(answer["external_id"])
        return SendReceipt(external_message_id=external_id, raw=answer if isinstance(answer, dict) else {})
