"""Collision notices: who views or types in a conversation, kept in the app's shared store.

The bookkeeping rules live in `conversation.presence`; this module keeps the entries in the `console`
store (Redis when configured, so every process sees every agent) and publishes `presence` events on the
conversation's channel. The customer-facing `typing` event is the web chat's job
(`POST /api/v1/conversations/{id}/typing`), which the console calls for replies, never for notes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.stores.base import Store

from conversation import presence
from conversation.models import Agent

STORE_NAME = "console"


def _key(conversation_id: int) -> str:
    return f"presence:{conversation_id}"


def conversation_channel(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


class PresenceBoard:
    """Reads and writes presence entries for conversations (read-modify-write; renewals heal races)."""

    def __init__(self, store: Store, channels: ChannelsPlugin) -> None:
        self.store = store
        self.channels = channels

    async def _load(self, conversation_id: int) -> dict[str, Any]:
        raw = await self.store.get(_key(conversation_id))
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    async def _save(self, conversation_id: int, entries: dict[str, Any]) -> None:
        if entries:
            await self.store.set(_key(conversation_id), json.dumps(entries), expires_in=int(presence.VIEWING_TTL) + 5)
        else:
            await self.store.delete(_key(conversation_id))

    async def viewers(self, conversation_id: int) -> list[dict[str, Any]]:
        """`[{id, name, state}]` of the agents in the conversation now."""
        return presence.present(await self._load(conversation_id), time.time())

    async def touch(self, conversation_id: int, agent: Agent, *, typing: bool = False, private: bool = False) -> None:
        """`agent` views (or types in) the conversation: record it and tell the other viewers."""
        now = time.time()
        entries = presence.touch(
            await self._load(conversation_id), agent.id or 0, agent.name, now, typing=typing, private=private
        )
        await self._save(conversation_id, entries)
        # Always published: viewers expire a "typing" state they stop hearing about after a few seconds.
        await self._publish_presence(conversation_id, entries, now)

    async def leave(self, conversation_id: int, agent: Agent) -> None:
        """`agent` closed the conversation or went away."""
        now = time.time()
        entries = presence.leave(await self._load(conversation_id), agent.id or 0, now)
        await self._save(conversation_id, entries)
        await self._publish_presence(conversation_id, entries, now)

    async def _publish_presence(self, conversation_id: int, entries: dict[str, Any], now: float) -> None:
        event = {"type": "presence", "conversation_id": conversation_id, "agents": presence.present(entries, now)}
        await self.channels.wait_published(event, [conversation_channel(conversation_id)])
