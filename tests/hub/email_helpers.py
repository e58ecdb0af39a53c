"""Shared pieces of the email hub tests: a Dovecot per module, waiting, reading what was stored."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient

from conversation.models import Message
from hub.storage.engine import SessionFactory
from tests.fakes.dovecot import Dovecot, DovecotUnavailable

T = TypeVar("T")


def start_dovecot(extra_config: str = "") -> Iterator[Dovecot]:
    """A running Dovecot for a test module; skips (saying why) when Dovecot cannot be installed or run.

    Its directory is made under the system temp dir, not pytest's (mode 0700 there): Dovecot's own
    processes run as other users and must reach the mail homes.
    """
    root = Path(tempfile.mkdtemp(prefix="omnihub-dovecot-"))
    server = Dovecot(root, extra_config)
    try:
        server.start()
    except DovecotUnavailable as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"no real IMAP server for this test: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def wait_for(predicate: Callable[[], Awaitable[T]], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s (last value {value!r})")
        await asyncio.sleep(0.05)


async def stored_ids(db: SessionFactory, inbox_id: int) -> list[str]:
    """External ids of the inbound messages stored for an inbox, in insertion order."""
    async with db() as session:
        rows = await session.exec(
            sa.select(Message.external_id)  # type: ignore[call-overload]
            .where(Message.inbox_id == inbox_id, Message.direction == "inbound")
            .order_by(Message.id)
        )
        return [row[0] for row in rows.all()]


def mailbox_state(server: Dovecot, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
    """UID -> flags of every message in a folder, read over IMAP like any client."""
    with IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(user, "secret")
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        return {int(uid): tuple(data[b"FLAGS"]) for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}
