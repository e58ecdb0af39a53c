"""`sms` connector: Twilio Programmable Messaging webhooks in, the Messages API out."""

from __future__ import annotations

import hashlib
import hmac
import math
import mimetypes
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import msgspec
from twilio.request_validator import (  # type: ignore[import-untyped]
    HMAC_SHA1,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

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
from connectors.sms.client import TwilioCredentials, create_message, download_media
from connectors.sms.payloads import ERROR_MEANINGS, TwilioInboundMessage, TwilioStatusCallback
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

SIGNATURE_HEADER = "X-Twilio-Signature"
#: Present when a Twilio Webhook Rule signs with a SharedKey instead of the Auth Token (public beta):
#: https://www.twilio.com/docs/usage/webhooks/webhook-shared-keys
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"

#: Twilio `MessageStatus` -> our status. Queued/accepted/sending all mean "Twilio has it", like our receipt.
#: https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
_STATUS: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.SENT,
    "queued": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
#: Statuses that say nothing new about a reply: inbound processing, scheduling, partial MMS delivery.
_IGNORED_STATUSES = ("receiving", "scheduled", "partially_delivered")
_NO_CODE_ERROR = {
    "undelivered": "the carrier reported the message undelivered",
    "failed": "Twilio could not send the message",
    "canceled": "the message was canceled before it was sent",
}

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CHANNEL_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,19}")
_MEDIA_KEY = re.compile(r"MediaUrl([0-9]{1,2})")
_EMPTY_FORM: dict[str, str] = {}


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _event_name(form: dict[str, str]) -> str:
    """`message` for an inbound message, `status.<MessageStatus>` for a status callback.

    Inbound webhooks carry `SmsStatus=received` and no `MessageStatus`; status callbacks carry both.
    """
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "received").strip().lower()
    return "message" if status == "received" else f"status.{status}"


def _convert(form: dict[str, str], shape: type[Any]) -> Any:
    try:
        return msgspec.convert(form, type=shape)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"invalid Twilio webhook: {exc}") from exc


def split_address(address: str) -> tuple[str | None, str]:
    """`("whatsapp", "+3161...")` for `whatsapp:+3161...`; `(None, address)` for a plain number."""
    head, sep, rest = address.partition(":")
    if sep and _CHANNEL_PREFIX.fullmatch(head.lower()):
        return head.lower(), rest
    return None, address


def _maps_text(data: TwilioInboundMessage) -> str:
    """A shared location as text an agent can click: label, address and a Google Maps link."""
    try:
        lat, lon = float(data.latitude), float(data.longitude)
    except ValueError as exc:
        raise MalformedPayload("Latitude/Longitude are not numbers") from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise MalformedPayload("Latitude/Longitude are out of range")
    link = "https://www.google.com/maps/search/?api=1&query=" + quote(f"{data.latitude},{data.longitude}")
    place = ", ".join(part for part in (data.label.strip(), data.address.strip()) if part)
    lines = [data.body.strip(), f"Location: {place}" if place else "Location", link]
    return "\n".join(line for line in lines if line)


def _attachments(form: dict[str, str], message_sid: str) -> tuple[Attachment, ...]:
    """`MediaUrlN`/`MediaContentTypeN` pairs as attachments to download later (Basic auth needed)."""
    found: list[tuple[int, Attachment]] = []
    for key, url in form.items():
        match = _MEDIA_KEY.fullmatch(key)
        if match is None or not url:
            continue
        if urlsplit(url).scheme not in ("http", "https"):
            raise MalformedPayload(f"{key} is not an http(s) URL")
        index = int(match.group(1))
        content_type = (form.get(f"MediaContentType{index}") or "application/octet-stream").split(";")[0].strip()
        media_sid = url.rstrip("/").rsplit("/", 1)[-1] or f"media{index}"
        extension = mimetypes.guess_extension(content_type) or ""
        attachment = Attachment(
            filename=f"{media_sid}{extension}",
            content_type=content_type,
            source_url=url,
            source_ref={"message_sid": message_sid, "media_sid": media_sid, "index": index},
        )
        found.append((index, attachment))
    return tuple(attachment for _, attachment in sorted(found, key=lambda pair: pair[0]))


def _error_text(data: TwilioStatusCallback, status: str) -> str:
    code = data.error_code.strip()
    if not code:
        return data.error_message.strip() or _NO_CODE_ERROR.get(status, f"message {status}")
    meaning = ERROR_MEANINGS.get(code) or data.error_message.strip() or "see https://www.twilio.com/docs/api/errors"
    return f"Twilio error {code}: {meaning}"


def _now() -> datetime:
    # Twilio's message webhooks carry no timestamp: the time of receipt is the best we have.
    return datetime.now(UTC)


class SmsConnector:
    """Twilio Programmable Messaging (CONTRACT.md: `POST /webhooks/sms/{inbox_id}` and `.../status`).

    Args:
        timeout: seconds to wait for Twilio on a send or a media download.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    #: Twilio expects TwiML back; an empty <Response/> means "no immediate reply" (ours go out via the API).
    ack: ClassVar[HandshakeReply] = HandshakeReply(200, '<?xml version="1.0" encoding="UTF-8"?><Response/>', "text/xml")
    supported_events: ClassVar[frozenset[str]] = frozenset({"message"} | {f"status.{name}" for name in _STATUS})
    ignored_events: ClassVar[frozenset[str]] = frozenset(f"status.{name}" for name in _IGNORED_STATUSES)
    settings_spec: ClassVar[SettingsSpec] = SettingsSpec(
        required=frozenset({"account_sid", "auth_token", "phone_number"}),
        optional=frozenset(
            {
                "messaging_service_sid",
                "api_base_url",
                "status_callback_url",
                "webhook_signing_key",
                "bot_enabled",
                "bot",
                "agent_bot_url",
                "agent_bot_secret",
            }
        ),
        secrets=frozenset({"auth_token", "webhook_signing_key", "agent_bot_secret"}),
    )

    def __init__(self, timeout: float = 15.0) -> None:
        self.timeout = timeout

    # -- verify -------------------------------------------------------------------------------------
    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Check `X-Twilio-Signature` over the public URL and every form parameter, in constant time.

        Signature = base64(HMAC-SHA1(auth_token, url + key1 + value1 + ...)) over the parameters sorted
        by key (duplicates included). JSON bodies are signed through `bodySHA256=<hex>` in the URL.
        https://www.twilio.com/docs/usage/webhooks/webhooks-security
        """
        given = (request.headers.get(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise SignatureInvalid(f"{SIGNATURE_HEADER} is missing")
        secret, algorithm = self._signing_secret(request, account)
        query = parse_qs(urlsplit(request.url).query)
        params: _FormParams | dict[str, str]
        body_ok = True
        if "bodySHA256" in query:
            digest = hashlib.sha256(request.body).hexdigest()
            body_ok = hmac.compare_digest(digest.encode(), query["bodySHA256"][0].strip().lower().encode())
            params = _EMPTY_FORM
        else:
            params = _FormParams.of(request.form())
        validator = RequestValidator(secret)
        parsed = urlsplit(request.url)
        try:
            # Twilio may or may not have included the port it connected to: try both, as its SDKs do.
            candidates = (remove_port(parsed), add_port(parsed))
        except ValueError as exc:  # a non-numeric port
            raise SignatureInvalid("the request URL is not valid") from exc
        matched = False
        for candidate in candidates:
            expected = validator.compute_signature(candidate, params, algorithm)
            matched |= hmac.compare_digest(expected.encode(), given.encode())
        if not (matched and body_ok):
            raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match")

    @staticmethod
    def _signing_secret(request: RawRequest, account: InboxConfig) -> tuple[str, str]:
        settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        if not settings_header:
            return str(account.settings.get("auth_token") or ""), HMAC_SHA1
        algorithm = get_signature_algorithm(settings_header).upper()
        if algorithm not in ("HMAC_SHA1", "HMAC_SHA256"):
            raise SignatureInvalid(f"unsupported Twilio signature algorithm {algorithm!r}")
        key = account.settings.get("webhook_signing_key")
        if not key:
            raise SignatureInvalid("signed with a Twilio SharedKey: set the inbox's webhook_signing_key")
        return str(key), algorithm

    # -- parse --------------------------------------------------------------------------------------
    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """Dispatch on the body: an inbound message (`message`) or a status callback (`status.<status>`)."""
        form = _first_values(request.form())
        event = _event_name(form)
        if event in self.ignored_events:
            return ParseResult()
        handler = self._handlers.get(event)
        if handler is None:
            raise UnsupportedEvent(event)
        return ParseResult(items=[handler(form, account)])

    @staticmethod
    def _message(form: dict[str, str], account: InboxConfig) -> InboundMessage:
        data: TwilioInboundMessage = _convert(form, TwilioInboundMessage)
        sid = data.message_sid or data.sms_message_sid or data.sms_sid
        if not sid:
            raise MalformedPayload("MessageSid is missing: not a Twilio message webhook")
        sender = data.from_.strip()
        if not sender:
            raise MalformedPayload("From is missing")
        prefix, number = split_address(sender)
        text = _maps_text(data) if (data.latitude or data.longitude) else data.body
        meta: dict[str, Any] = {"to": data.to}
        extra: dict[str, Any] = {}
        if prefix:
            # Replies must go back through the same Twilio channel (`whatsapp:+...`), see `send`.
            meta["channel_prefix"] = extra["channel_prefix"] = prefix
        if data.wa_id:
            extra["wa_id"] = data.wa_id
        if data.opt_out_type:
            # Twilio already (un)subscribed the sender; the hub may want to note it on the thread.
            meta["opt_out_type"] = data.opt_out_type.strip().upper()
        if data.latitude:
            meta["location"] = {
                "latitude": data.latitude,
                "longitude": data.longitude,
                "address": data.address or None,
                "label": data.label or None,
            }
        return InboundMessage(
            channel_kind=ChannelKind.SMS,
            inbox_id=account.id,
            external_message_id=sid,
            sender=ExternalIdentity(
                address=sender,
                name=data.profile_name.strip() or None,
                phone=number if _E164.fullmatch(number) else None,
                extra=extra,
            ),
            text=text,
            sent_at=_now(),
            attachments=_attachments(form, sid),
            external_thread_ref=sender,
            in_reply_to_external_id=data.original_replied_message_sid or None,
            raw=dict(form),
            meta=meta,
        )

    @staticmethod
    def _status(form: dict[str, str], account: InboxConfig) -> DeliveryUpdate:
        data: TwilioStatusCallback = _convert(form, TwilioStatusCallback)
        sid = data.message_sid or data.sms_sid
        if not sid:
            raise MalformedPayload("MessageSid is missing from the status callback")
        name = (data.message_status or data.sms_status).strip().lower()
        status = _STATUS.get(name)
        if status is None:
            raise UnsupportedEvent(f"status.{name}")
        return DeliveryUpdate(
            channel_kind=ChannelKind.SMS,
            inbox_id=account.id,
            external_message_id=sid,
            status=status,
            occurred_at=_now(),
            error=_error_text(data, name) if status is DeliveryStatus.FAILED else None,
            raw=dict(form),
        )

    _handlers: ClassVar[dict[str, Callable[[dict[str, str], InboxConfig], Any]]] = {
        "message": _message,
        **dict.fromkeys((f"status.{name}" for name in _STATUS), _status),
    }

    # -- send ---------------------------------------------------------------------------------------
    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Create a Message through the Twilio SDK; return its SID (`SM...`/`MM...`)."""
        settings = account.settings
        prefix = _reply_prefix(message)
        media_urls = _media_urls(message.attachments)
        if not message.text.strip() and not media_urls:
            raise SendFailed("nothing to send: the reply has no text and no media", retryable=False)
        service_sid = str(settings.get("messaging_service_sid") or "") or None
        # With a Messaging Service, Twilio picks the sender from its pool (sticky sender, channel prefix).
        sender = None if service_sid else _with_prefix(prefix, str(settings["phone_number"]))
        callback = settings.get("status_callback_url") or (
            f"{account.webhook_url.rstrip('/')}/status" if account.webhook_url else None
        )
        summary = await create_message(
            _credentials(account),
            to=_with_prefix(prefix, _recipient_number(message.recipient)),
            body=message.text,
            from_=sender,
            messaging_service_sid=service_sid,
            media_urls=media_urls,
            status_callback=str(callback) if callback else None,
            timeout=self.timeout,
        )
        return SendReceipt(external_message_id=str(summary["sid"]), status=DeliveryStatus.SENT, raw=summary)

    async def fetch_attachment(self, attachment: Attachment, account: InboxConfig, max_bytes: int) -> bytes:
        """Download an inbound `MediaUrlN` with Basic auth (ValueError past `max_bytes`)."""
        if not attachment.source_url:
            raise SendFailed("this attachment has no Twilio media URL", retryable=False)
        return await download_media(_credentials(account), attachment.source_url, max_bytes, self.timeout)


class _FormParams(dict[str, list[str]]):
    """Form parameters with every value kept, read by `RequestValidator` through `getall`."""

    @classmethod
    def of(cls, pairs: list[tuple[str, str]]) -> _FormParams:
        params = cls()
        for key, value in pairs:
            params.setdefault(key, []).append(value)
        return params

    def getall(self, key: str) -> list[str]:
        return self[key]


def _credentials(account: InboxConfig) -> TwilioCredentials:
    settings = account.settings
    return TwilioCredentials(
        account_sid=str(settings["account_sid"]),
        auth_token=str(settings["auth_token"]),
        api_base_url=str(settings.get("api_base_url") or "") or None,
    )


def _reply_prefix(message: OutboundMessage) -> str | None:
    """The Twilio channel prefix the customer wrote from (`whatsapp`), or None for plain SMS."""
    prefix, _ = split_address(message.recipient.address)
    candidate = prefix or message.meta.get("channel_prefix") or message.recipient.extra.get("channel_prefix")
    if candidate and _CHANNEL_PREFIX.fullmatch(str(candidate)):
        return str(candidate)
    return None


def _recipient_number(recipient: ExternalIdentity) -> str:
    _, number = split_address(recipient.address.strip())
    if not _E164.fullmatch(number) and recipient.phone:
        number = split_address(recipient.phone.strip())[1]
    if not number:
        raise SendFailed("the recipient has no phone number", retryable=False)
    return number


def _with_prefix(prefix: str | None, number: str) -> str:
    _, bare = split_address(number)
    return f"{prefix}:{bare}" if prefix else bare


def _media_urls(attachments: tuple[Attachment, ...]) -> list[str]:
    """Twilio fetches outbound media itself, so every attachment needs a public http(s) URL."""
    urls: list[str] = []
    for attachment in attachments:
        url = attachment.source_url or ""
        if urlsplit(url).scheme not in ("http", "https"):
            raise SendFailed(
                f"attachment {attachment.filename!r} has no public URL Twilio could fetch", retryable=False
            )
        urls.append(url)
    return urls
