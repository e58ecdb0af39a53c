"""Attachment store: content-addressed files on the local disk (S3-compatible stores plug in here)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Protocol


class AttachmentStore(Protocol):
    """Where attachment bytes live. Keys are content hashes: storing twice is harmless."""

    async def put(self, data: bytes) -> str: ...

    async def get(self, key: str) -> bytes: ...


class LocalAttachmentStore:
    """Files under `var/attachments/ab/cd/<sha256>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise KeyError(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if not path.exists():
            await asyncio.to_thread(self._write, path, data)
        return key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)
