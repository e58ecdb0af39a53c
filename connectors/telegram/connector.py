"""`telegram` channel connector: Bot API `Update` webhooks in, python-telegram-bot out."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, ClassVar

import msgspec
from telegram import Message

from connectors.base import (
    InboxConfig,
    MalformedPayload,
    ParseResult,
    RawRequest,
    SendFailed,
    SignatureInvalid,
    UnsupportedEvent,
)
from connectors.telegram.client import DEFAULT_TIMEOUT, TelegramClient, settings_problems
from connectors.telegram.payloads import (
    IGNORED_UPDATES,
    MESSAGE_UPDATES,
    UNSUPPORTED_UPDATES,
    TelegramFile,
    TelegramMessage,
)
from conversation.types import (
    Attachment,
    ChannelKind,
    ExternalIdentity,
    InboundMessage,
    OutboundMessage,
    SendReceipt,
    SettingsSpec,
)

#: https://core.telegram.org/bots/api#setwebhook (`secret_token`).
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)
MAX_TEXT = 4096  # https://core.telegram.org/bots/api#sendmessage, in UTF-16 code units
MAX_CAPTION = 1024  # https://core.telegram.org/bots/api#sendphoto

_KNOWN_UPDATES = frozenset(MESSAGE_UPDATES) | IGNORED_UPDATES | frozenset(UNSUPPORTED_UPDATES)
_CHAT_ID_RE = re.compile(r"-?[0-9]{1,20}")
_CHANNEL_USERNAME_RE = re.compile(r"@[A-Za-z0-9_]{4,32}")
_DIGITS_RE = re.compile(r"[0-9]+")

#: Media sent as a file: (field, filename suffix when Telegram gives no name, content type when it gives none).
#: `animation` comes before `document` because Telegram repeats an animation as a document.
_FILE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("animation", ".mp4", "video/mp4"),
    ("document", "", "application/octet-stream"),
    ("voice", ".ogg", "audio/ogg"),
    ("audio", ".mp3", "audio/mpeg"),
    ("video", ".mp4", "video/mp4"),
    ("video_note", ".mp4", "video/mp4"),
)


class TelegramSettingsSpec(SettingsSpec):
    """The key check of `SettingsSpec` plus the formats Telegram imposes on `secret_token` and `bot_token`."""

    __slots__ = ()

    def validate(self, settings: dict[str, Any]) -> list[str]:
        """Return human-readable problems with `settings` (empty when valid)."""
        return super().validate(settings) + settings_problems(settings)


# -- inbound ------------------------------------------------------------------------------------------


def _decode_update(body: bytes) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, ValueError, RecursionError) as exc:  # ValueError: invalid UTF-8
        raise MalformedPayload("body is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("body must be a JSON object (a Telegram Update)")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise MalformedPayload("not a Telegram Update: update_id is missing or not an integer")
    return data


def _update_type(update: dict[str, Any]) -> str:
    """The one optional field an Update carries (https://core.telegram.org/bots/api#update)."""
    present = [key for key in update if key != "update_id"]
    known = [key for key in present if key in _KNOWN_UPDATES]
    if len(known) > 1:
        raise MalformedPayload("an Update carries one kind of content, this one has " + ", ".join(known))
    if known:
        return known[0]
    if present:
        return present[0]
    raise MalformedPayload("the Update carries nothing besides update_id")


def _read_message(update: dict[str, Any], event: str) -> TelegramMessage:
    """python-telegram-bot reads the message when it can; our lenient shapes read the rest.

    PTB's `de_json` rejects payloads that lack fields today's Bot API requires (every example in
    Telegram's own webhook guide lacks `is_bot`), so those are read leniently for what they contain.
    """
    obj = update[event]
    if not isinstance(obj, dict):
        raise MalformedPayload(f"{event} must be a JSON object")
    try:
        ptb = Message.de_json(obj, None)
        source: Any = msgspec.json.decode(ptb.to_json()) if ptb is not None else obj
    except Exception:  # PTB raises whatever its constructors raise on old or partial payloads
        source = obj
    try:
        return msgspec.convert(source, TelegramMessage)
    except msgspec.ValidationError as exc:
        raise MalformedPayload(f"{event}: {exc}") from exc


def _utc(timestamp: int, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedPayload(f"{field} is not a valid Unix time: {timestamp}") from exc


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(part for part in (first, last) if part) or None


def _extra(**values: str | None) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}


def _international(phone: str) -> str:
    """Telegram gives contact phones with or without the leading +; they are always international."""
    digits = re.sub(r"[^0-9]", "", phone)
    return f"+{digits}" if digits else phone


def _sender(msg: TelegramMessage) -> ExternalIdentity | None:
    """The customer who wrote `msg`, or None when a bot or a chat (channel, anonymous admin) wrote it."""
    user = msg.from_user
    if msg.sender_chat is not None or (user is not None and user.is_bot):
        return None
    if user is None:
        chat = msg.chat
        if chat.type != "private":
            return None
        # Only old or hand-made payloads omit `from` in a private chat, whose id is the user's id.
        return ExternalIdentity(
            address=str(chat.id), name=_full_name(chat.first_name, chat.last_name), extra=_extra(username=chat.username)
        )
    phone = None
    if msg.contact is not None and msg.contact.user_id == user.id:
        # The customer shared their own contact card: Telegram vouches that the number is theirs.
        phone = _international(msg.contact.phone_number)
    return ExternalIdentity(
        address=str(user.id),
        name=_full_name(user.first_name, user.last_name),
        phone=phone,
        extra=_extra(username=user.username, language_code=user.language_code),
    )


def _safe_name(name: str | None, default: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    return base or default


def _file_attachment(msg: TelegramMessage, field: str, suffix: str, default_type: str) -> Attachment | None:
    media: TelegramFile | None = getattr(msg, field)
    if media is None or (field == "document" and msg.animation is not None):
        return None
    return Attachment(
        filename=_safe_name(media.file_name, f"{field}_{msg.message_id}{suffix}"),
        content_type=media.mime_type or default_type,
        size=media.file_size,
        source_ref={"file_id": media.file_id},
    )


def _attachments(msg: TelegramMessage) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if msg.photo:
        # Telegram sends several sizes of one photo; keep the largest (normally the last).
        largest = max(msg.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        found.append(
            Attachment(
                filename=f"photo_{msg.message_id}.jpg",
                content_type="image/jpeg",  # Telegram re-encodes every photo as JPEG
                size=largest.file_size,
                source_ref={"file_id": largest.file_id},
            )
        )
    for field, suffix, default_type in _FILE_FIELDS:
        attachment = _file_attachment(msg, field, suffix, default_type)
        if attachment is not None:
            found.append(attachment)
    return tuple(found)


def _describe(msg: TelegramMessage) -> str:
    """A text line for content that has neither text nor a file: venue, location, contact, sticker."""
    if msg.venue is not None:
        where = msg.venue.location
        return f"[venue] {msg.venue.title}, {msg.venue.address} ({where.latitude}, {where.longitude})"
    if msg.location is not None:
        lat, lon = msg.location.latitude, msg.location.longitude
        return f"[location] {lat}, {lon} https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"
    if msg.contact is not None:
        name = _full_name(msg.contact.first_name, msg.contact.last_name)
        return " ".join(part for part in ("[contact]", name, _international(msg.contact.phone_number)) if part)
    if msg.sticker is not None:
        return f"[sticker {msg.sticker.emoji}]" if msg.sticker.emoji else "[sticker]"
    return ""


def _meta(update: dict[str, Any], msg: TelegramMessage) -> dict[str, Any]:
    meta: dict[str, Any] = {"update_id": update["update_id"], "chat_type": msg.chat.type}
    if msg.edit_date is not None:
        meta["edited_at"] = _utc(msg.edit_date, "edit_date").isoformat()
    if msg.message_thread_id is not None:
        meta["message_thread_id"] = msg.message_thread_id
    if msg.media_group_id is not None:
        meta["media_group_id"] = msg.media_group_id
    return {key: value for key, value in meta.items() if value is not None}


def _to_inbound(update: dict[str, Any], event: str, account: InboxConfig, *, is_edit: bool) -> InboundMessage | None:
    msg = _read_message(update, event)
    sender = _sender(msg)
    if sender is None:
        return None
    attachments = _attachments(msg)
    text = msg.text or msg.caption or ""
    if not text and not attachments:
        text = _describe(msg)
    if not text and not attachments:
        return None  # service messages (member joined, pinned, ...) and content we cannot show (polls, dice)
    chat_id = msg.chat.id
    reply = msg.reply_to_message
    return InboundMessage(
        channel_kind=ChannelKind.TELEGRAM,
        inbox_id=account.id,
        external_message_id=f"{chat_id}:{msg.message_id}",  # message ids are unique per chat only
        sender=sender,
        text=text,
        # The original send time, also for edits: an edit that overtakes its original still sorts right.
        sent_at=_utc(msg.date, "date"),
        attachments=attachments,
        external_thread_ref=str(chat_id),
        # A reply_to_message is always in the same chat (other chats' messages come as external_reply).
        in_reply_to_external_id=f"{chat_id}:{reply.message_id}" if reply is not None else None,
        is_edit=is_edit,
        raw=update,
        meta=_meta(update, msg),
    )


def _on_message(update: dict[str, Any], account: InboxConfig) -> InboundMessage | None:
    return _to_inbound(update, "message", account, is_edit=False)


def _on_edited_message(update: dict[str, Any], account: InboxConfig) -> InboundMessage | None:
    return _to_inbound(update, "edited_message", account, is_edit=True)


_HANDLERS: dict[str, Callable[[dict[str, Any], InboxConfig], InboundMessage | None]] = {
    "message": _on_message,
    "edited_message": _on_edited_message,
}


# -- outbound -----------------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_index(text: str, limit: int) -> int:
    """The largest prefix length of `text` that fits in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split `text` into Telegram-sized parts, preferring line breaks, then spaces; blank parts dropped."""
    parts: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        cut = max(_cut_index(rest, limit), 1)
        for separator in ("\n", " "):
            at = rest.rfind(separator, 0, cut)
            if at >= cut // 2:
                cut = at + 1
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    return [part for part in parts if part.strip()]


@dataclass(frozen=True, slots=True)
class _Part:
    """One Bot API message of a reply: a text, or a file with an optional caption."""

    text: str | None = None
    attachment: Attachment | None = None

    async def send(self, client: TelegramClient, chat_id: int | str, reply_to: int | None) -> Message:
        if self.attachment is not None:
            return await client.send_file(chat_id, self.attachment, caption=self.text, reply_to=reply_to)
        return await client.send_text(chat_id, self.text or "", reply_to=reply_to)


def _plan(message: OutboundMessage) -> list[_Part]:
    """Text and files as Telegram messages: a short text rides as the first file's caption."""
    text = message.text if message.text and message.text.strip() else ""
    files = list(message.attachments)
    if files and _utf16_len(text) <= MAX_CAPTION:
        return [_Part(text or None, files[0])] + [_Part(attachment=f) for f in files[1:]]
    return [_Part(text=part) for part in split_text(text)] + [_Part(attachment=f) for f in files]


def _chat_id(message: OutboundMessage) -> int | str:
    ref = (message.external_thread_ref or message.recipient.address or "").strip()
    if _CHAT_ID_RE.fullmatch(ref):
        return int(ref)
    if _CHANNEL_USERNAME_RE.fullmatch(ref):
        return ref
    raise SendFailed(f"{ref!r} is not a Telegram chat id", retryable=False, code="bad_recipient")


def _reply_to(external_id: str | None, chat_id: int | str) -> int | None:
    """The message id inside `chat_id` from our `"<chat_id>:<message_id>"` ids (None when elsewhere)."""
    if not external_id:
        return None
    chat, separator, message_id = external_id.rpartition(":")
    if not _DIGITS_RE.fullmatch(message_id) or (separator and chat != str(chat_id)):
        return None
    return int(message_id)


class TelegramConnector:
    """Telegram bots (CONTRACT.md: `POST /webhooks/telegram/{inbox_id}`), see README.md in this folder."""

    kind: ClassVar[ChannelKind] = ChannelKind.TELEGRAM
    supported_events: ClassVar[frozenset[str]] = frozenset(MESSAGE_UPDATES)
    ignored_events: ClassVar[frozenset[str]] = IGNORED_UPDATES
    settings_spec: ClassVar[SettingsSpec] = TelegramSettingsSpec(
        required=frozenset({"bot_token", "secret_token"}),
        optional=frozenset(
            {"api_base_url", "api_file_base_url", "bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"}
        ),
        secrets=frozenset({"bot_token", "secret_token", "agent_bot_secret"}),
    )

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def verify(self, request: RawRequest, account: InboxConfig) -> None:
        """Compare `X-Telegram-Bot-Api-Secret-Token` with the inbox's `secret_token`, in constant time.

        The URL (and any bot token someone put in it) plays no part.
        """
        expected = account.settings.get("secret_token")
        if not isinstance(expected, str) or not expected:
            raise SignatureInvalid("this Telegram inbox has no secret_token configured")
        given = request.headers.get(SECRET_HEADER)
        if not given:
            raise SignatureInvalid(f"missing {SECRET_HEADER} header")
        if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")):
            raise SignatureInvalid(f"{SECRET_HEADER} does not match this inbox")

    def parse(self, request: RawRequest, account: InboxConfig) -> ParseResult:
        """One Update -> at most one `InboundMessage` (ignored update types and service messages -> [])."""
        update = _decode_update(request.body)
        event = _update_type(update)
        if event in self.ignored_events:
            return ParseResult()
        handler = _HANDLERS.get(event)
        if handler is None:
            raise UnsupportedEvent(f"{event}: {UNSUPPORTED_UPDATES.get(event, 'unknown Telegram update type')}")
        item = handler(update, account)
        return ParseResult(items=[item] if item is not None else [])

    async def send(self, message: OutboundMessage, account: InboxConfig) -> SendReceipt:
        """Send the reply as one or more Bot API messages; the receipt names the first one.

        A failure after some parts went out is reported as permanent, so a retry never repeats them.
        """
        chat_id = _chat_id(message)
        reply_to = _reply_to(message.in_reply_to_external_id, chat_id)
        parts = _plan(message)
        if not parts:
            raise SendFailed("nothing to send: the reply has no text and no attachments", retryable=False, code="empty")
        sent: list[Message] = []
        async with TelegramClient(account.settings, timeout=self.timeout) as client:
            for part in parts:
                try:
                    sent.append(await part.send(client, chat_id, reply_to if not sent else None))
                except SendFailed as exc:
                    if not sent:
                        raise
                    raise SendFailed(
                        f"only {len(sent)} of {len(parts)} parts were sent: {exc.reason}",
                        retryable=False,
                        code=exc.code,
                    ) from exc
        first = sent[0]
        return SendReceipt(
            external_message_id=f"{first.chat.id}:{first.message_id}",
            external_thread_ref=str(first.chat.id),
            raw={"messages": [msgspec.json.decode(m.to_json()) for m in sent]},
        )

    async def fetch_attachment(self, attachment: Attachment, account: InboxConfig, max_bytes: int) -> bytes:
        """Download an inbound file by its `file_id` (getFile + file URL); `ValueError` past `max_bytes`.

        The Bot API serves files up to 20 MB; larger ones fail with a permanent `SendFailed`.
        """
        file_id = attachment.source_ref.get("file_id")
        if not isinstance(file_id, str) or not file_id:
            raise SendFailed("this attachment has no Telegram file_id", retryable=False, code="no_file_id")
        if attachment.size is not None and attachment.size > max_bytes:
            raise ValueError(f"Telegram file is {attachment.size} bytes, more than the {max_bytes} allowed")
        async with TelegramClient(account.settings, timeout=self.timeout) as client:
            return await client.download(file_id, max_bytes)
