"""A local fake of the Telegram Bot API (methods, file downloads, webhook delivery) for tests.

Usage:
    with FakeTelegram(token=TOKEN) as fake:
        settings = {"bot_token": TOKEN, "secret_token": SECRET, "api_base_url": fake.url}
        receipt = await TelegramConnector().send(message, account)
        fake.calls_to("sendMessage")[-1].params["text"]       # what the bot sent, decoded
        fake.add_file("AgAD...", b"...", file_path="photos/file_0.jpg")   # then getFile + download work
        await register_webhook(account, "https://hub.example.com/webhooks/telegram/1")
        delivery = fake.webhook_delivery({"update_id": 1, "message": {...}})
        # POST delivery.body with delivery.headers to delivery.url, as Telegram would

Answers use the Bot API shapes (https://core.telegram.org/bots/api#making-requests):
`{"ok": true, "result": ...}` and `{"ok": false, "error_code": N, "description": "..."}`; script errors
with `fake.fail_next(*telegram_error(403, "Forbidden: bot was blocked by the user"))` or the helpers
`blocked_chats` / `missing_chats`. Requests may be form-encoded, multipart (uploads) or JSON, as the
Bot API accepts all three; python-telegram-bot sends forms with nested values JSON-encoded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message as MimeMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeProvider, RecordedRequest

DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForOmnihubTests-x"
MAX_DOWNLOAD = 20 * 1024 * 1024  # https://core.telegram.org/bots/api#getfile: "up to 20MB in size"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_JSON_PARAMS = frozenset(
    {"reply_parameters", "reply_markup", "allowed_updates", "entities", "caption_entities", "link_preview_options"}
)


def telegram_error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    """`(status, body)` of a Bot API error, for `fail_next(*telegram_error(...))`.

    `parameters` become the ResponseParameters object, e.g. `retry_after=5` or `migrate_to_chat_id=-100...`.
    """
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str
    content: bytes


@dataclass(frozen=True)
class TelegramCall:
    """One Bot API method call, decoded: JSON-encoded parameters are parsed, uploads kept apart."""

    method: str
    token: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    content_type: str


@dataclass
class StoredFile:
    """A file the fake can serve through getFile and `/file/bot<token>/<file_path>`."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    reported_size: int | None = None  # what getFile claims (defaults to the real size)

    def as_result(self) -> dict[str, Any]:
        size = len(self.content) if self.reported_size is None else self.reported_size
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": size,
            "file_path": self.file_path,
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """An Update as Telegram POSTs it to the registered webhook."""

    url: str
    body: bytes
    headers: dict[str, str]


class ApiError(Exception):
    """Raised inside a method handler to answer with a Bot API error."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status, self.body = telegram_error(code, description, **parameters)


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    document = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in document.iter_parts() if document.is_multipart() else ():
        assert isinstance(part, MimeMessage)
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(content, bytes):
            continue
        filename = part.get_filename()
        if filename is None:
            fields[name] = content.decode("utf-8")
        else:
            files[name] = UploadedFile(filename, part.get_content_type(), content)
    return fields, files


def decode_call(request: RecordedRequest) -> TelegramCall:
    """A recorded Bot API request as method, token, parameters and uploaded files."""
    content_type = request.headers.get("Content-Type", "")
    files: dict[str, UploadedFile] = {}
    raw: dict[str, Any]
    if content_type.startswith("multipart/form-data"):
        raw, files = _parse_multipart(request.body, content_type)
    elif "json" in content_type:
        value = request.json
        raw = value if isinstance(value, dict) else {}
    else:
        raw = {**request.query, **request.form}
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_PARAMS and isinstance(value, str):
            with contextlib.suppress(ValueError):  # not JSON after all: keep the string
                value = json.loads(value)
        params[key] = value
    return TelegramCall(
        method=request.match_info.get("method", ""),
        token=request.match_info.get("token", ""),
        params=params,
        files=files,
        content_type=content_type.split(";")[0],
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram(FakeProvider):
    """The Bot API methods a support inbox uses, on 127.0.0.1.

    Attributes:
        token: the only bot token accepted (others get 401 Unauthorized, as from Telegram).
        calls: every method call, decoded, in order (scripted failures included).
        sent: every message the bot "sent" (the Message objects returned), in order.
        files: files known to getFile, by file_id (uploads land here too).
        webhook: what setWebhook stored (`url`, `secret_token`, `allowed_updates`, ...), or None.
        blocked_chats: chat ids whose user blocked the bot (403 Forbidden).
        missing_chats: chat ids Telegram does not know (400 chat not found).
    """

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456789
        self.sent: list[dict[str, Any]] = []
        self.files: dict[str, StoredFile] = {}
        self.webhook: dict[str, Any] | None = None
        self.blocked_chats: set[int] = set()
        self.missing_chats: set[int] = set()
        self._next_message_id = 1000
        self._methods: dict[str, Callable[[TelegramCall], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }
        super().__init__()

    def routes(self, app: web.Application) -> None:
        for method in ("GET", "POST"):  # the Bot API accepts both
            self.route(method, "/bot{token}/{method}", self._call)
        self.route("GET", "/file/bot{token}/{path:.+}", self._download)

    # -- helpers for tests --------------------------------------------------------------------------
    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's User object, as getMe returns it."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Omnihub Test Bot",
            "username": "omnihub_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @property
    def calls(self) -> list[TelegramCall]:
        """Every Bot API method call received, decoded, in order (file downloads aside)."""
        with self._lock:
            requests = [r for r in self.requests if "method" in r.match_info]
        return [decode_call(request) for request in requests]

    def calls_to(self, method: str) -> list[TelegramCall]:
        """Calls of one Bot API method (e.g. "sendMessage"), in order."""
        return [call for call in self.calls if call.method == method]

    def add_file(
        self, file_id: str, content: bytes, *, file_path: str | None = None, reported_size: int | None = None
    ) -> StoredFile:
        """Make `file_id` downloadable (getFile, then GET /file/bot<token>/<file_path>)."""
        unique = hashlib.sha256(file_id.encode()).hexdigest()[:16]
        stored = StoredFile(file_id, unique, file_path or f"documents/file_{len(self.files)}", content, reported_size)
        with self._lock:
            self.files[file_id] = stored
        return stored

    def webhook_delivery(self, update: dict[str, Any], *, secret_token: str | None = None) -> WebhookDelivery:
        """The POST Telegram makes to the registered webhook for `update` (secret header included)."""
        if self.webhook is None or not self.webhook.get("url"):
            raise RuntimeError("no webhook is set on this fake: call setWebhook first")
        headers = {"Content-Type": "application/json"}
        secret = secret_token if secret_token is not None else self.webhook.get("secret_token")
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return WebhookDelivery(url=self.webhook["url"], body=json.dumps(update).encode(), headers=headers)

    # -- routes -------------------------------------------------------------------------------------
    def _call(self, request: RecordedRequest) -> web.Response:
        call = decode_call(request)
        try:
            if call.token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(call.method)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(call)
        except ApiError as exc:
            return web.json_response(exc.body, status=exc.status)
        body: dict[str, Any] = {"ok": True, "result": result}
        if call.method in ("setWebhook", "deleteWebhook"):
            body["description"] = "Webhook was set" if call.method == "setWebhook" else "Webhook was deleted"
        return web.json_response(body)

    def _download(self, request: RecordedRequest) -> web.Response:
        if request.match_info.get("token") != self.token:
            status, body = telegram_error(401, "Unauthorized")
            return web.json_response(body, status=status)
        path = request.match_info.get("path", "")
        with self._lock:
            stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            status, body = telegram_error(404, "Not Found")
            return web.json_response(body, status=status)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # -- methods ------------------------------------------------------------------------------------
    def _get_me(self, call: TelegramCall) -> dict[str, Any]:
        return self.bot_user

    def _chat(self, call: TelegramCall) -> dict[str, Any]:
        raw = str(call.params.get("chat_id", "")).strip()
        if not raw:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if raw.startswith("@"):
            return {"id": -1001000000000 - len(raw), "title": raw[1:], "username": raw[1:], "type": "channel"}
        if not re.fullmatch(r"-?[0-9]+", raw):
            raise ApiError(400, "Bad Request: chat not found")
        chat_id = int(raw)
        if chat_id in self.missing_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id > 0:
            return {"id": chat_id, "first_name": "Customer", "type": "private"}
        return {"id": chat_id, "title": "Support group", "type": "supergroup"}

    def _new_message(self, call: TelegramCall, chat: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        with self._lock:
            self._next_message_id += 1
            message_id = self._next_message_id
        message: dict[str, Any] = {"message_id": message_id, "from": self.bot_user, "chat": chat, "date": now}
        reply = call.params.get("reply_parameters")
        reply_id = reply.get("message_id") if isinstance(reply, dict) else call.params.get("reply_to_message_id")
        if reply_id is not None:
            message["reply_to_message"] = {"message_id": int(reply_id), "chat": chat, "date": now - 60, "text": "…"}
        message.update(content)
        with self._lock:
            self.sent.append(message)
        return message

    def _send_message(self, call: TelegramCall) -> dict[str, Any]:
        chat = self._chat(call)
        text = str(call.params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._new_message(call, chat, {"text": text})

    def _caption(self, call: TelegramCall) -> dict[str, Any]:
        caption = call.params.get("caption")
        if caption and _utf16_len(str(caption)) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return {"caption": caption} if caption else {}

    def _media(self, call: TelegramCall, field_name: str) -> tuple[StoredFile, UploadedFile | None]:
        upload = call.files.get(field_name)
        if upload is not None and not upload.content:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if upload is not None:
            file_id = f"{field_name}-{hashlib.sha256(upload.content).hexdigest()[:24]}"
            stored = self.add_file(file_id, upload.content, file_path=f"{field_name}s/{upload.filename or file_id}")
            return stored, upload
        reference = call.params.get(field_name)
        if not isinstance(reference, str) or not reference:
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        with self._lock:
            known = self.files.get(reference)
        if known is None and not reference.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return known or self.add_file(reference, b"", file_path=f"{field_name}s/remote"), None

    def _send_photo(self, call: TelegramCall) -> dict[str, Any]:
        chat = self._chat(call)
        caption = self._caption(call)
        stored, _ = self._media(call, "photo")
        size = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": 800, "height": 600}
        photo = [{**size, "file_size": len(stored.content)}]
        return self._new_message(call, chat, {"photo": photo, **caption})

    def _send_document(self, call: TelegramCall) -> dict[str, Any]:
        chat = self._chat(call)
        caption = self._caption(call)
        stored, upload = self._media(call, "document")
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": upload.filename if upload else stored.file_path.rsplit("/", 1)[-1],
            "mime_type": upload.content_type if upload else "application/octet-stream",
            "file_size": len(stored.content),
        }
        return self._new_message(call, chat, {"document": document, **caption})

    def _get_file(self, call: TelegramCall) -> dict[str, Any]:
        with self._lock:
            stored = self.files.get(str(call.params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_result()

    def _set_webhook(self, call: TelegramCall) -> bool:
        url = str(call.params.get("url", ""))
        if url and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = call.params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = call.params.get("allowed_updates")
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed if isinstance(allowed, list) else None,
            "drop_pending_updates": call.params.get("drop_pending_updates"),
            "max_connections": call.params.get("max_connections"),
        }
        return True

    def _delete_webhook(self, call: TelegramCall) -> bool:
        self.webhook = None
        return True

    def _get_webhook_info(self, call: TelegramCall) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if self.webhook:
            info["url"] = self.webhook["url"]
            if self.webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info
