"""The outbound pipeline end to end: row first, job second, retries with backoff, the sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import sqlalchemy as sa
from aiohttp import web

from conversation.models import Message, utcnow
from hub.storage.engine import SessionFactory
from tests.factories import api_message, api_signature, make_agent, make_inbox
from tests.fakes.base import FakeProvider
from tests.live import LiveHub


class Callback(FakeProvider):
    """An `api` inbox's callback URL: the integrator's server receiving replies."""

    def routes(self, app: web.Application) -> None:
        self.route("POST", "/cb", lambda r: web.json_response({"external_id": f"cb-{json.loads(r.body)['id']}"}))


async def wait_for(probe: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(0.05)


async def _conversation(hub: LiveHub, db: SessionFactory, callback_url: str) -> tuple[httpx.AsyncClient, int]:
    _, token = await make_agent(db)
    inbox = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k", "callback_url": callback_url})
    client = httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    body = api_message("c-1", "hello", "in-1")
    response = await client.post(
        f"/webhooks/api/{inbox.id}", content=body, headers={"X-Omnihub-Signature": api_signature("k", body)}
    )
    assert response.status_code == 200
    conversation = (await client.get("/api/v1/conversations")).json()["items"][0]
    return client, int(conversation["id"])


async def _message(client: httpx.AsyncClient, conversation_id: int, message_id: int) -> dict[str, Any]:
    thread = (await client.get(f"/api/v1/conversations/{conversation_id}")).json()
    return next(m for m in thread["messages"] if m["id"] == message_id)


async def test_transient_failures_are_retried_with_backoff_until_sent(hub: LiveHub, db: SessionFactory) -> None:
    with Callback() as callback:
        callback.fail_next(503, {"error": "busy"}, times=2)
        client, conversation_id = await _conversation(hub, db, f"{callback.url}/cb")
        async with contextlib.aclosing(client):
            reply = (
                await client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "on its way"})
            ).json()

            async def sent() -> Any:
                message = await _message(client, conversation_id, reply["id"])
                return message if message["status"] == "sent" else None

            message = await wait_for(sent)
    assert message["attempts"] == 3 and message["external_id"] == f"cb-{reply['id']}" and message["error"] is None
    assert len(callback.requests_to("/cb")) == 3  # two refusals, one success: never sent twice after success


async def test_permanent_failure_is_failed_with_the_reason_and_can_be_retried(hub: LiveHub, db: SessionFactory) -> None:
    with Callback() as callback:
        callback.fail_next(400, {"error": "unknown contact"})
        client, conversation_id = await _conversation(hub, db, f"{callback.url}/cb")
        async with contextlib.aclosing(client):
            reply = (await client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "hi"})).json()

            async def failed() -> Any:
                message = await _message(client, conversation_id, reply["id"])
                return message if message["status"] == "failed" else None

            message = await wait_for(failed)
            assert message["error"] == "callback refused the message (400)" and message["attempts"] == 1
            retry = await client.post(f"/api/v1/conversations/{conversation_id}/messages/{reply['id']}/retry")
            assert retry.status_code == 200

            async def sent() -> Any:
                return (await _message(client, conversation_id, reply["id"]))["status"] == "sent"

            await wait_for(sent)


async def test_retries_stop_after_the_configured_attempts(hub: LiveHub, db: SessionFactory) -> None:
    with Callback() as callback:
        callback.fail_next(502, "bad gateway", times=50)
        client, conversation_id = await _conversation(hub, db, f"{callback.url}/cb")
        async with contextlib.aclosing(client):
            reply = (await client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "hi"})).json()

            async def failed() -> Any:
                message = await _message(client, conversation_id, reply["id"])
                return message if message["status"] == "failed" else None

            # base 0.05 s: 0.05 + 0.2 + 0.8 + 3.2 s of backoff between the five attempts
            message = await wait_for(failed, timeout=40)
    assert message["attempts"] == hub.settings.send_max_attempts == 5
    assert message["error"] == "callback answered 502"
    assert len(callback.requests_to("/cb")) == 5


async def test_a_queued_row_without_a_job_is_sent_by_the_sweeper(hub: LiveHub, db: SessionFactory) -> None:
    with Callback() as callback:
        client, conversation_id = await _conversation(hub, db, f"{callback.url}/cb")
        async with contextlib.aclosing(client), db() as session:
            # A reply committed by a process that died before enqueueing its job.
            inbound = (
                (await session.exec(sa.select(Message).where(Message.conversation_id == conversation_id)))
                .scalars()
                .one()
            )  # type: ignore[call-overload]
            orphan = Message(
                conversation_id=conversation_id, inbox_id=inbound.inbox_id, channel="api", direction="outbound",
                author_type="agent", identity_id=inbound.identity_id, text="from a crashed process", status="queued",
                created_at=utcnow(),
            )  # fmt: skip
            session.add(orphan)
            await session.commit()

            async def sent() -> Any:
                return (await _message(client, conversation_id, orphan.id or 0))["status"] == "sent"

            await wait_for(sent, timeout=30)
    bodies = [json.loads(r.body)["text"] for r in callback.requests_to("/cb")]
    assert bodies == ["from a crashed process"]


async def test_notes_are_never_sent(hub: LiveHub, db: SessionFactory) -> None:
    with Callback() as callback:
        client, conversation_id = await _conversation(hub, db, f"{callback.url}/cb")
        async with contextlib.aclosing(client):
            note = await client.post(
                f"/api/v1/conversations/{conversation_id}/messages", json={"text": "internal", "private": True}
            )
            assert note.status_code == 201 and note.json()["private"] is True
            reply = (
                await client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "public"})
            ).json()

            async def sent() -> Any:
                return (await _message(client, conversation_id, reply["id"]))["status"] == "sent"

            await wait_for(sent)
    assert [json.loads(r.body)["text"] for r in callback.requests_to("/cb")] == ["public"]
