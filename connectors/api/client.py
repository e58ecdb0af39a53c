"""Outbound HTTP client for the `api` channel (the only module here doing network I/O)."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from connectors.base import SendFailed
from connectors.http import shared_client


def sign(secret: str, body: bytes) -> str:
    """The `X-Omnihub-Signature` header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_signed(url: str, secret: str, body: bytes, timeout: float = 10.0) -> httpx.Response:
    """POST a signed JSON body; map transport errors and 5xx to a retryable `SendFailed`."""
    headers = {"Content-Type": "application/json", "X-Omnihub-Signature": sign(secret, body)}
    try:
        response = await shared_client().post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SendFailed(f"callback unreachable: {exc.__class__.__name__}", retryable=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise SendFailed(f"callback answered {response.status_code}", retryable=True)
    if response.status_code >= 400:
        raise SendFailed(f"callback refused the message ({response.status_code})", retryable=False)
    return response
