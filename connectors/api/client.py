"""Outbound HTTP client for the `api` channel (the only module here doing network I/O)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import weakref

import httpx

from connectors.base import SendFailed

# One pooled client per event loop, kept for the life of the loop: building an httpx client loads the
# CA bundle (~35 ms of CPU, which capped a worker at ~15 replies/s in bench/outbound.py), and a kept
# client reuses its keep-alive connections to the callback host. Keyed by loop because a client's
# connections belong to the loop that opened them.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        _clients[loop] = client
    return client


def sign(secret: str, body: bytes) -> str:
    """The `X-Omnihub-Signature` header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_signed(url: str, secret: str, body: bytes, timeout: float = 10.0) -> httpx.Response:
    """POST a signed JSON body; map transport errors and 5xx to a retryable `SendFailed`."""
    headers = {"Content-Type": "application/json", "X-Omnihub-Signature": sign(secret, body)}
    try:
        response = await _client().post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SendFailed(f"callback unreachable: {exc.__class__.__name__}", retryable=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise SendFailed(f"callback answered {response.status_code}", retryable=True)
    if response.status_code >= 400:
        raise SendFailed(f"callback refused the message ({response.status_code})", retryable=False)
    return response
