"""Registering a Telegram inbox's webhook: `POST /api/v1/inboxes/{id}/register_webhook` (admins) and
`omnihub telegram-webhook --inbox ID`, both calling setWebhook on `FakeTelegram` with the secret token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from hub.cli import main
from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.factories import make_agent, make_inbox
from tests.fakes.telegram import FakeTelegram, telegram_error
from tests.live import LiveHub

SECRET = "tg-secret_0123456789"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as telegram:
        yield telegram  # type: ignore[misc]


async def _telegram_inbox(db: SessionFactory, settings: Settings, fake: FakeTelegram) -> int:
    config = {"bot_token": fake.token, "secret_token": SECRET, "api_base_url": fake.url}
    return int((await make_inbox(db, settings, "telegram", config)).id or 0)


async def test_api_registers_the_webhook_for_admins_only(hub: LiveHub, db: SessionFactory, fake: FakeTelegram) -> None:
    inbox_id = await _telegram_inbox(db, hub.settings, fake)
    sms = await make_inbox(
        db, hub.settings, "sms", {"account_sid": "AC1", "auth_token": "t", "phone_number": "+15555550199"}
    )
    _, admin_token = await make_agent(db, role="admin")
    _, agent_token = await make_agent(db, role="agent", inbox_ids=[inbox_id])
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
        as_agent = {"Authorization": f"Bearer {agent_token}"}
        as_admin = {"Authorization": f"Bearer {admin_token}"}
        forbidden = await client.post(f"/api/v1/inboxes/{inbox_id}/register_webhook", headers=as_agent)
        assert forbidden.status_code == 403 and fake.webhook is None
        anonymous = await client.post(f"/api/v1/inboxes/{inbox_id}/register_webhook")
        assert anonymous.status_code == 401

        done = await client.post(f"/api/v1/inboxes/{inbox_id}/register_webhook", headers=as_admin)
        assert done.status_code == 200, done.text
        url = f"https://hub.example.com/webhooks/telegram/{inbox_id}"
        assert done.json() == {"inbox_id": inbox_id, "kind": "telegram", "webhook_url": url}
        assert fake.webhook is not None
        assert (fake.webhook["url"], fake.webhook["secret_token"]) == (url, SECRET)
        assert fake.webhook["allowed_updates"] == ["message", "edited_message"]
        assert SECRET not in done.text and fake.token not in done.text

        unknown = await client.post("/api/v1/inboxes/999999/register_webhook", headers=as_admin)
        assert unknown.status_code == 404
        other_kind = await client.post(f"/api/v1/inboxes/{sms.id}/register_webhook", headers=as_admin)
        assert other_kind.status_code == 422
        assert other_kind.json()["detail"] == "a sms inbox is registered in the provider's console, not by Omnihub"

        fake.fail_next(
            *telegram_error(400, "Bad Request: bad webhook: Failed to resolve host: Name or service not known")
        )
        refused = await client.post(f"/api/v1/inboxes/{inbox_id}/register_webhook", headers=as_admin)
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "Telegram refused the webhook: Bad webhook: failed to resolve host: name or service not known"
        )
        fake.fail_next(*telegram_error(502, "Bad Gateway"))
        unreachable = await client.post(f"/api/v1/inboxes/{inbox_id}/register_webhook", headers=as_admin)
        assert unreachable.status_code == 502 and unreachable.json()["detail"].startswith(
            "Telegram refused the webhook"
        )


def _cli(settings: Settings, tmp_path: Path, *args: str, public_url: str = "https://hub.example.com") -> Result:
    env = {
        "OMNIHUB_DATABASE_URL": settings.database_url,
        "OMNIHUB_REDIS_URL": settings.redis_url,
        "OMNIHUB_REDIS_NAMESPACE": settings.redis_namespace,
        "OMNIHUB_SECRET_KEY": settings.resolved_secret_key,
        "OMNIHUB_PUBLIC_URL": public_url,
        "OMNIHUB_VAR_DIR": str(tmp_path / "cli-var"),
    }
    return CliRunner().invoke(main, list(args), env=env)


async def test_cli_registers_the_webhook(
    db: SessionFactory, settings: Settings, fake: FakeTelegram, tmp_path: Path
) -> None:
    inbox_id = await _telegram_inbox(db, settings, fake)
    result = await asyncio.to_thread(_cli, settings, tmp_path, "telegram-webhook", "--inbox", str(inbox_id))
    assert result.exit_code == 0, result.output
    url = f"https://hub.example.com/webhooks/telegram/{inbox_id}"
    assert result.output == f"Telegram now delivers to {url}\n"
    assert fake.webhook is not None and (fake.webhook["url"], fake.webhook["secret_token"]) == (url, SECRET)


async def test_cli_errors_are_one_line(
    db: SessionFactory, settings: Settings, fake: FakeTelegram, tmp_path: Path
) -> None:
    inbox_id = await _telegram_inbox(db, settings, fake)
    sms = await make_inbox(
        db, settings, "sms", {"account_sid": "AC1", "auth_token": "t", "phone_number": "+15555550199"}
    )
    cases = [
        (("--inbox", "999999"), {}, "Error: no inbox 999999\n"),
        (("--inbox", str(sms.id)), {}, f"Error: inbox {sms.id} is a sms inbox, not a telegram one\n"),
        (
            ("--inbox", str(inbox_id)),
            {"public_url": "http://127.0.0.1:8000"},  # Telegram calls HTTPS URLs only
            "Error: Telegram refused the webhook: Bad webhook: an https url must be provided for webhook\n",
        ),
    ]
    for args, options, expected in cases:
        result = await asyncio.to_thread(_cli, settings, tmp_path, "telegram-webhook", *args, **options)
        assert (result.exit_code, result.output) == (1, expected)
    assert fake.webhook is None
    missing = await asyncio.to_thread(_cli, settings, tmp_path, "telegram-webhook")
    assert missing.exit_code == 2 and "--inbox" in missing.output
