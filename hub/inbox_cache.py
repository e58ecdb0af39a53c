"""Inbox rows and their decrypted configuration, kept a few seconds per process.

Webhooks, the web chat and the outbound worker look an inbox up on every request or send: the cache
saves a query and a Fernet decryption each time. An admin's change reaches every process within the
TTL; the process that made it forgets the entry at once.
"""

from __future__ import annotations

import time

from connectors.base import InboxConfig
from conversation.models import Inbox
from hub.services import Services

TTL_SECONDS = 5.0


class InboxCache:
    def __init__(self, services: Services, ttl: float = TTL_SECONDS) -> None:
        self.services = services
        self.ttl = ttl
        self._rows: dict[int, tuple[float, Inbox, InboxConfig]] = {}

    async def get(self, inbox_id: int) -> tuple[Inbox, InboxConfig] | None:
        hit = self._rows.get(inbox_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1], hit[2]
        async with self.services.sessions() as session:
            inbox = await session.get(Inbox, inbox_id)
        if inbox is None:
            self._rows.pop(inbox_id, None)
            return None
        config = self.services.inbox_config(inbox)
        self._rows[inbox_id] = (time.monotonic(), inbox, config)
        return inbox, config

    def forget(self, inbox_id: int) -> None:
        self._rows.pop(inbox_id, None)


def inbox_cache(services: Services) -> InboxCache:
    """This process's cache (one per Services)."""
    cache = services.extras.get("inbox_cache")
    if cache is None:
        cache = services.extras["inbox_cache"] = InboxCache(services)
    return cache  # type: ignore[no-any-return]
