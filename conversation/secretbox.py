"""Encryption of inbox credentials at rest (Fernet keyed from the hub's secret key)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    """Encrypts and decrypts small JSON documents of secrets."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"omnihub-secrets", info=b"inbox-settings").derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, values: dict[str, Any]) -> str:
        """Encrypt `values` (empty dict -> empty string)."""
        if not values:
            return ""
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        """Decrypt what `seal` produced; raises ValueError when the key changed or data was altered."""
        if not token:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken as exc:
            raise ValueError("cannot decrypt inbox secrets: was OMNIHUB_SECRET_KEY changed?") from exc
