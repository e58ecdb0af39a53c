"""`WS /api/v1/stream`: live events for the inboxes an agent works."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from agent_console.deps import ConsoleContext
from conversation.access import visible_inbox_ids
from conversation.models import Agent
from conversation.uow import UnitOfWork

MAX_WATCHED = 20


@websocket("/api/v1/stream")
async def stream(
    socket: WebSocket[Agent, Any, Any], console: NamedDependency[ConsoleContext], uow: NamedDependency[UnitOfWork]
) -> None:
    """Send `{type: message.created | message.updated | conversation.updated | ...}` events as they commit.

    Client frames: `{"type": "ping"}` -> `{"type": "pong"}`.
    """
    agent = socket.user
    inbox_ids = await visible_inbox_ids(uow.session, agent)
    await uow.session.close()  # do not hold a connection for the life of the socket
    await socket.accept()
    channels = [f"inbox:{i}" for i in inbox_ids] or [f"agent:{agent.id}"]

    async def forward(data: bytes) -> None:
        await socket.send_text(data.decode())

    async with console.channels.start_subscription(channels) as subscriber, subscriber.run_in_background(forward):
        await socket.send_json({"type": "ready", "inbox_ids": inbox_ids})
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                frame = await socket.receive_text()
                try:
                    command = json.loads(frame)
                except ValueError:
                    continue
                if isinstance(command, dict) and command.get("type") == "ping":
                    await socket.send_json({"type": "pong"})
