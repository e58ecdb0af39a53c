"""Outbound Slack client: slack-sdk's AsyncWebClient plus private-file downloads (the only I/O here).

Every Slack failure is mapped to `SendFailed` with Slack's own error code as `code`:
https://docs.slack.dev/apis/web-api/#responses (errors are HTTP 200 `{"ok": false, "error": "..."}`),
https://docs.slack.dev/apis/web-api/rate-limits (HTTP 429, `Retry-After`, `error: ratelimited`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from connectors.base import SendFailed
from conversation.types import Attachment

DEFAULT_API_BASE_URL = "https://slack.com/api/"

#: Slack error codes worth retrying; every other `error` is permanent (bad channel, auth, scopes, content).
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

#: Hosts that may receive the bot token when downloading `url_private` files.
_SLACK_FILE_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com")


def api_base_url(settings: dict[str, Any]) -> str:
    """The Web API base URL, always with the trailing slash slack-sdk needs (LIBRARIES.md, section 2)."""
    base = str(settings.get("api_base_url") or DEFAULT_API_BASE_URL)
    return base if base.endswith("/") else base + "/"


def _failure(method: str, exc: SlackApiError) -> SendFailed:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    retry_after = (getattr(response, "headers", None) or {}).get("Retry-After")
    retryable = status == 429 or status >= 500 or error in RETRYABLE_ERRORS
    code = error or f"http_{status}"
    reason = f"Slack {method} failed: {code}"
    if retry_after:
        reason += f" (retry after {retry_after}s)"
    return SendFailed(reason, retryable=retryable, code=code)


class SlackClient:
    """A thin wrapper around `AsyncWebClient` that speaks `SendFailed`.

    Retries are left to the hub's outbox (`retry_handlers=[]`): a connection retry inside the SDK could
    post a message twice without the outbox knowing.
    """

    def __init__(self, token: str, base_url: str = DEFAULT_API_BASE_URL, timeout: float = 10.0) -> None:
        self.token = token
        self.base_url = base_url
        self.timeout = timeout
        self.web = AsyncWebClient(token=token, base_url=base_url, timeout=max(1, round(timeout)), retry_handlers=[])

    async def _call(self, method: str, call: Awaitable[Any]) -> dict[str, Any]:
        try:
            response = await call
        except SlackApiError as exc:
            raise _failure(method, exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SendFailed(f"Slack {method} unreachable: {exc.__class__.__name__}", retryable=True) from exc
        except SlackRequestError as exc:  # raised by files_upload_v2 when the upload URL refuses the bytes
            raise SendFailed(f"Slack {method} failed: {exc}", retryable=True, code="upload_failed") from exc
        except SlackClientError as exc:
            raise SendFailed(f"Slack {method} failed: {exc}", retryable=False) from exc
        data = response.data
        return data if isinstance(data, dict) else {}

    async def post_message(self, channel: str, text: str, thread_ts: str | None) -> dict[str, Any]:
        """`chat.postMessage`; returns Slack's answer (`channel`, `ts`, `message`)."""
        return await self._call(
            "chat.postMessage", self.web.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts)
        )

    async def upload_files(
        self, channel: str, thread_ts: str | None, comment: str | None, attachments: list[Attachment]
    ) -> dict[str, Any]:
        """Share files (with `comment` as the message text) through `files_upload_v2`: one visible message."""
        uploads = [{"content": a.content, "filename": a.filename, "title": a.filename} for a in attachments]
        return await self._call(
            "files.completeUploadExternal",
            self.web.files_upload_v2(
                file_uploads=uploads, channel=channel, thread_ts=thread_ts, initial_comment=comment or None
            ),
        )

    async def open_dm(self, user_id: str) -> str:
        """The id of the bot's direct-message channel with `user_id` (`conversations.open`)."""
        data = await self._call("conversations.open", self.web.conversations_open(users=user_id))
        channel = data.get("channel")
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if not channel_id:
            raise SendFailed("Slack conversations.open returned no channel", retryable=False, code="no_channel")
        return str(channel_id)

    async def user_info(self, user_id: str) -> dict[str, Any]:
        """The user object from `users.info` (needs `users:read`, and `users:read.email` for the email)."""
        data = await self._call("users.info", self.web.users_info(user=user_id))
        user = data.get("user")
        return user if isinstance(user, dict) else {}

    async def file_info(self, file_id: str) -> dict[str, Any]:
        """The file object from `files.info` (Slack Connect file stubs must be resolved this way)."""
        data = await self._call("files.info", self.web.files_info(file=file_id))
        file = data.get("file")
        return file if isinstance(file, dict) else {}

    def _may_receive_token(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        api_host = (urlsplit(self.base_url).hostname or "").lower()
        return host == api_host or any(host == h or host.endswith("." + h) for h in _SLACK_FILE_HOSTS)

    async def download(self, url: str, max_bytes: int, expected_type: str | None = None) -> bytes:
        """GET a `url_private` with the bot token (https://docs.slack.dev/messaging/working-with-files/).

        Raises ValueError past `max_bytes`, `SendFailed` otherwise. The token only goes to Slack's hosts
        (or the configured API host, for tests against a fake).
        """
        if not self._may_receive_token(url):
            raise SendFailed(
                f"refusing to send the Slack token to {urlsplit(url).hostname}", retryable=False, code="foreign_host"
            )
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as http,
                http.stream("GET", url, headers=headers) as response,
            ):
                _check_download_status(response, expected_type)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ValueError(f"Slack file is {declared} bytes, over the {max_bytes}-byte limit")
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise ValueError(f"Slack file exceeds the {max_bytes}-byte limit")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise SendFailed(f"Slack file download failed: {exc.__class__.__name__}", retryable=True) from exc
        return b"".join(chunks)


def _check_download_status(response: httpx.Response, expected_type: str | None) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise SendFailed(f"Slack file download answered {status}", retryable=True, code=f"http_{status}")
    if status >= 400:
        raise SendFailed(f"Slack file download answered {status}", retryable=False, code=f"http_{status}")
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/html") and not (expected_type or "").startswith("text/html"):
        # Without a token carrying `files:read`, Slack answers url_private with its HTML sign-in page.
        raise SendFailed(
            "Slack returned a sign-in page instead of the file: the app needs the files:read scope",
            retryable=False,
            code="missing_files_read",
        )
