"""Connecting a channel through `POST /api/v1/inboxes`: each kind's settings are checked (422 naming the
keys), the answer carries the webhook URL to paste into the provider's console, and secrets never come back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.storage.engine import SessionFactory
from tests.factories import make_agent
from tests.live import LiveHub

PUBLIC = "https://hub.example.com"

#: Complete settings per kind (CONTRACT.md), the secret values among them, and the webhook path segment.
KINDS: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "sms": (
        {"account_sid": "AC" + "1" * 32, "auth_token": "twilio-secret-token", "phone_number": "+15555550199"},
        ["twilio-secret-token"],
        "sms",
    ),
    "telegram": (
        {"bot_token": "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "secret_token": "tg-secret_42"},
        ["110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "tg-secret_42"],
        "telegram",
    ),
    "slack": (
        {"bot_token": "xoxb-1234-5678-slacksecret", "signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"},
        ["xoxb-1234-5678-slacksecret", "8f742231b10e8888abcd99yyyzzz85a5"],
        "slack",
    ),
    "whatsapp": (
        {
            "access_token": "EAAGwhatsappsecret",
            "app_secret": "wa-app-secret",
            "verify_token": "wa-verify-secret",
            "phone_number_id": "1122334455667",
        },
        ["EAAGwhatsappsecret", "wa-app-secret", "wa-verify-secret"],
        "meta",
    ),
    "messenger": (
        {
            "access_token": "EAAGmessengersecret",
            "app_secret": "fb-app-secret",
            "verify_token": "fb-verify-secret",
            "page_id": "111111",
        },
        ["EAAGmessengersecret", "fb-app-secret", "fb-verify-secret"],
        "meta",
    ),
}


@pytest.fixture
async def admin(hub: LiveHub, db: SessionFactory) -> Any:
    _, token = await make_agent(db, role="admin")
    async with httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        yield client


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_create_validates_and_hides_secrets(admin: httpx.AsyncClient, kind: str) -> None:
    settings, secrets, segment = KINDS[kind]
    for missing in sorted(settings):
        partial = {k: v for k, v in settings.items() if k != missing}
        refused = await admin.post("/api/v1/inboxes", json={"kind": kind, "name": "x", "settings": partial})
        assert refused.status_code == 422, (missing, refused.text)
        assert refused.json()["detail"] == f"missing required settings: {missing}"
    unknown = await admin.post(
        "/api/v1/inboxes", json={"kind": kind, "name": "x", "settings": {**settings, "webhook_secret": "y"}}
    )
    assert unknown.status_code == 422 and unknown.json()["detail"] == "unknown settings: webhook_secret"
    assert (await admin.get("/api/v1/inboxes")).json()["items"] == []  # nothing half-created

    created = await admin.post("/api/v1/inboxes", json={"kind": kind, "name": f"Our {kind}", "settings": settings})
    assert created.status_code == 201, created.text
    inbox = created.json()
    assert inbox["webhook_url"] == f"{PUBLIC}/webhooks/{segment}/{inbox['id']}"
    listed = await admin.get("/api/v1/inboxes")
    one = await admin.get(f"/api/v1/inboxes/{inbox['id']}")
    for response in (created, listed, one):
        assert not any(secret in response.text for secret in secrets), response.text
    [shown] = listed.json()["items"]
    assert shown["secrets_set"] == sorted(k for k, v in settings.items() if v in secrets)
    assert set(shown["settings"]) == {k for k, v in settings.items() if v not in secrets}


async def test_telegram_secret_token_must_fit_telegrams_rule(admin: httpx.AsyncClient) -> None:
    settings = {**KINDS["telegram"][0], "secret_token": "has spaces!"}
    refused = await admin.post("/api/v1/inboxes", json={"kind": "telegram", "name": "x", "settings": settings})
    assert refused.status_code == 422 and "secret_token" in refused.json()["detail"]


async def test_only_admins_connect_channels(hub: LiveHub, db: SessionFactory) -> None:
    _, token = await make_agent(db, role="agent")
    settings, _, _ = KINDS["sms"]
    async with httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as agent:
        refused = await agent.post("/api/v1/inboxes", json={"kind": "sms", "name": "x", "settings": settings})
    assert refused.status_code == 403
