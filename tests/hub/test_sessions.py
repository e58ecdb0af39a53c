"""Console sessions are stored only for logged-in browsers, not for every webhook or API call."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.agent_console.helpers import login, post_api_message
from tests.factories import make_agent, make_inbox
from tests.live import LiveHub


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Plain-http cookies: a Secure cookie would never come back to the test client."""
    return settings.model_copy(update={"public_url": "http://hub.example.com"})


def _stored_sessions(hub: LiveHub) -> int:
    """How many sessions the hub's session store holds (Redis keys, or files on the embedded default)."""
    settings = hub.settings
    if settings.redis_url:
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        try:
            return sum(1 for _ in client.scan_iter(match=f"{settings.redis_namespace}:sessions*"))
        finally:
            client.close()
    folder = Path(settings.var_dir) / "sessions"
    return sum(1 for p in folder.iterdir() if p.is_file()) if folder.exists() else 0


def _session_cookies(response: httpx.Response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("session=")]


async def test_webhooks_api_calls_and_health_checks_create_no_session(hub: LiveHub, db: SessionFactory) -> None:
    inbox = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k"})
    _, token = await make_agent(db, role="admin")
    async with httpx.AsyncClient(base_url=hub.url) as client:
        responses = [
            await post_api_message(client, inbox.id or 0, "k", "c-1", "hello", "m-1"),
            await client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"}),
            await client.get("/healthz"),
        ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [_session_cookies(r) for r in responses] == [[], [], []]
    assert _stored_sessions(hub) == 0


async def test_a_login_still_gets_a_session_and_logout_ends_it(hub: LiveHub, db: SessionFactory) -> None:
    agent, _ = await make_agent(db, role="agent")
    async with httpx.AsyncClient(base_url=hub.url) as client:
        assert _session_cookies(await client.get("/login")) == []
        response = await login(client, agent.email)
        assert response.status_code == 303 and _session_cookies(response)
        assert (await client.get("/console")).status_code == 200
        assert _stored_sessions(hub) == 1
        bye = await client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken") or ""})
        assert bye.status_code == 303
        assert (await client.get("/console")).status_code == 302
    assert _stored_sessions(hub) == 0
