"""Outbound Twilio client (the only module here doing network I/O): the official `twilio` SDK to send,
httpx to download inbound media."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from connectors.base import SendFailed

TWILIO_API_ORIGIN = "https://api.twilio.com"
_GENERIC_PREFIXES = ("Unable to create record: ", "Unable to create record")


@dataclass(frozen=True, slots=True)
class TwilioCredentials:
    """What every call needs: the account, its Auth Token, and where the REST API lives."""

    account_sid: str
    auth_token: str
    api_base_url: str | None = None


def _rest_failure(status: int | None, code: int | str | None, message: str) -> SendFailed:
    """A `SendFailed` for a Twilio error answer: 429 and 5xx are retried, other 4xx are final."""
    for prefix in _GENERIC_PREFIXES:
        message = message.removeprefix(prefix)
    message = message.strip(" :") or f"HTTP {status}"
    code_text = str(code) if code is not None else None
    reason = f"Twilio error {code_text}: {message}" if code_text else f"Twilio: {message}"
    retryable = status is None or status >= 500 or status == 429 or code_text == "20429" or status < 400
    return SendFailed(reason, retryable=retryable, code=code_text)


def _summary(message: Any) -> dict[str, Any]:
    """The parts of Twilio's Message resource worth keeping with the receipt."""
    created = getattr(message, "date_created", None)
    return {
        "sid": message.sid,
        "status": str(message.status) if message.status is not None else None,
        "to": message.to,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_segments": message.num_segments,
        "num_media": message.num_media,
        "date_created": created.isoformat() if created is not None else None,
    }


async def create_message(
    credentials: TwilioCredentials,
    *,
    to: str,
    body: str,
    from_: str | None,
    messaging_service_sid: str | None,
    media_urls: list[str],
    status_callback: str | None,
    timeout: float,
) -> dict[str, Any]:
    """`POST /2010-04-01/Accounts/{sid}/Messages.json` through the SDK; return a summary of the resource.

    Raises `SendFailed`: retryable for timeouts, connection errors, 429 and 5xx; final for other 4xx.
    """
    optional = {
        "body": body,
        "messaging_service_sid": messaging_service_sid,
        "from_": from_,
        "media_url": media_urls,
        "status_callback": status_callback,
    }
    # Unset parameters must be left out, not sent empty (the SDK's default is `values.unset`).
    kwargs: dict[str, Any] = {"to": to, **{key: value for key, value in optional.items() if value}}
    http_client = AsyncTwilioHttpClient()
    try:
        client = Client(credentials.account_sid, credentials.auth_token, http_client=http_client)
        if credentials.api_base_url:
            client.api.base_url = credentials.api_base_url.rstrip("/")
        # The SDK's aiohttp client passes timeout=None to aiohttp (no limit at all): bound it here.
        async with asyncio.timeout(timeout):
            message = await client.messages.create_async(**kwargs)
    except TwilioRestException as exc:
        raise _rest_failure(exc.status, exc.code, str(exc.msg or "")) from exc
    except TwilioServiceException as exc:
        raise _rest_failure(exc.status, exc.code, exc.detail or exc.title) from exc
    except TimeoutError as exc:
        raise SendFailed(f"Twilio did not answer within {timeout:g} s", retryable=True) from exc
    except aiohttp.ClientError as exc:
        raise SendFailed(f"Twilio unreachable: {exc.__class__.__name__}", retryable=True) from exc
    except (TwilioException, ValueError) as exc:
        # A 2xx we cannot read: the message may exist, so retrying could send it twice.
        raise SendFailed(f"unreadable answer from Twilio: {exc.__class__.__name__}", retryable=False) from exc
    finally:
        await http_client.close()
    if not message.sid:
        raise SendFailed("Twilio answered without a message SID", retryable=False)
    return _summary(message)


def _rebase(url: str, api_base_url: str | None) -> str:
    """Point Twilio API URLs at `api_base_url` when one is configured (a local fake in tests)."""
    if api_base_url and url.startswith(TWILIO_API_ORIGIN + "/"):
        return api_base_url.rstrip("/") + url[len(TWILIO_API_ORIGIN) :]
    return url


def _is_twilio_host(url: str, api_base_url: str | None) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if api_base_url and host == (urlsplit(api_base_url).hostname or "").lower():
        return True
    return urlsplit(url).scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))


def _download_failure(status: int) -> SendFailed:
    if status == 404:
        return SendFailed("Twilio no longer has this media (404)", retryable=False, code="404")
    if status in (401, 403):
        return SendFailed(f"Twilio refused the media download ({status}): check the credentials", retryable=False)
    return SendFailed(f"Twilio media download failed ({status})", retryable=status >= 500 or status == 429)


async def download_media(credentials: TwilioCredentials, url: str, max_bytes: int, timeout: float) -> bytes:
    """GET one `MediaUrlN` with HTTP Basic auth, following Twilio's redirect to its media store.

    The credentials go only to Twilio (or the configured `api_base_url`); httpx drops the
    Authorization header when the redirect leaves that origin. Raises ValueError past `max_bytes`.
    """
    target = _rebase(url, credentials.api_base_url)
    if not _is_twilio_host(target, credentials.api_base_url):
        raise SendFailed(f"refusing to send Twilio credentials to {urlsplit(target).hostname!r}", retryable=False)
    content = bytearray()
    try:
        async with (
            httpx.AsyncClient(follow_redirects=True, timeout=timeout) as http,
            http.stream("GET", target, auth=(credentials.account_sid, credentials.auth_token)) as response,
        ):
            if response.status_code >= 400:
                raise _download_failure(response.status_code)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ValueError(f"media is {declared} bytes, more than the {max_bytes} allowed")
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > max_bytes:
                    raise ValueError(f"media is larger than the {max_bytes} bytes allowed")
    except httpx.TimeoutException as exc:
        raise SendFailed("Twilio media download timed out", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise SendFailed(f"Twilio media download failed: {exc.__class__.__name__}", retryable=True) from exc
    return bytes(content)
