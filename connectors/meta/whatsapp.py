"""WhatsApp Cloud API connector: webhooks in (`GET`/`POST /webhooks/meta/{inbox_id}`), Graph API out."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors.base import InboxConfig, MalformedPayload, SendFailed
from connectors.meta._common import (
    COMMON_OPTIONAL_SETTINGS,
    COMMON_SECRET_SETTINGS,
    Collected,
    MetaConnectorBase,
    convert,
    log,
    text_chunks,
    text_setting,
    timestamp_to_utc,
)
from connectors.meta.client import GraphClient
from connectors.meta.payloads import (
    WhatsAppContact,
    WhatsAppContent,
    WhatsAppError,
    WhatsAppMedia,
    WhatsAppMediaInfo,
    WhatsAppMessage,
    WhatsAppMetadata,
    WhatsAppSendAnswer,
    WhatsAppStatus,
    WhatsAppUploadAnswer,
    WhatsAppValue,
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

#: WhatsApp's customer service window: free-form replies only within 24 h of the customer's last message.
#: https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-messages#customer-service-windows
WHATSAPP_WINDOW = timedelta(hours=24)
WINDOW_CLOSED_REASON = "outside WhatsApp's 24-hour window: a template message is required"

TEXT_LIMIT = 4096  # characters in one text message
CAPTION_LIMIT = 1024
_CAPTIONED = frozenset({"image", "video", "document"})
_GRAPH_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]{4,}")

_STATUS: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,  # a voice message was played: it was read
    "failed": DeliveryStatus.FAILED,
}


IGNORED_EVENTS: frozenset[str] = frozenset(
    {
        "messages.reaction",  # an emoji on a message: not a new customer message
        "messages.revoke",  # the customer deleted a message: we keep what was received
        "messages.system",  # e.g. the customer changed number
        "messages.request_welcome",  # the customer opened the chat for the first time, no content
        "statuses.deleted",
        "statuses.warning",
        "errors",  # a `messages` change carrying only errors (logged)
        # Webhook fields about the account, not conversations:
        "account_alerts",
        "account_review_update",
        "account_update",
        "business_capability_update",
        "message_template_quality_update",
        "message_template_status_update",
        "phone_number_name_update",
        "phone_number_quality_update",
        "security",
        "template_category_update",
        "user_preferences",
    }
)


def whatsapp_window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form (non-template) WhatsApp reply is allowed at `now`.

    True when the customer wrote less than 24 hours before `now`. None (the customer never wrote) is
    closed. Naive datetimes are taken as UTC. Pure: the console can use it to warn before an agent sends.
    """
    if last_inbound_at is None:
        return False
    last = last_inbound_at if last_inbound_at.tzinfo else last_inbound_at.replace(tzinfo=UTC)
    current = now if now.tzinfo else now.replace(tzinfo=UTC)
    return current - last < WHATSAPP_WINDOW


@dataclass(frozen=True)
class _Change:
    """What every message of one `messages` change shares."""

    account: InboxConfig
    metadata: WhatsAppMetadata
    contacts: tuple[WhatsAppContact, ...]
    errors: tuple[WhatsAppError, ...]
    raw: dict[str, Any]

    def contact(self, wa_id: str | None, user_id: str | None) -> WhatsAppContact | None:
        for contact in self.contacts:
            if (wa_id and contact.wa_id == wa_id) or (user_id and contact.user_id == user_id):
                return contact
        return None


@dataclass
class _Content:
    """A message's content rendered for an agent."""

    text: str
    attachments: tuple[Attachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


# -- content renderers, one per message type -----------------------------------------------------------


def _text(content: WhatsAppContent, change: _Change) -> _Content:
    if content.text is None:
        raise MalformedPayload("a text message without text")
    return _Content(content.text.body)


def _media(content: WhatsAppContent, change: _Change) -> _Content:
    media: WhatsAppMedia | None = getattr(content, content.type)
    if media is None or not media.id:
        raise MalformedPayload(f"a {content.type} message without a media id")
    kind = "voice" if media.voice else content.type
    mime = media.mime_type or "application/octet-stream"
    filename = media.filename or f"{kind}-{media.id}{mimetypes.guess_extension(mime.split(';')[0].strip()) or ''}"
    ref = {"media_id": media.id, "sha256": media.sha256, "mime_type": media.mime_type, "url": media.url}
    meta: dict[str, Any] = {}
    if media.voice:
        meta["voice"] = True
    if content.type == "sticker":
        meta["sticker"] = {"animated": media.animated}
    # No source_url: WhatsApp media URLs need the bearer token, so they go through fetch_attachment.
    attachment = Attachment(
        filename=filename, content_type=mime, source_ref={k: v for k, v in ref.items() if v is not None}
    )
    return _Content(media.caption or "", (attachment,), meta)


def _location(content: WhatsAppContent, change: _Change) -> _Content:
    loc = content.location
    if loc is None:
        raise MalformedPayload("a location message without location")
    lines = [line for line in (loc.name, loc.address) if line]
    lines.append(f"https://maps.google.com/?q={loc.latitude},{loc.longitude}")
    location = {"latitude": loc.latitude, "longitude": loc.longitude, "name": loc.name, "address": loc.address}
    return _Content("Location: " + "\n".join(lines), meta={"location": location})


def _contacts(content: WhatsAppContent, change: _Change) -> _Content:
    lines = []
    for card in content.contacts:
        name = card.name.formatted_name if card.name else None
        if not name and card.name:
            name = " ".join(p for p in (card.name.first_name, card.name.last_name) if p)
        details = [f"{p.phone} ({p.type})" if p.type else str(p.phone) for p in card.phones if p.phone]
        details += [e.email for e in card.emails if e.email]
        lines.append("Shared contact: " + ", ".join([name or "(no name)", *details]))
    if not lines:
        raise MalformedPayload("a contacts message without contacts")
    return _Content("\n".join(lines))


def _interactive(content: WhatsAppContent, change: _Change) -> _Content:
    interactive = content.interactive
    if interactive is None:
        # Meta sends `interactive` without its body when it cannot render it, with the reason in value.errors.
        return _unsupported(content, change)
    render = _INTERACTIVE.get(interactive.type)
    if render is None:
        return _Content(f"[WhatsApp interactive reply: {interactive.type}]", meta={"interactive": interactive.type})
    return render(content, change)


def _reply(content: WhatsAppContent, change: _Change) -> _Content:
    assert content.interactive is not None
    reply = content.interactive.button_reply or content.interactive.list_reply
    if reply is None:
        raise MalformedPayload(f"an interactive {content.interactive.type} without its reply")
    text = reply.title or reply.id or ""
    if reply.description:
        text = f"{text} ({reply.description})"
    return _Content(text, meta={"reply_id": reply.id, "reply_kind": content.interactive.type})


def _flow_reply(content: WhatsAppContent, change: _Change) -> _Content:
    assert content.interactive is not None
    flow = content.interactive.nfm_reply
    if flow is None:
        raise MalformedPayload("an interactive nfm_reply without its reply")
    return _Content(flow.body or "Form submitted", meta={"flow_name": flow.name, "flow_response": flow.response_json})


def _button(content: WhatsAppContent, change: _Change) -> _Content:
    if content.button is None:
        raise MalformedPayload("a button message without button")
    return _Content(content.button.text or content.button.payload or "", meta={"reply_id": content.button.payload})


def _order(content: WhatsAppContent, change: _Change) -> _Content:
    order = content.order
    if order is None:
        raise MalformedPayload("an order message without order")
    lines = [order.text] if order.text else []
    lines.append(f"Order from catalog {order.catalog_id}:" if order.catalog_id else "Order:")
    for item in order.product_items:
        price = f" at {item.item_price} {item.currency or ''}".rstrip() if item.item_price is not None else ""
        lines.append(f"- {item.quantity or 1} x {item.product_retailer_id}{price}")
    return _Content("\n".join(lines), meta={"order": {"catalog_id": order.catalog_id}})


def _unsupported(content: WhatsAppContent, change: _Change) -> _Content:
    """Content the Cloud API cannot deliver (polls, view-once media, ...): tell the agent something came."""
    errors = content.errors or list(change.errors)
    detail = next((e.error_data.details for e in errors if e.error_data and e.error_data.details), None)
    detail = detail or next((e.title or e.message for e in errors if e.title or e.message), None)
    kind = content.unsupported.type if content.unsupported else None
    label = f"Unsupported WhatsApp message ({kind})" if kind else "Unsupported WhatsApp message"
    codes = [e.code for e in errors if e.code is not None]
    return _Content(f"[{label}{': ' + detail if detail else ''}]", meta={"unsupported": True, "error_codes": codes})


_INTERACTIVE: dict[str, Callable[[WhatsAppContent, _Change], _Content]] = {
    "button_reply": _reply,
    "list_reply": _reply,
    "nfm_reply": _flow_reply,
}

_CONTENT: dict[str, Callable[[WhatsAppContent, _Change], _Content]] = {
    "text": _text,
    "image": _media,
    "video": _media,
    "audio": _media,
    "document": _media,
    "sticker": _media,
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "order": _order,
    "unsupported": _unsupported,
}


# -- messages ------------------------------------------------------------------------------------------


def _sender(message: WhatsAppMessage, change: _Change) -> ExternalIdentity:
    wa_id = message.from_
    contact = change.contact(wa_id, message.from_user_id)
    bsuid = message.from_user_id or (contact.user_id if contact else None)
    profile = contact.profile if contact else None
    extra = {"wa_id": wa_id, "bsuid": bsuid, "username": profile.username if profile else None}
    extra = {k: v for k, v in extra.items() if v}
    name = profile.name if profile else None
    if wa_id:
        phone = f"+{wa_id}" if wa_id.isdigit() else None
        return ExternalIdentity(address=phone or wa_id, name=name, phone=phone, extra=extra)
    if bsuid:
        # A customer with a WhatsApp username may hide their number: the business-scoped user id is all we get.
        return ExternalIdentity(address=bsuid, name=name, extra=extra)
    raise MalformedPayload("a message with neither `from` nor `from_user_id`")


def _inbound(
    message: WhatsAppMessage,
    content: WhatsAppContent,
    change: _Change,
    raw: dict[str, Any],
    *,
    external_id: str | None = None,
    is_edit: bool = False,
) -> InboundMessage:
    rendered = _CONTENT[content.type](content, change)
    sender = _sender(message, change)
    context = content.context or message.context
    meta = dict(rendered.meta)
    if context and (context.forwarded or context.frequently_forwarded):
        meta["forwarded"] = "frequently" if context.frequently_forwarded else True
    if message.referral:
        meta["referral"] = {
            "source_url": message.referral.source_url,
            "source_type": message.referral.source_type,
            "headline": message.referral.headline,
        }
    return InboundMessage(
        channel_kind=ChannelKind.WHATSAPP,
        inbox_id=change.account.id,
        external_message_id=external_id or message.id,
        sender=sender,
        text=rendered.text,
        sent_at=timestamp_to_utc(message.timestamp, f"message {message.id} timestamp"),
        attachments=rendered.attachments,
        external_thread_ref=message.from_ or message.from_user_id,
        in_reply_to_external_id=context.id if context and context.id else None,
        is_edit=is_edit,
        raw=raw,
        meta=meta,
    )


def _content_message(message: WhatsAppMessage, change: _Change, raw: dict[str, Any]) -> InboundMessage:
    return _inbound(message, message, change, raw)


def _edited_message(message: WhatsAppMessage, change: _Change, raw: dict[str, Any]) -> InboundMessage:
    """`type: edit`: replaces the text of `original_message_id` (the new caption for media)."""
    edit = message.edit
    if edit is None:
        raise MalformedPayload("an edit message without edit")
    if edit.message.type not in _CONTENT:
        raise MalformedPayload(f"an edit to an unknown message type {edit.message.type!r}")
    inbound = _inbound(message, edit.message, change, raw, external_id=edit.original_message_id, is_edit=True)
    # Only the text changes: the media of an edited message is the original one, already stored.
    return replace(inbound, attachments=(), meta={**inbound.meta, "edit_id": message.id})


_MESSAGES: dict[str, Callable[[WhatsAppMessage, _Change, dict[str, Any]], InboundMessage]] = {
    **dict.fromkeys(_CONTENT, _content_message),
    "edit": _edited_message,
}


def _status_update(status: WhatsAppStatus, change: _Change, raw: dict[str, Any]) -> DeliveryUpdate:
    error = None
    if status.errors:
        first = status.errors[0]
        detail = first.error_data.details if first.error_data else None
        title = first.title or first.message or "failed"
        error = f"{title} (code {first.code})" if first.code is not None else title
        error = f"{error}: {detail}" if detail else error
    return DeliveryUpdate(
        channel_kind=ChannelKind.WHATSAPP,
        inbox_id=change.account.id,
        external_message_id=status.id,
        status=_STATUS[status.status],
        occurred_at=timestamp_to_utc(status.timestamp, f"status {status.id} timestamp"),
        error=error,
        raw=raw,
    )


def _messages_field(value: Any, where: str, account: InboxConfig, out: Collected) -> None:
    """The `messages` field: customer messages and statuses of our messages, for this inbox's number."""
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} must be an object")
    data = convert(value, WhatsAppValue, where)
    if data.metadata is None:
        raise MalformedPayload(f"{where}.metadata is missing")
    if data.metadata.phone_number_id != text_setting(account, "phone_number_id"):
        # The same app may serve several numbers: only this inbox's number is ours.
        log.debug("whatsapp: skipped a change for phone_number_id %s", data.metadata.phone_number_id)
        return
    change = _Change(account, data.metadata, tuple(data.contacts), tuple(data.errors), value)
    shared = {"metadata": value.get("metadata"), "contacts": value.get("contacts")}
    for message, raw in zip(data.messages, value.get("messages") or [], strict=True):
        event = f"messages.{message.type}"
        handler = _MESSAGES.get(message.type)
        if handler is not None:
            out.items.append(handler(message, change, {**shared, "message": raw}))
        elif event not in IGNORED_EVENTS:
            out.unknown.append(event)
    for status, raw in zip(data.statuses, value.get("statuses") or [], strict=True):
        event = f"statuses.{status.status}"
        if status.status in _STATUS:
            out.items.append(_status_update(status, change, {"metadata": value.get("metadata"), "status": raw}))
        elif event not in IGNORED_EVENTS:
            out.unknown.append(event)
    if data.errors and not (data.messages or data.statuses):
        log.warning("whatsapp reported errors for inbox %s: %s", account.id, value.get("errors"))


class WhatsAppConnector(MetaConnectorBase):
    """WhatsApp Cloud API (CONTRACT.md: `GET`/`POST /webhooks/meta/{inbox_id}`, `X-Hub-Signature-256`).

    Event names are `<field>` for webhook fields other than `messages`, `messages.<type>` for customer
    messages and `statuses.<status>` for reports on our messages.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.WHATSAPP
    webhook_object: ClassVar[str] = "whatsapp_business_account"
    supported_events: ClassVar[frozenset[str]] = frozenset(
        {f"messages.{t}" for t in _MESSAGES} | {f"statuses.{s}" for s in _STATUS}
    )
    ignored_events: ClassVar[frozenset[str]] = IGNORED_EVENTS
    settings_spec: ClassVar[SettingsSpec] = SettingsSpec(
        required=frozenset({"access_token", "app_secret", "verify_token", "phone_number_id"}),
        optional=COMMON_OPTIONAL_SETTINGS,
        secrets=COMMON_SECRET_SETTINGS,
    )

    # -- inbound -----------------------------------------------------------------------------------------

    def _parse_entry(self, entry: dict[str, Any], where: str, account: InboxConfig, out: Collected) -> None:
        changes = entry.get("changes", [])
        if not isinstance(changes, list):
            raise MalformedPayload(f"{where}.changes must be a list")
        for index, change in enumerate(changes):
            if not isinstance(change, dict):
                raise MalformedPayload(f"{where}.changes[{index}] must be an object")
            name = str(change.get("field"))
            handler = self._fields.get(name)
            if handler is not None:
                handler(change.get("value"), f"{where}.changes[{index}].value", account, out)
            elif name not in self.ignored_events:
                out.unknown.append(name)

    _fields: ClassVar[dict[str, Callable[[Any, str, InboxConfig, Collected], None]]] = {
        "messages": _messages_field,
    }

    # -- outbound ----------------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Send text and attachments through `POST /{version}/{phone_number_id}/messages`.

        Refuses (without calling the API) when the 24-hour customer service window is closed. Several
        WhatsApp messages are sent when there are several attachments or a long text; the receipt carries
        the first id (all ids in `raw["message_ids"]`).
        """
        if not whatsapp_window_open(message.last_inbound_at, datetime.now(UTC)):
            raise SendFailed(WINDOW_CLOSED_REASON, retryable=False, code="window_closed")
        target = _recipient(message.recipient)
        phone_number_id = text_setting(account, "phone_number_id")
        async with self.graph(account) as graph:
            parts = await self._parts(message, graph, phone_number_id)
            if not parts:
                raise SendFailed("nothing to send: no text and no attachments", retryable=False, code="empty")
            ids: list[str] = []
            for index, part in enumerate(parts):
                body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", **target}
                if index == 0 and message.in_reply_to_external_id:
                    body["context"] = {"message_id": message.in_reply_to_external_id}
                answer, _ = await graph.request(
                    "POST", f"{phone_number_id}/messages", WhatsAppSendAnswer, json=body | part
                )
                if not answer.messages:
                    raise SendFailed("Graph API accepted the message but returned no id", retryable=False)
                ids.append(answer.messages[0].id)
        return SendReceipt(
            external_message_id=ids[0],
            status=DeliveryStatus.SENT,
            external_thread_ref=target.get("to") or target.get("recipient"),
            raw={"message_ids": ids},
        )

    @staticmethod
    async def _parts(message: OutboundMessage, graph: GraphClient, phone_number_id: str) -> list[dict[str, Any]]:
        """The message bodies to send (uploading attachment bytes first, so a failed upload sends nothing)."""
        text = message.text or ""
        media: list[tuple[str, dict[str, Any]]] = [
            await _media_object(attachment, graph, phone_number_id) for attachment in message.attachments
        ]
        caption = len(media) == 1 and media[0][0] in _CAPTIONED and 0 < len(text.strip()) <= CAPTION_LIMIT
        parts: list[dict[str, Any]] = []
        if not caption:
            parts += [
                {"type": "text", "text": {"body": c, "preview_url": "://" in c}} for c in text_chunks(text, TEXT_LIMIT)
            ]
        for kind, obj in media:
            parts.append({"type": kind, kind: obj | ({"caption": text} if caption else {})})
        return parts

    async def fetch_attachment(self, attachment: Attachment, account: InboxConfig, max_bytes: int) -> bytes:
        """Download inbound media: `GET /{version}/{media_id}` for a short-lived URL, then GET it with the token."""
        media_id = str(attachment.source_ref.get("media_id") or "")
        if not _GRAPH_ID.fullmatch(media_id):
            raise SendFailed("attachment has no WhatsApp media id", retryable=False, code="no_media_id")
        async with self.graph(account) as graph:
            info, _ = await graph.request("GET", media_id, WhatsAppMediaInfo)
            if info.file_size is not None and str(info.file_size).isdigit() and int(info.file_size) > max_bytes:
                raise ValueError(f"attachment is {info.file_size} bytes, more than the {max_bytes} allowed")
            content, _ = await graph.download(info.url, max_bytes=max_bytes, with_token=True)
        return content


def _recipient(identity: ExternalIdentity) -> dict[str, str]:
    """`{"to": digits}` for a phone number, `{"recipient": bsuid}` for a username-only customer."""
    for candidate in (identity.phone, identity.address):
        if candidate and _PHONE.fullmatch(candidate.strip()):
            return {"to": re.sub(r"\D", "", candidate)}
    bsuid = identity.extra.get("bsuid") or identity.address
    if bsuid:
        return {"recipient": str(bsuid)}
    raise SendFailed("the customer has no WhatsApp number or user id", retryable=False, code="no_recipient")


def _whatsapp_media_type(content_type: str) -> str:
    base = content_type.split(";")[0].strip().lower()
    if base in ("image/jpeg", "image/png"):
        return "image"
    if base == "image/webp":
        return "sticker"
    major = base.split("/")[0]
    return major if major in ("video", "audio") else "document"


async def _media_object(attachment: Attachment, graph: GraphClient, phone_number_id: str) -> tuple[str, dict[str, Any]]:
    """(type, media object): by media id, by uploading `content` now, or by public link."""
    kind = _whatsapp_media_type(attachment.content_type)
    obj: dict[str, Any]
    if attachment.source_ref.get("media_id"):
        obj = {"id": str(attachment.source_ref["media_id"])}
    elif attachment.content is not None:  # bytes beat a link: a link may be an expired CDN URL
        uploaded, _ = await graph.request(
            "POST",
            f"{phone_number_id}/media",
            WhatsAppUploadAnswer,
            data={"messaging_product": "whatsapp", "type": attachment.content_type},
            files={"file": (attachment.filename, attachment.content, attachment.content_type)},
        )
        obj = {"id": uploaded.id}
    elif attachment.source_url:
        obj = {"link": attachment.source_url}
    else:
        raise SendFailed(
            f"attachment {attachment.filename!r} has no content or URL", retryable=False, code="bad_attachment"
        )
    if kind == "document":
        obj["filename"] = attachment.filename
    return kind, obj
