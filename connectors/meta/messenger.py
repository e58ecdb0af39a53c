"""Facebook Messenger Platform connector: page webhooks in (`/webhooks/meta/{inbox_id}`), Send API out."""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from connectors.base import InboxConfig, MalformedPayload, SendFailed
from connectors.meta._common import (
    COMMON_OPTIONAL_SETTINGS,
    COMMON_SECRET_SETTINGS,
    Collected,
    Item,
    MetaConnectorBase,
    convert,
    log,
    media_kind,
    text_chunks,
    text_setting,
    timestamp_to_utc,
)
from connectors.meta.client import GraphClient
from connectors.meta.payloads import (
    MessengerAttachment,
    MessengerEvent,
    MessengerProfile,
    MessengerSendAnswer,
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
    Watermark,
)

TEXT_LIMIT = 2000  # characters in one Messenger text message
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
#: Prefix of the `external_message_id` of watermark-only delivery/read updates (they name no message).
WATERMARK_PREFIX = "watermark:"

_ENVELOPE_KEYS = frozenset({"sender", "recipient", "timestamp"})
_PSID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
# Webhook fields whose `changes[].value` is a messaging event (the App Dashboard "Test" button sends these).
_MESSAGING_FIELDS = frozenset(
    {
        "messages",
        "message_echoes",
        "message_edits",
        "message_deliveries",
        "message_reads",
        "message_reactions",
        "messaging_postbacks",
        "messaging_optins",
        "messaging_referrals",
        "messaging_account_linking",
        "messaging_handovers",
    }
)
_FALLBACK_TYPES = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "file": "application/octet-stream",
}

IGNORED_EVENTS: frozenset[str] = frozenset(
    {
        "message_echo",  # what the page itself sent (our replies, or replies from Meta Business Suite)
        "optin",  # checkbox / send-to-Messenger plugin opt-ins: no customer text
        "reaction",  # an emoji on a message: not a new customer message
        "referral",  # the customer came from an m.me link or ad while already in the thread
        "account_linking",
        "pass_thread_control",  # handover protocol
        "take_thread_control",
        "request_thread_control",
        "app_roles",
        "standby",  # events for another app that owns the thread (handover protocol)
    }
)


def _event_name(event: dict[str, Any]) -> str:
    """The event kind: the event's one payload key (`message`, `delivery`, ...), `message_echo` for echoes."""
    keys = [key for key in event if key not in _ENVELOPE_KEYS]
    known = [key for key in keys if key in _HANDLERS or key in IGNORED_EVENTS]
    name = (known or keys or ["<empty>"])[0]
    message = event.get("message")
    if name == "message" and isinstance(message, dict) and message.get("is_echo"):
        return "message_echo"
    return name


def _attachment(item: MessengerAttachment) -> tuple[Attachment | None, str | None]:
    """(file to download, text line) for one attachment of a customer message."""
    payload = item.payload
    url = (payload.url if payload else None) or item.url
    if item.type in _FALLBACK_TYPES or (item.type == "sticker" and url):
        if not url:
            raise MalformedPayload(f"a {item.type} attachment without payload.url")
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or item.type
        guessed = mimetypes.guess_type(name)[0]
        content_type = guessed or _FALLBACK_TYPES.get(item.type, "image/png")
        filename = name if guessed else f"{item.type}{mimetypes.guess_extension(content_type) or ''}"
        ref = {"type": item.type} | ({"sticker_id": payload.sticker_id} if payload and payload.sticker_id else {})
        # Messenger CDN URLs are signed and need no token; they expire, so the hub fetches them soon.
        return Attachment(filename=filename, content_type=content_type, source_url=url, source_ref=ref), None
    if item.type == "location" and payload and payload.coordinates:
        lat, long = payload.coordinates.lat, payload.coordinates.long
        place = f"{payload.title}\n" if payload.title else ""
        return None, f"Location: {place}https://maps.google.com/?q={lat},{long}"
    label = (payload.title if payload else None) or item.title
    described = " ".join(part for part in (label, url) if part)
    return None, f"[{item.type}] {described}" if described else f"[{item.type}]"


class MessengerConnector(MetaConnectorBase):
    """Facebook Messenger (CONTRACT.md: `GET`/`POST /webhooks/meta/{inbox_id}`, `X-Hub-Signature-256`).

    Event names are the messaging event's payload key (`message`, `delivery`, `read`, `postback`,
    `message_edit`, ...), with `message_echo` for `message.is_echo` and `standby` for handover events.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.MESSENGER
    webhook_object: ClassVar[str] = "page"
    supported_events: ClassVar[frozenset[str]] = frozenset({"message", "message_edit", "delivery", "read", "postback"})
    ignored_events: ClassVar[frozenset[str]] = IGNORED_EVENTS
    settings_spec: ClassVar[SettingsSpec] = SettingsSpec(
        required=frozenset({"access_token", "app_secret", "verify_token", "page_id"}),
        optional=COMMON_OPTIONAL_SETTINGS | {"human_agent_tag"},
        secrets=COMMON_SECRET_SETTINGS,
    )

    # -- inbound -----------------------------------------------------------------------------------------

    def _parse_entry(self, entry: dict[str, Any], where: str, account: InboxConfig, out: Collected) -> None:
        if str(entry.get("id")) != text_setting(account, "page_id"):
            # One app can serve several pages: only this inbox's page is ours.
            log.debug("messenger: skipped an entry for page %s", entry.get("id"))
            return
        for index, (name, event) in enumerate(self._events(entry, where)):
            if name in IGNORED_EVENTS:
                continue
            handler = _HANDLERS.get(name)
            if handler is None:
                out.unknown.append(name)
                continue
            data = convert(event, MessengerEvent, f"{where} event {index}")
            psid = data.sender.id if data.sender else None
            if not psid:
                # Checkbox-plugin users come as `user_ref` only; there is no thread to attach them to.
                log.debug("messenger: skipped a %s event without sender.id", name)
                continue
            out.items.extend(handler(data, psid, event, account))

    @staticmethod
    def _events(entry: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        if entry.get("standby"):
            events.append(("standby", {}))
        messaging = entry.get("messaging", [])
        changes = entry.get("changes", [])
        if not isinstance(messaging, list) or not isinstance(changes, list):
            raise MalformedPayload(f"{where}.messaging and .changes must be lists")
        for event in messaging:
            if not isinstance(event, dict):
                raise MalformedPayload(f"{where}.messaging must hold objects")
            events.append((_event_name(event), event))
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            field = change.get("field") if isinstance(change, dict) else None
            if field in _MESSAGING_FIELDS and isinstance(value, dict):
                events.append((_event_name(value), value))
            else:
                events.append((f"changes.{field}", {}))
        return events

    # -- outbound ----------------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Send through `POST /{version}/me/messages` (`messaging_type: RESPONSE`), text then attachments.

        With the optional `human_agent_tag` setting, replies later than 24 h (up to 7 days) after the
        customer's last message go out with the `HUMAN_AGENT` tag (the page needs that permission).
        """
        psid = message.recipient.address
        if not psid:
            raise SendFailed("the customer has no Messenger PSID", retryable=False, code="no_recipient")
        envelope: dict[str, Any] = {"recipient": {"id": psid}, **_messaging_type(message, account)}
        ids: list[str] = []
        async with self.graph(account) as graph:
            for chunk in text_chunks(message.text or "", TEXT_LIMIT):
                ids.append(await _post(graph, envelope, {"text": chunk}))
            for attachment in message.attachments:
                ids.append(await _send_attachment(graph, envelope, attachment))
        if not ids:
            raise SendFailed("nothing to send: no text and no attachments", retryable=False, code="empty")
        return SendReceipt(external_message_id=ids[0], external_thread_ref=psid, raw={"message_ids": ids})

    async def fetch_attachment(self, attachment: Attachment, account: InboxConfig, max_bytes: int) -> bytes:
        """Download an attachment from its Messenger CDN URL (signed URL: no token sent)."""
        if not attachment.source_url:
            raise SendFailed("attachment has no source_url", retryable=False, code="no_url")
        async with self.graph(account) as graph:
            content, _ = await graph.download(attachment.source_url, max_bytes=max_bytes, with_token=False)
        return content

    async def fetch_profile(self, identity: ExternalIdentity, account: InboxConfig) -> ExternalIdentity | None:
        """The customer's name and picture: `GET /{version}/{psid}?fields=first_name,last_name,profile_pic`.

        Returns None when Meta refuses (the page lacks the permission, the user blocked the page, timeouts).
        """
        if not _PSID.fullmatch(identity.address or ""):
            return None
        try:
            async with self.graph(account) as graph:
                profile, _ = await graph.request(
                    "GET", identity.address, MessengerProfile, params={"fields": "first_name,last_name,profile_pic"}
                )
        except SendFailed as exc:
            log.info("messenger: no profile for %s: %s", identity.address, exc.reason)
            return None
        name = " ".join(part for part in (profile.first_name, profile.last_name) if part) or identity.name
        return replace(identity, name=name, avatar_url=profile.profile_pic or identity.avatar_url)


# -- event handlers ----------------------------------------------------------------------------------------


def _message(data: MessengerEvent, psid: str, raw: dict[str, Any], account: InboxConfig) -> list[Item]:
    message = data.message
    if message is None:
        raise MalformedPayload("a message event without message")
    lines = [message.text] if message.text else []
    attachments: list[Attachment] = []
    for item in message.attachments:
        attachment, line = _attachment(item)
        # During Meta's sticker transition the same sticker comes as `sticker` and as `image`.
        if attachment and all(a.source_url != attachment.source_url for a in attachments):
            attachments.append(attachment)
        if line:
            lines.append(line)
    meta: dict[str, Any] = {}
    if message.quick_reply and message.quick_reply.payload:
        meta["quick_reply_payload"] = message.quick_reply.payload
    text = "\n".join(lines)
    if not text and not attachments:
        text = "[empty Messenger message]"
    return [
        InboundMessage(
            channel_kind=ChannelKind.MESSENGER,
            inbox_id=account.id,
            external_message_id=message.mid,
            sender=ExternalIdentity(address=psid),
            text=text,
            sent_at=_event_time(data),
            attachments=tuple(attachments),
            external_thread_ref=psid,
            in_reply_to_external_id=message.reply_to.mid if message.reply_to else None,
            raw=raw,
            meta=meta,
        )
    ]


def _message_edit(data: MessengerEvent, psid: str, raw: dict[str, Any], account: InboxConfig) -> list[Item]:
    edit = data.message_edit
    if edit is None:
        raise MalformedPayload("a message_edit event without message_edit")
    return [
        InboundMessage(
            channel_kind=ChannelKind.MESSENGER,
            inbox_id=account.id,
            external_message_id=edit.mid,
            sender=ExternalIdentity(address=psid),
            text=edit.text or "",
            sent_at=_event_time(data),
            external_thread_ref=psid,
            is_edit=True,
            raw=raw,
            meta={"num_edit": edit.num_edit},
        )
    ]


def _postback(data: MessengerEvent, psid: str, raw: dict[str, Any], account: InboxConfig) -> list[Item]:
    """A tapped postback button / Get Started / menu item: the customer "said" its title."""
    postback = data.postback
    if postback is None:
        raise MalformedPayload("a postback event without postback")
    sent_at = _event_time(data)
    # Old postbacks carry no mid: derive a stable id so a redelivery is still recognised.
    external_id = postback.mid or f"postback:{psid}:{int(sent_at.timestamp() * 1000)}"
    return [
        InboundMessage(
            channel_kind=ChannelKind.MESSENGER,
            inbox_id=account.id,
            external_message_id=external_id,
            sender=ExternalIdentity(address=psid),
            text=postback.title or postback.payload or "",
            sent_at=sent_at,
            external_thread_ref=psid,
            raw=raw,
            meta={"postback_payload": postback.payload, "postback_title": postback.title},
        )
    ]


def _delivery(data: MessengerEvent, psid: str, raw: dict[str, Any], account: InboxConfig) -> list[Item]:
    delivery = data.delivery
    if delivery is None:
        raise MalformedPayload("a delivery event without delivery")
    when = delivery.watermark if delivery.watermark is not None else data.timestamp
    occurred_at = timestamp_to_utc(when, "delivery.watermark")
    if not delivery.mids:
        return [_watermark_update(DeliveryStatus.DELIVERED, psid, occurred_at, raw, account)]
    return [
        DeliveryUpdate(
            channel_kind=ChannelKind.MESSENGER,
            inbox_id=account.id,
            external_message_id=mid,
            status=DeliveryStatus.DELIVERED,
            occurred_at=occurred_at,
            raw=raw,
        )
        for mid in delivery.mids
    ]


def _read(data: MessengerEvent, psid: str, raw: dict[str, Any], account: InboxConfig) -> list[Item]:
    if data.read is None:
        raise MalformedPayload("a read event without read")
    occurred_at = timestamp_to_utc(data.read.watermark, "read.watermark")
    return [_watermark_update(DeliveryStatus.READ, psid, occurred_at, raw, account)]


def _watermark_update(
    status: DeliveryStatus, psid: str, up_to: datetime, raw: dict[str, Any], account: InboxConfig
) -> DeliveryUpdate:
    return DeliveryUpdate(
        channel_kind=ChannelKind.MESSENGER,
        inbox_id=account.id,
        external_message_id=f"{WATERMARK_PREFIX}{psid}:{int(up_to.timestamp() * 1000)}",
        status=status,
        occurred_at=up_to,
        raw={"event": raw},
        watermark=Watermark(recipient_ref=psid, up_to=up_to),
    )


def _event_time(data: MessengerEvent) -> datetime:
    if data.timestamp is None:
        raise MalformedPayload("a messaging event without timestamp")
    return timestamp_to_utc(data.timestamp, "timestamp")


_HANDLERS: dict[str, Callable[[MessengerEvent, str, dict[str, Any], InboxConfig], list[Item]]] = {
    "message": _message,
    "message_edit": _message_edit,
    "postback": _postback,
    "delivery": _delivery,
    "read": _read,
}


# -- sending -----------------------------------------------------------------------------------------------


def _messaging_type(message: OutboundMessage, account: InboxConfig) -> dict[str, str]:
    """`RESPONSE` inside the 24 h window; `MESSAGE_TAG`/`HUMAN_AGENT` after it when the inbox opted in."""
    if account.settings.get("human_agent_tag") and message.last_inbound_at is not None:
        last = message.last_inbound_at
        age = datetime.now(UTC) - (last if last.tzinfo else last.replace(tzinfo=UTC))
        if STANDARD_WINDOW <= age < HUMAN_AGENT_WINDOW:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    return {"messaging_type": "RESPONSE"}


async def _post(graph: GraphClient, envelope: dict[str, Any], message: dict[str, Any]) -> str:
    answer, _ = await graph.request("POST", "me/messages", MessengerSendAnswer, json=envelope | {"message": message})
    return answer.message_id


async def _send_attachment(graph: GraphClient, envelope: dict[str, Any], attachment: Attachment) -> str:
    """By saved attachment id, uploaded as multipart `filedata`, or by URL (bytes beat a link that may expire)."""
    kind = media_kind(attachment.content_type)
    if attachment.source_ref.get("attachment_id"):
        payload: dict[str, Any] = {"attachment_id": str(attachment.source_ref["attachment_id"])}
        return await _post(graph, envelope, {"attachment": {"type": kind, "payload": payload}})
    if attachment.content is None and attachment.source_url:
        payload = {"url": attachment.source_url, "is_reusable": True}
        return await _post(graph, envelope, {"attachment": {"type": kind, "payload": payload}})
    if attachment.content is None:
        raise SendFailed(
            f"attachment {attachment.filename!r} has no content or URL", retryable=False, code="bad_attachment"
        )
    # https://developers.facebook.com/docs/messenger-platform/send-messages#file
    form = {key: json.dumps(value) if isinstance(value, dict) else str(value) for key, value in envelope.items()}
    form["message"] = json.dumps({"attachment": {"type": kind, "payload": {"is_reusable": True}}})
    answer, _ = await graph.request(
        "POST",
        "me/messages",
        MessengerSendAnswer,
        data=form,
        files={"filedata": (attachment.filename, attachment.content, attachment.content_type)},
    )
    return answer.message_id
