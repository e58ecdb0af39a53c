"""Outbound Telegram Bot API client on python-telegram-bot (the only module here doing network I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from telegram import Bot, Message, ReplyParameters
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from connectors.base import InboxConfig, SendFailed
from connectors.telegram.payloads import MESSAGE_UPDATES
from conversation.types import Attachment

DEFAULT_API_ROOT = "https://api.telegram.org"
DEFAULT_TIMEOUT = 10.0
UPLOAD_TIMEOUT = 60.0  # write timeout for file uploads (PTB's `media_write_timeout`)

#: https://core.telegram.org/bots/api#setwebhook: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and -".
SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: The shape of a token from @BotFather, e.g. `110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw`.
BOT_TOKEN_RE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")

#: Telegram error class -> (our code, retryable). Looked up along the exception's MRO, most specific
#: first, because PTB's `BadRequest` and `TimedOut` are subclasses of `NetworkError`.
_ERRORS: dict[type[TelegramError], tuple[str, bool]] = {
    RetryAfter: ("429", True),  # flood control; the reason carries Telegram's "retry in N seconds"
    TimedOut: ("timeout", True),
    BadRequest: ("400", False),
    Forbidden: ("403", False),  # bot blocked by the user, kicked from the group, ...
    InvalidToken: ("invalid_token", False),  # PTB raises it for 401 and 404 (a revoked or mistyped token)
    Conflict: ("409", False),
    ChatMigrated: ("chat_migrated", False),  # the group became a supergroup with a new chat id
    EndPointNotFound: ("404", False),
    NetworkError: ("network", True),  # connection errors, 5xx and any status PTB does not name
}


def to_send_failed(exc: TelegramError) -> SendFailed:
    """Map a python-telegram-bot error to `SendFailed`, keeping Telegram's own description as reason."""
    for cls in type(exc).__mro__:
        if cls in _ERRORS:
            code, retryable = _ERRORS[cls]
            return SendFailed(exc.message or type(exc).__name__, retryable=retryable, code=code)
    # A bare TelegramError is an unreadable answer (e.g. a proxy's HTML page): worth another try.
    return SendFailed(exc.message or "invalid answer from the Telegram Bot API", retryable=True, code="telegram")


@contextmanager
def provider_errors() -> Iterator[None]:
    """Translate python-telegram-bot errors raised inside the block into `SendFailed`."""
    try:
        yield
    except TelegramError as exc:
        raise to_send_failed(exc) from exc
    except (ValueError, TypeError) as exc:  # PTB refusing our arguments before any request: never retry
        raise SendFailed(f"invalid Telegram request: {exc}", retryable=False, code="invalid_request") from exc


def _root(value: Any) -> str:
    """A Bot API server root without trailing slash; PTB-style values ending in /bot are accepted too."""
    root = str(value or "").strip().rstrip("/")
    for suffix in ("/file/bot", "/bot"):
        root = root.removesuffix(suffix)
    return root


def api_urls(settings: Mapping[str, Any]) -> tuple[str, str]:
    """PTB's `base_url` and `base_file_url` for an inbox (the token is appended by PTB)."""
    api = _root(settings.get("api_base_url")) or DEFAULT_API_ROOT
    files = _root(settings.get("api_file_base_url")) or api
    return f"{api}/bot", f"{files}/file/bot"


def settings_problems(settings: Mapping[str, Any]) -> list[str]:
    """Format problems in Telegram settings (missing keys are reported by `SettingsSpec.validate`)."""
    problems: list[str] = []
    secret = settings.get("secret_token")
    if secret not in (None, "") and not (isinstance(secret, str) and SECRET_TOKEN_RE.fullmatch(secret)):
        problems.append("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
    token = settings.get("bot_token")
    if token not in (None, "") and not (isinstance(token, str) and BOT_TOKEN_RE.fullmatch(token)):
        problems.append("bot_token does not look like a token from @BotFather (digits, a colon, then letters)")
    for key in ("api_base_url", "api_file_base_url"):
        url = settings.get(key)
        if url not in (None, "") and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            problems.append(f"{key} must be an http(s) URL")
    return problems


def _reply(reply_to: int | None) -> ReplyParameters | None:
    # allow_sending_without_reply: a customer who deleted their message still gets the answer.
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None


def sends_as_photo(attachment: Attachment) -> bool:
    """JPEG and PNG up to Telegram's 10 MB photo limit go out as photos; everything else as documents."""
    size = attachment.size if attachment.size is not None else len(attachment.content or b"")
    return attachment.content_type.lower() in {"image/jpeg", "image/png"} and size <= 10 * 1024 * 1024


class TelegramClient:
    """One short-lived Bot API session for one inbox: `async with TelegramClient(settings) as client`.

    The bot is never `initialize()`d: that would call getMe before every reply, and PTB needs it only to
    cache the bot's own user. The HTTP client is ours, so `__aexit__` closes it.
    """

    def __init__(self, settings: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        token = settings.get("bot_token")
        if not isinstance(token, str) or not token:
            raise SendFailed("this Telegram inbox has no bot_token", retryable=False, code="invalid_settings")
        base_url, base_file_url = api_urls(settings)
        self._request = HTTPXRequest(
            connection_pool_size=4,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
            media_write_timeout=max(timeout, UPLOAD_TIMEOUT),
        )
        self.bot = Bot(
            token,
            base_url=base_url,
            base_file_url=base_file_url,
            request=self._request,
            get_updates_request=self._request,
        )

    async def __aenter__(self) -> TelegramClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._request.shutdown()

    async def send_text(self, chat_id: int | str, text: str, reply_to: int | None = None) -> Message:
        """sendMessage (https://core.telegram.org/bots/api#sendmessage), plain text, at most 4096 characters."""
        with provider_errors():
            return await self.bot.send_message(chat_id=chat_id, text=text, reply_parameters=_reply(reply_to))

    async def send_file(
        self, chat_id: int | str, attachment: Attachment, caption: str | None = None, reply_to: int | None = None
    ) -> Message:
        """sendPhoto for JPEG/PNG, sendDocument otherwise; a photo Telegram refuses is resent as a document."""
        payload: bytes | str
        if attachment.content is not None:
            payload = attachment.content
        elif attachment.source_url and attachment.source_url.startswith(("https://", "http://")):
            # Telegram downloads the URL itself. Only http(s): PTB would upload a *local path* string.
            payload = attachment.source_url
        else:
            raise SendFailed(
                f"attachment {attachment.filename!r} has no content to send", retryable=False, code="no_content"
            )
        if sends_as_photo(attachment):
            try:
                with provider_errors():
                    return await self.bot.send_photo(
                        chat_id=chat_id,
                        photo=payload,
                        filename=attachment.filename,
                        caption=caption,
                        reply_parameters=_reply(reply_to),
                    )
            except SendFailed as exc:
                if exc.code != "400":  # e.g. PHOTO_INVALID_DIMENSIONS: the same bytes go as a file
                    raise
        with provider_errors():
            return await self.bot.send_document(
                chat_id=chat_id,
                document=payload,
                filename=attachment.filename,
                caption=caption,
                reply_parameters=_reply(reply_to),
            )

    async def download(self, file_id: str, max_bytes: int) -> bytes:
        """getFile, then the file URL; `ValueError` past `max_bytes` (checked before and after download)."""
        with provider_errors():
            file = await self.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > max_bytes:
            raise ValueError(f"Telegram file is {file.file_size} bytes, more than the {max_bytes} allowed")
        try:
            with provider_errors():
                data = await file.download_as_bytearray()
        except RuntimeError as exc:  # PTB: the file has no file_path (Telegram could not serve it)
            raise SendFailed(
                f"Telegram gave no download path for this file: {exc}", retryable=False, code="no_file_path"
            ) from exc
        if len(data) > max_bytes:
            raise ValueError(f"Telegram file is {len(data)} bytes, more than the {max_bytes} allowed")
        return bytes(data)

    async def set_webhook(self, url: str, secret_token: str, allowed_updates: Iterable[str]) -> None:
        """setWebhook (https://core.telegram.org/bots/api#setwebhook) with our secret token."""
        with provider_errors():
            accepted = await self.bot.set_webhook(
                url=url, secret_token=secret_token, allowed_updates=list(allowed_updates)
            )
        if not accepted:
            raise SendFailed("Telegram did not accept the webhook", retryable=True, code="telegram")


async def register_webhook(account: InboxConfig, webhook_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Point the inbox's bot at `webhook_url` with its `secret_token` (the `omnihub` command/API calls this).

    Asks Telegram only for the update types we turn into messages (`message`, `edited_message`).
    Raises `SendFailed` with a one-line reason when the settings are unusable or Telegram refuses
    (e.g. "Bad webhook: An HTTPS URL must be provided for webhook").
    """
    secret = account.settings.get("secret_token")
    if not isinstance(secret, str) or not SECRET_TOKEN_RE.fullmatch(secret):
        raise SendFailed(
            "secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -", retryable=False, code="invalid_settings"
        )
    async with TelegramClient(account.settings, timeout=timeout) as client:
        await client.set_webhook(webhook_url, secret, MESSAGE_UPDATES)
