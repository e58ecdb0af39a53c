"""`WS /api/v1/stream`: live events after commit, only for inboxes the agent works; and across processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.factories import api_message, api_signature, make_agent, make_inbox
from tests.fakes.base import free_port
from tests.live import LiveHub

REPO = Path(__file__).resolve().parents[2]


async def next_event(socket: Any, wanted: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next event of type `wanted` (other events are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await socket.recv())
            if event.get("type") == wanted:
                return event


def ws_url(base: str, token: str) -> str:
    return base.replace("http://", "ws://") + f"/api/v1/stream?token={token}"


async def test_events_reach_only_agents_of_the_inbox(hub: LiveHub, db: SessionFactory) -> None:
    shop = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k"})
    other = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k"})
    _, admin = await make_agent(db, role="admin")
    _, outsider = await make_agent(db, role="agent", inbox_ids=[other.id or 0])
    async with (
        websockets.connect(ws_url(hub.url, admin)) as watcher,
        websockets.connect(ws_url(hub.url, outsider)) as stranger,
    ):
        assert (await next_event(watcher, "ready"))["inbox_ids"] == sorted([shop.id, other.id])
        assert (await next_event(stranger, "ready"))["inbox_ids"] == [other.id]
        body = api_message("c-5", "Is my parcel lost?", "ev-1", name="Pia")
        async with httpx.AsyncClient(base_url=hub.url) as client:
            response = await client.post(
                f"/webhooks/api/{shop.id}", content=body, headers={"X-Omnihub-Signature": api_signature("k", body)}
            )
        assert response.status_code == 200
        created = await next_event(watcher, "message.created")
        assert created["inbox_id"] == shop.id
        assert created["message"]["text"] == "Is my parcel lost?" and created["message"]["author"]["name"] == "Pia"
        # Enough to draw the list row without refetching: customer, preview, unread, channels.
        row = created["conversation"]
        assert row["customer"]["name"] == "Pia" and row["last_message"]["text"] == "Is my parcel lost?"
        assert row["unread"] == 1 and row["channels"] == ["api"]
        await stranger.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(stranger.recv(), 5)) == {"type": "pong"}  # nothing else arrived first


async def test_stream_refuses_anonymous_sockets(hub: LiveHub) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(hub.url.replace("http://", "ws://") + "/api/v1/stream"):
            pass
    assert refused.value.response.status_code in (401, 403)


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OMNIHUB_DATABASE_URL": settings.database_url,
        "OMNIHUB_REDIS_URL": settings.redis_url or "",
        "OMNIHUB_REDIS_NAMESPACE": settings.redis_namespace,
        "OMNIHUB_SECRET_KEY": settings.resolved_secret_key,
        "OMNIHUB_PUBLIC_URL": settings.public_url,
        "OMNIHUB_VAR_DIR": str(settings.var_dir / str(port)),
        "OMNIHUB_INPROCESS_WORKER": "false",
    }
    command = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            if process.poll() is not None:
                raise AssertionError(f"omnihub serve exited: {log.read_text()[-2000:]}")
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("omnihub serve did not become ready")


async def test_two_serve_processes_share_events_through_redis(
    settings: Settings, db: SessionFactory, tmp_path: Path
) -> None:
    if not settings.redis_url or settings.database_url.startswith("sqlite"):
        pytest.skip("needs PostgreSQL + Redis: runs in the PostgreSQL pass (OMNIHUB_TEST_BACKEND=postgres)")
    inbox = await make_inbox(db, settings, "api", {"hmac_secret": "k"})
    _, token = await make_agent(db)
    ports = [free_port(), free_port()]
    processes = [_serve(settings, port, tmp_path / f"serve-{port}.log") for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process, port in zip(urls, processes, ports, strict=True):
            await _wait_ready(url, process, tmp_path / f"serve-{port}.log")
        async with websockets.connect(ws_url(urls[0], token)) as watcher:
            await next_event(watcher, "ready")
            body = api_message("c-9", "sent to the other process", "mp-1")
            async with httpx.AsyncClient(base_url=urls[1]) as client:
                response = await client.post(
                    f"/webhooks/api/{inbox.id}", content=body, headers={"X-Omnihub-Signature": api_signature("k", body)}
                )
            assert response.status_code == 200
            created = await next_event(watcher, "message.created")
            assert created["message"]["text"] == "sent to the other process"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
