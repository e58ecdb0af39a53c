"""Publishes committed domain events to consoles and integrators (Litestar Channels).

Each event goes to `inbox:<id>` (every agent of that inbox) and `conversation:<id>` (whoever watches
that thread). With Redis configured the channels backend is Redis pub/sub, so an event committed by
any process reaches the sockets held by every process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any

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

    class NamespacedPubSub(RedisChannelsPubSubBackend):
        """Pub/sub channel names carry the namespace: Litestar's `key_prefix` does not apply to pub/sub
        channels, so two hubs (or test runs) on one Redis would otherwise receive each other's events."""

        prefix = f"{namespace}:"

        async def subscribe(self, channels: Iterable[str]) -> None:
            await super().subscribe([self.prefix + c for c in channels])

        async def unsubscribe(self, channels: Iterable[str]) -> None:
            await super().unsubscribe([self.prefix + c for c in channels])

        async def publish(self, data: bytes, channels: Iterable[str]) -> None:
            await super().publish(data, [self.prefix + c for c in channels])

        async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
            async for channel, data in super().stream_events():
                yield channel.removeprefix(self.prefix), data

    return NamespacedPubSub(redis=Redis.from_url(redis_url), key_prefix=f"{namespace}:channels")


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
                # Queued, in order, to the plugin's publisher task: the response does not wait for Redis.
                self.channels.publish(event.payload(), targets)
            except RuntimeError:
                # Outside a running app (CLI seeding, imports) nobody listens: events are best-effort extras.
                log.debug("channels not started; event %s not published", event.type)
