"""Publishes committed domain events to consoles and integrators (Litestar Channels).

Each event goes to `inbox:<id>` (every agent of that inbox) and `conversation:<id>` (whoever watches
that thread). With Redis configured the channels backend is Redis pub/sub, so an event committed by
any process reaches the sockets held by every process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from conversation.events import DomainEvent

log = logging.getLogger(__name__)


def inbox_channel(inbox_id: int) -> str:
    return f"inbox:{inbox_id}"


def conversation_channel(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def create_backend(redis_url: str | None, namespace: str) -> ChannelsBackend:
    """Redis pub/sub across processes, or memory within one."""
    if not redis_url:
        return MemoryChannelsBackend()
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend
    from redis.asyncio import Redis

    return RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url), key_prefix=f"{namespace}:channels")


def create_channels(redis_url: str | None, namespace: str) -> ChannelsPlugin:
    """The channels plugin; slow sockets drop their oldest events rather than block publishers."""
    return ChannelsPlugin(
        create_backend(redis_url, namespace),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )


class Publisher:
    """Sends domain events to their channels once their transaction has committed."""

    def __init__(self, channels: ChannelsPlugin) -> None:
        self.channels = channels

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            targets = []
            if event.inbox_id is not None:
                targets.append(inbox_channel(event.inbox_id))
            if event.conversation_id is not None:
                targets.append(conversation_channel(event.conversation_id))
            if not targets:
                continue
            try:
                await self.channels.wait_published(event.payload(), targets)
            except RuntimeError:
                # Outside a running app (CLI seeding, imports) the in-memory backend has no listeners.
                log.debug("channels backend not started; event %s not published", event.type)
