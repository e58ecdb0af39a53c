"""Typed shapes of the Telegram Bot API objects we read (only the fields we use).

They are deliberately lenient: fields that today's Bot API marks as required but that older or
hand-written payloads omit (`is_bot`, `file_unique_id`, ...) have defaults, so an update that
python-telegram-bot rejects can still be read for what it contains.
Reference: https://core.telegram.org/bots/api#available-types
"""

from __future__ import annotations

import msgspec

#: Update types that carry a customer message. `setWebhook(allowed_updates=...)` asks for these only.
MESSAGE_UPDATES: tuple[str, ...] = ("message", "edited_message")

#: Update types we know and deliberately drop (see README.md, "Inbound").
IGNORED_UPDATES: frozenset[str] = frozenset(
    {
        "channel_post",  # the shop's own channel broadcasts, not customers
        "edited_channel_post",
        "callback_query",  # we never send inline keyboards, so a button press is a stale or foreign one
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",  # the bot was blocked / unblocked / added to a group
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "message_reaction",
        "message_reaction_count",
        "business_connection",
        "deleted_business_messages",
        "managed_bot",
    }
)

#: Customer messages we cannot answer yet: they raise `UnsupportedEvent` (logged) instead of vanishing.
UNSUPPORTED_UPDATES: dict[str, str] = {
    "business_message": "Telegram Business chats are not supported yet (replies need business_connection_id)",
    "edited_business_message": "Telegram Business chats are not supported yet (replies need business_connection_id)",
    "guest_message": "guest messages are not supported yet (replies need answerGuestQuery)",
}


class TelegramUser(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#user"""

    id: int
    is_bot: bool = False  # absent in the examples of Telegram's own webhook guide
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TelegramChat(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#chat"""

    id: int
    type: str | None = None
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class TelegramPhotoSize(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#photosize"""

    file_id: str
    width: int = 0
    height: int = 0
    file_size: int | None = None


class TelegramFile(msgspec.Struct, forbid_unknown_fields=False):
    """The common part of Document, Voice, Audio, Video, VideoNote and Animation."""

    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


class TelegramSticker(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#sticker (we only show its emoji)."""

    file_id: str = ""
    emoji: str | None = None


class TelegramLocation(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#location"""

    latitude: float
    longitude: float


class TelegramVenue(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#venue"""

    location: TelegramLocation
    title: str = ""
    address: str = ""


class TelegramContact(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#contact"""

    phone_number: str
    first_name: str = ""
    last_name: str | None = None
    user_id: int | None = None


class TelegramReplyTo(msgspec.Struct, forbid_unknown_fields=False):
    """The replied-to message: only its id matters (it is always in the same chat)."""

    message_id: int


class TelegramMessage(msgspec.Struct, forbid_unknown_fields=False):
    """https://core.telegram.org/bots/api#message"""

    message_id: int
    chat: TelegramChat
    date: int
    from_user: TelegramUser | None = msgspec.field(default=None, name="from")
    sender_chat: TelegramChat | None = None
    edit_date: int | None = None
    text: str | None = None
    caption: str | None = None
    photo: list[TelegramPhotoSize] = []
    document: TelegramFile | None = None
    voice: TelegramFile | None = None
    audio: TelegramFile | None = None
    video: TelegramFile | None = None
    video_note: TelegramFile | None = None
    animation: TelegramFile | None = None
    sticker: TelegramSticker | None = None
    location: TelegramLocation | None = None
    venue: TelegramVenue | None = None
    contact: TelegramContact | None = None
    reply_to_message: TelegramReplyTo | None = None
    message_thread_id: int | None = None
    media_group_id: str | None = None
