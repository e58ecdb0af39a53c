"""`WS /api/v1/stream`: live events for the inboxes an agent works, and collision notices.

Client frames (JSON):
- `{"type": "ping"}` -> `{"type": "pong"}`;
- `{"type": "watch", "conversation_id": N}`: the agent has conversation N open (renew every ~20 s).
  The socket then also receives `presence` events (`{type, conversation_id, agents: [{id, name,
  state: viewing|typing|typing_note}]}`) and `typing` events for N;
- `{"type": "typing", "conversation_id": N, "private": false}`: the agent is typing a reply (or, with
  `private: true`, a note) in N; throttle to one every few seconds. Publishes `presence` for the
  collision notice. (The customer-facing `typing` event comes from `POST .../conversations/{id}/typing`.)
- `{"type": "unwatch"}`: the agent closed the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_console.deps import ConsoleContext
from agent_console.presence import STORE_NAME, PresenceBoard, conversation_channel
from conversation.access import may_see_conversation, visible_inbox_ids
from conversation.models import Agent
from conversation.uow import UnitOfWork

#: Events of a watched conversation's channel this socket forwards (the rest arrive via the inbox).
_WATCH_EVENTS = frozenset({"presence", "typing"})


class Watch:
    """The conversation one socket has open: its presence entry and a filtered subscription."""

    def __init__(
        self,
        socket: WebSocket[Agent, Any, Any],
        channels: ChannelsPlugin,
        board: PresenceBoard,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.socket = socket
        self.channels = channels
        self.board = board
        self.sessions = sessions
        self.conversation_id: int | None = None
        self._subscriber: Subscriber | None = None
        self._task: asyncio.Task[None] | None = None

    async def watch(self, conversation_id: int) -> None:
        agent = self.socket.user
        if conversation_id != self.conversation_id:
            async with self.sessions() as session:
                if not await may_see_conversation(session, agent, conversation_id):
                    return
            await self.unwatch()
            self._subscriber = await self.channels.subscribe([conversation_channel(conversation_id)])
            self._task = asyncio.create_task(self._forward(self._subscriber))
            self.conversation_id = conversation_id
        await self.board.touch(conversation_id, agent)

    async def typing(self, conversation_id: int, private: bool) -> None:
        if conversation_id == self.conversation_id:
            await self.board.touch(conversation_id, self.socket.user, typing=True, private=private)

    async def unwatch(self) -> None:
        if self.conversation_id is None:
            return
        conversation_id, self.conversation_id = self.conversation_id, None
        if self._subscriber is not None:
            await self.channels.unsubscribe(self._subscriber)
            self._subscriber = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.board.leave(conversation_id, self.socket.user)

    async def _forward(self, subscriber: Subscriber) -> None:
        async for raw in subscriber.iter_events():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("type") in _WATCH_EVENTS:
                await self.socket.send_text(raw.decode() if isinstance(raw, bytes) else str(raw))


def _cross_site(socket: WebSocket[Any, Any, Any]) -> bool:
    """A cookie-authenticated socket opened by another site's page (cross-site WebSocket hijacking)."""
    if (socket.auth or {}).get("method") != "session":
        return False
    origin = socket.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc != socket.headers.get("host", "")


async def _handle(frame: str, socket: WebSocket[Agent, Any, Any], watch: Watch) -> None:
    try:
        command = json.loads(frame)
    except ValueError:
        return
    if not isinstance(command, dict):
        return
    kind = command.get("type")
    conversation_id = command.get("conversation_id")
    if kind == "ping":
        await socket.send_json({"type": "pong"})
    elif kind == "watch" and isinstance(conversation_id, int):
        await watch.watch(conversation_id)
    elif kind == "typing" and isinstance(conversation_id, int):
        await watch.typing(conversation_id, bool(command.get("private")))
    elif kind == "unwatch":
        await watch.unwatch()


@websocket("/api/v1/stream")
async def stream(
    socket: WebSocket[Agent, Any, Any], console: NamedDependency[ConsoleContext], uow: NamedDependency[UnitOfWork]
) -> None:
    """Send `{type: message.created | message.updated | conversation.updated | ...}` events as they commit.

    See the module docstring for the frames a client may send.
    """
    agent = socket.user
    if _cross_site(socket):
        await socket.close(code=4403, reason="cross-site socket refused")
        return
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    await uow.session.close()  # do not hold a connection for the life of the socket
    await socket.accept()
    channels = [f"inbox:{i}" for i in inbox_ids] or [f"agent:{agent.id}"]
    board = PresenceBoard(socket.app.stores.get(STORE_NAME), console.channels)
    watch = Watch(socket, console.channels, board, socket.app.state["sessions"])

    async def forward(data: bytes) -> None:
        await socket.send_text(data.decode())

    async with console.channels.start_subscription(channels) as subscriber, subscriber.run_in_background(forward):
        await socket.send_json({"type": "ready", "inbox_ids": inbox_ids, "agent_id": agent.id})
        try:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await _handle(await socket.receive_text(), socket, watch)
        finally:
            with contextlib.suppress(Exception):
                await watch.unwatch()
