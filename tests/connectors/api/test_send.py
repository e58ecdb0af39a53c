"""`api` connector sends: signed JSON to the callback, one pooled client per loop, errors mapped."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from connectors.api.connector import ApiConnector
from connectors.base import InboxConfig, SendFailed
from conversation.types import ChannelKind, ExternalIdentity, OutboundMessage
from tests.fakes.base import free_port


class Callback:
    """The integrator's callback URL on this test's loop; remembers each request's client port."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.bodies: list[dict[str, Any]] = []
        self.signatures: list[str] = []
        self.client_ports: list[int] = []
        self.answers: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.raw.append(body)
        self.bodies.append(json.loads(body))
        self.signatures.append(request.headers.get("X-Omnihub-Signature", ""))
        self.client_ports.append(request.transport.get_extra_info("peername")[1] if request.transport else -1)
        status = self.answers.pop(0) if self.answers else 200
        if status != 200:
            return web.Response(status=status, text="nope")
        return web.json_response({"external_id": f"ext-{self.bodies[-1]['id']}"})


@pytest.fixture
async def callback() -> AsyncIterator[tuple[Callback, str]]:
    fake = Callback()
    app = web.Application()
    app.router.add_post("/cb", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield fake, f"http://127.0.0.1:{port}/cb"
    finally:
        await runner.cleanup()


def _message(message_id: int) -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id, conversation_id=7, channel_kind=ChannelKind.API, inbox_id=3,
        recipient=ExternalIdentity(address="cust-42"), text=f"reply {message_id}", author_name="Sam",
    )  # fmt: skip


def _account(url: str) -> InboxConfig:
    return InboxConfig(id=3, kind="api", name="shop", settings={"hmac_secret": "s3cret", "callback_url": url})


async def test_replies_are_signed_and_share_one_keep_alive_connection(callback: tuple[Callback, str]) -> None:
    fake, url = callback
    connector = ApiConnector()
    receipts = [await connector.send(_message(n), _account(url)) for n in (1, 2, 3)]
    assert [r.external_message_id for r in receipts] == ["ext-1", "ext-2", "ext-3"]
    assert [b["text"] for b in fake.bodies] == ["reply 1", "reply 2", "reply 3"]
    for raw, signature in zip(fake.raw, fake.signatures, strict=True):
        assert signature == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert len(set(fake.client_ports)) == 1  # no new client (CA bundle load, TCP handshake) per reply


async def test_failures_are_retryable_or_final(callback: tuple[Callback, str]) -> None:
    fake, url = callback
    connector = ApiConnector()
    fake.answers = [503, 429, 400]
    outcomes = []
    for n in range(3):
        with pytest.raises(SendFailed) as failed:
            await connector.send(_message(n), _account(url))
        outcomes.append(failed.value.retryable)
    assert outcomes == [True, True, False]
    with pytest.raises(SendFailed) as unreachable:
        await connector.send(_message(9), _account(f"http://127.0.0.1:{free_port()}/cb"))
    assert unreachable.value.retryable
    assert (await connector.send(_message(10), _account(url))).external_message_id == "ext-10"
