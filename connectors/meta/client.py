"""Graph API client shared by WhatsApp and Messenger (httpx; the only module here doing network I/O).

Meta publishes no official Python SDK for the Cloud API or the Send API, so this is a thin httpx wrapper:
bearer auth, `appsecret_proof` on every Graph call, JSON answers decoded into `payloads` shapes, Graph errors
mapped to `SendFailed`, and size-capped downloads.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import msgspec

from connectors.base import SendFailed
from connectors.http import shared_client
from connectors.meta.payloads import GraphError, GraphErrorBody, WhatsAppErrorData

DEFAULT_GRAPH_BASE_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_API_VERSION = "v24.0"
DEFAULT_TIMEOUT = 15.0

T = TypeVar("T")

# Graph error codes worth retrying: throttling and Meta-side trouble.
# https://developers.facebook.com/docs/graph-api/guides/error-handling
# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
RETRYABLE_CODES: frozenset[int] = frozenset(
    {
        1,  # API unknown (temporary)
        2,  # API service (temporary)
        4,  # application request limit reached
        17,  # user request limit reached
        32,  # page request limit reached
        341,  # application limit reached
        613,  # calls to this API exceeded the rate limit
        80007,  # WhatsApp Business Account rate limit
        130429,  # Cloud API throughput reached
        131000,  # something went wrong (Meta advises to retry)
        131016,  # service unavailable
        131056,  # pair rate limit: too many messages to the same customer, retry later
        133004,  # server temporarily unavailable
    }
)

# Errors that mean "the customer service window is closed": a template (WhatsApp) or a tag (Messenger) is needed.
WINDOW_CLOSED_CODES: frozenset[int] = frozenset({131047})  # WhatsApp "Re-engagement message"
WINDOW_CLOSED_SUBCODES: frozenset[int] = frozenset({2018278})  # Messenger "outside of allowed window"

# Hosts that may receive our bearer token when downloading WhatsApp media (besides the Graph host itself).
_MEDIA_HOST_SUFFIXES = (".fbsbx.com", ".facebook.com", ".fbcdn.net", ".whatsapp.net")


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """`appsecret_proof` = hex HMAC-SHA256(app_secret, access_token), accepted on every Graph call.

    Sent always, so inboxes whose app has "Require App Secret" switched on keep working
    (https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof).
    """
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def send_failed_from_graph(status_code: int, body: bytes) -> SendFailed:
    """Map a Graph API error answer to `SendFailed` (the provider's message as `reason`).

    Retryable: HTTP 5xx and 429, `is_transient`, and the throttling/temporary codes above. Permanent: the rest
    (131047 re-engagement, 100 invalid parameter, 190 expired token, 10/200 permissions, 551 unavailable user...).
    `code` is the Graph error code as a string, or `window_closed` when the customer service window is closed.
    """
    error = _graph_error(body)
    if error is None:
        text = body.decode("utf-8", "replace").strip()[:200]
        reason = f"Graph API answered HTTP {status_code}" + (f": {text}" if text else "")
        return SendFailed(reason, retryable=status_code >= 500 or status_code == 429, code=f"http_{status_code}")
    reason = error.message or f"Graph API answered HTTP {status_code}"
    details = error.error_data.details if isinstance(error.error_data, WhatsAppErrorData) else None
    if details and details not in reason:
        reason = f"{reason} ({details})"
    retryable = status_code >= 500 or status_code == 429 or error.is_transient or error.code in RETRYABLE_CODES
    if error.code in WINDOW_CLOSED_CODES or error.error_subcode in WINDOW_CLOSED_SUBCODES:
        code: str | None = "window_closed"
        retryable = False
    else:
        code = str(error.code) if error.code is not None else f"http_{status_code}"
    return SendFailed(reason, retryable=retryable, code=code)


def _graph_error(body: bytes) -> GraphErrorBody | None:
    try:
        return msgspec.json.decode(body, type=GraphError).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


class GraphClient:
    """One Graph API session for one inbox: `async with GraphClient(...) as graph: await graph.post(...)`."""

    def __init__(
        self,
        *,
        access_token: str,
        app_secret: str | None = None,
        base_url: str = DEFAULT_GRAPH_BASE_URL,
        version: str = DEFAULT_GRAPH_API_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self._token = access_token
        self._proof = appsecret_proof(app_secret, access_token) if app_secret else None
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> GraphClient:
        self._http = shared_client()  # pooled per event loop (connectors/http.py): not closed here
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._http = None

    def url(self, path: str) -> str:
        """`{base_url}/{version}/{path}`."""
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("use GraphClient as an async context manager")
        return self._http

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        params = dict(extra or {})
        if self._proof:
            params["appsecret_proof"] = self._proof
        return params

    async def request(
        self,
        method: str,
        path: str,
        shape: type[T],
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> tuple[T, dict[str, Any]]:
        """Call the Graph API; return the answer as `shape` plus the raw decoded JSON, or raise `SendFailed`."""
        try:
            response = await self._client.request(
                method,
                self.url(path),
                headers=self._auth(),
                params=self._params(params),
                json=json,
                data=data,
                files=files,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise SendFailed("Graph API timed out", retryable=True, code="timeout") from exc
        except httpx.HTTPError as exc:
            raise SendFailed(
                f"Graph API unreachable: {exc.__class__.__name__}", retryable=True, code="network"
            ) from exc
        if response.status_code >= 300:
            raise send_failed_from_graph(response.status_code, response.content)
        try:
            raw = msgspec.json.decode(response.content)
            return msgspec.convert(raw, shape), raw
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # The request went through: retrying could send the message twice.
            raise SendFailed(f"unexpected Graph API answer: {exc}", retryable=False, code="bad_answer") from exc

    def may_receive_token(self, url: str) -> bool:
        """Whether `url` is Meta's (or the configured Graph host), so it may see our bearer token."""
        host = (urlsplit(url).hostname or "").lower()
        return host == (urlsplit(self.base_url).hostname or "").lower() or host.endswith(_MEDIA_HOST_SUFFIXES)

    async def download(self, url: str, *, max_bytes: int, with_token: bool) -> tuple[bytes, str | None]:
        """GET `url` and return (bytes, content type); ValueError past `max_bytes`, `SendFailed` on errors."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise SendFailed(f"not an http(s) URL: {url[:80]}", retryable=False, code="bad_url")
        headers = self._auth() if with_token and self.may_receive_token(url) else {}
        try:
            async with self._client.stream("GET", url, headers=headers, timeout=self._timeout) as response:
                if response.status_code >= 300:
                    await response.aread()
                    raise send_failed_from_graph(response.status_code, response.content)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ValueError(f"attachment is {declared} bytes, more than the {max_bytes} allowed")
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise ValueError(f"attachment is larger than the {max_bytes} bytes allowed")
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("Content-Type")
        except httpx.TimeoutException as exc:
            raise SendFailed("media download timed out", retryable=True, code="timeout") from exc
        except httpx.HTTPError as exc:
            raise SendFailed(
                f"media download failed: {exc.__class__.__name__}", retryable=True, code="network"
            ) from exc
