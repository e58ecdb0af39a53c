"""Helpers for the per-channel end-to-end tests: an API client for agents and a live event stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import websockets

from tests.live import LiveHub

PUBLIC = "https://hub.example.com"  # the `public_url` of the `settings` fixture: what providers sign
WAIT_SECONDS = 15.0


async def wait_for(probe: Callable[[], Awaitable[Any]], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll `probe` until it returns something truthy (then return it), or fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """A recorded form-encoded body as ordered pairs (as Twilio posted them)."""
    return parse_qsl(body.decode(), keep_blank_values=True)


class Agent:
    """An agent's HTTP client on the live hub (bearer token), with the calls the scenarios make."""

    def __init__(self, hub: LiveHub, token: str) -> None:
        self.hub = hub
        self.token = token
        self.http = httpx.AsyncClient(base_url=hub.url, timeout=10, headers={"Authorization": f"Bearer {token}"})

    async def close(self) -> None:
        await self.http.aclose()

    async def post_webhook(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST as the provider would: no agent credentials, exact body bytes."""
        async with httpx.AsyncClient(base_url=self.hub.url, timeout=10) as provider:
            return await provider.post(path, content=body, headers=headers)

    async def conversations(self) -> list[dict[str, Any]]:
        response = await self.http.get("/api/v1/conversations")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def only_conversation(self) -> dict[str, Any]:
        items = await self.conversations()
        assert len(items) == 1, items
        return items[0]

    async def thread(self, conversation_id: int) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/conversations/{conversation_id}")
        assert response.status_code == 200, response.text
        thread: dict[str, Any] = response.json()
        return thread

    async def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (await self.thread(conversation_id))["messages"]
        return messages

    async def customer(self, customer_id: int) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/customers/{customer_id}")
        assert response.status_code == 200, response.text
        customer: dict[str, Any] = response.json()
        return customer

    async def reply(self, conversation_id: int, text: str, **extra: Any) -> dict[str, Any]:
        body = {"text": text, **extra}
        response = await self.http.post(f"/api/v1/conversations/{conversation_id}/messages", json=body)
        assert response.status_code == 201, response.text
        message: dict[str, Any] = response.json()
        assert message["status"] == "queued"
        return message

    async def message(self, conversation_id: int, message_id: int) -> dict[str, Any]:
        return next(m for m in await self.messages(conversation_id) if m["id"] == message_id)

    async def wait_status(
        self, conversation_id: int, message_id: int, status: str, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        """The message once the API shows `status` (fails if it settles on another final status)."""

        async def probe() -> dict[str, Any] | None:
            message = await self.message(conversation_id, message_id)
            if message["status"] == "failed" != status:
                raise AssertionError(f"message failed instead of becoming {status}: {message['error']}")
            return message if message["status"] == status else None

        found: dict[str, Any] = await wait_for(probe, f"message {message_id} to be {status}", timeout)
        return found

    async def wait_attachment(self, conversation_id: int, status: str = "stored") -> dict[str, Any]:
        """The first attachment of the thread once it has `status`."""

        async def probe() -> dict[str, Any] | None:
            for message in await self.messages(conversation_id):
                for attachment in message["attachments"]:
                    if attachment["status"] == status:
                        return attachment  # type: ignore[no-any-return]
            return None

        found: dict[str, Any] = await wait_for(probe, f"an attachment to be {status}")
        return found

    async def attachment_bytes(self, attachment: dict[str, Any]) -> bytes:
        response = await self.http.get(attachment["url"])
        assert response.status_code == 200, response.text
        return response.content


class Stream:
    """`WS /api/v1/stream` as an integrator uses it: every event received is kept in `events`."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def wait(self, predicate: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            return next((e for e in self.events if predicate(e)), None)

        found: dict[str, Any] = await wait_for(probe, what)
        return found

    async def wait_message_update(self, message_id: int, **fields: Any) -> dict[str, Any]:
        """The first `message.updated` event for `message_id` whose message carries `fields`."""

        def matches(event: dict[str, Any]) -> bool:
            message = event.get("message") or {}
            return (
                event.get("type") == "message.updated"
                and message.get("id") == message_id
                and all(message.get(k) == v for k, v in fields.items())
            )

        return await self.wait(matches, f"message.updated {fields} for message {message_id}")


@contextlib.asynccontextmanager
async def live_stream(hub: LiveHub, token: str) -> AsyncIterator[Stream]:
    """Connect to the hub's event stream with `?token=` and collect events in the background."""
    stream = Stream()
    url = hub.url.replace("http://", "ws://") + f"/api/v1/stream?token={token}"
    async with websockets.connect(url) as socket:
        ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ready["type"] == "ready", ready

        async def collect() -> None:
            async for frame in socket:
                stream.events.append(json.loads(frame))

        task = asyncio.create_task(collect())
        try:
            yield stream
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await task
