"""Stateless widget credentials: visitor session tokens and attachment links, signed with the hub's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from connectors.webchat.connector import VISITOR_ID


def _mac(key: str, message: str, length: int = 32) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def new_visitor_id() -> str:
    """A random visitor id (128 bits): the address of the visitor's `webchat` identity."""
    return "v_" + secrets.token_urlsafe(16)


def visitor_token(key: str, inbox_id: int, visitor_id: str) -> str:
    """`<visitor id>.<mac>`: proves the visitor id was minted by this hub for this inbox (no table needed)."""
    return f"{visitor_id}.{_mac(key, f'webchat-visitor:{inbox_id}:{visitor_id}')}"


def read_token(key: str, inbox_id: int, token: str | None) -> str | None:
    """The visitor id inside a valid token for `inbox_id`, else None (the widget then gets a new visitor)."""
    if not token or len(token) > 200:
        return None
    visitor_id, _, mac = token.rpartition(".")
    if not VISITOR_ID.match(visitor_id):
        return None
    expected = _mac(key, f"webchat-visitor:{inbox_id}:{visitor_id}")
    return visitor_id if hmac.compare_digest(mac.encode(), expected.encode()) else None


def file_signature(key: str, attachment_id: int) -> str:
    """The unguessable part of an attachment link handed to the visitor who may see that file."""
    return _mac(key, f"webchat-file:{attachment_id}", 24)


def file_signature_valid(key: str, attachment_id: int, signature: str) -> bool:
    return hmac.compare_digest(file_signature(key, attachment_id).encode(), signature.encode())
