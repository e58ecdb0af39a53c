"""Helpers for web chat tests: a webchat inbox, the shop's HMAC, and a WebSocket visitor client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from conversation.models import Inbox
from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.factories import make_inbox

SHOP_SECRET = "shop-widget-secret"
SITE = "http://127.0.0.1:1"  # replaced by a test's own origin where a browser is involved


def shop_hash(value: str, secret: str = SHOP_SECRET) -> str:
    """What the shop's server computes for `setUser` (written from CONTRACT.md, not from our code)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


async def make_webchat(db: SessionFactory, settings: Settings, website_url: str = SITE, **extra: Any) -> Inbox:
    return await make_inbox(
        db, settings, "webchat", {"website_url": website_url, "hmac_secret": SHOP_SECRET, **extra}, name="Shop chat"
    )


def client_id() -> str:
    return uuid.uuid4().hex


class WidgetClient:
    """A visitor's widget speaking the socket protocol (frames are JSON)."""

    def __init__(self, hub_url: str, inbox_id: int, origin: str = SITE) -> None:
        self.url = hub_url.replace("http://", "ws://") + f"/widget/ws?inbox={inbox_id}"
        self.origin = origin
        self.socket: ClientConnection | None = None
        self.ready: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []

    async def connect(self, token: str | None = None, last_id: int | None = None, **hello: Any) -> dict[str, Any]:
        self.socket = await connect(self.url, origin=self.origin, open_timeout=5)  # type: ignore[arg-type]
        await self.send({"type": "hello", "token": token, "last_id": last_id, **hello})
        self.ready = await self.expect("ready")
        return self.ready

    @property
    def token(self) -> str:
        return str(self.ready["token"])

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.socket is not None
        await self.socket.send(json.dumps(frame))

    async def say(self, text: str, cid: str | None = None) -> dict[str, Any]:
        """Send a message and wait for its ack (or the error about it)."""
        cid = cid or client_id()
        await self.send({"type": "message", "client_id": cid, "text": text})
        return await self.expect(
            "ack",
            lambda f: f.get("client_id") == cid,
            also=lambda f: f["type"] == "error" and f.get("client_id") == cid,
        )

    async def expect(self, kind: str, where: Any = None, timeout: float = 8.0, also: Any = None) -> dict[str, Any]:
        """The next frame of `kind` (matching `where`), or one matching `also`; other frames are kept."""
        assert self.socket is not None

        def wanted(f: dict[str, Any]) -> bool:
            return (f.get("type") == kind and (where is None or where(f))) or (also is not None and also(f))

        for f in self.frames:
            if wanted(f):
                self.frames.remove(f)
                return f
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.socket.recv())
                if wanted(frame):
                    return frame
                self.frames.append(frame)

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Every frame that arrives within `seconds` (to show that nothing else came)."""
        assert self.socket is not None
        got = list(self.frames)
        self.frames.clear()
        try:
            async with asyncio.timeout(seconds):
                while True:
                    got.append(json.loads(await self.socket.recv()))
        except TimeoutError:
            pass
        return got

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


class Agent:
    """An agent using the JSON API."""

    def __init__(self, hub_url: str, token: str) -> None:
        self.client = httpx.AsyncClient(base_url=hub_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    async def conversations(self) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/conversations", params={"status": "all"})
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    async def thread(self, conversation_id: int) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/conversations/{conversation_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def reply(self, conversation_id: int, text: str, **extra: Any) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": text, **extra}
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def wait_status(self, conversation_id: int, message_id: int, status: str, timeout: float = 8.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                messages = (await self.thread(conversation_id))["messages"]
                if any(m["id"] == message_id and m["status"] == status for m in messages):
                    return
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.client.aclose()
