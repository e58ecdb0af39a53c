"""Raw mail over HTTP (`POST /webhooks/email/{id}`) and from a pipe (`omnihub ingest-email`), on a live hub."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
from click.testing import CliRunner, Result

from hub.cli import main
from hub.config import Settings
from hub.storage.engine import SessionFactory
from tests.connectors.email.mail import CUSTOMER, SHOP, build, dsn
from tests.factories import make_agent, make_inbox
from tests.fakes.smtp import SmtpServer
from tests.hub.email_helpers import wait_for
from tests.live import LiveHub

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def email_settings(**extra: Any) -> dict[str, Any]:
    return {
        "address": SHOP,
        "imap_host": "imap.shop.example.test",  # never polled: a reserved name
        "imap_port": 993,
        "imap_username": "support",
        "imap_password": "imap-secret",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "smtp_username": "support",
        "smtp_password": "smtp-secret",
        "smtp_starttls": False,
        "webhook_token": "hook-token",
        **extra,
    }


async def test_webhook_intake_is_authenticated_idempotent_and_clean(hub: LiveHub, db: SessionFactory) -> None:
    inbox = await make_inbox(db, hub.settings, "email", email_settings())
    _, token = await make_agent(db, role="admin")
    url = f"/webhooks/email/{inbox.id}"
    html = (
        '<p>My parcel <b>looks like this</b>:</p><p><img src="cid:photo@x" alt="parcel"></p>'
        '<img src="https://tracker.example.net/open.gif"><script>alert(1)</script>'
        '<a href="javascript:alert(2)" onclick="x()">click</a>'
    )
    raw = build(text="My parcel looks like this:", html=html, inline_images=(("photo@x", "image/png", PNG),))
    bearer = {"Authorization": "Bearer hook-token", "Content-Type": "message/rfc822"}
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
        assert (await client.post(url, content=raw)).status_code == 401
        wrong = await client.post(url, content=raw, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["status_code"] == 401
        assert (await client.post("/webhooks/email/999999", content=raw, headers=bearer)).status_code == 404
        first = await client.post(url, content=raw, headers=bearer)
        assert first.status_code == 200 and first.json() == {"ok": True, "stored": 1}
        again = await client.post(url, content=raw, headers=bearer)
        assert again.json() == {"ok": True, "duplicates": 1}  # retry-safe: same Message-ID, same inbox
        empty = await client.post(url, content=b"", headers=bearer)
        assert empty.status_code == 400 and "empty" in empty.json()["detail"]
        loop = await client.post(url, content=build(from_=SHOP, message_id="<l@x>"), headers=bearer)
        assert loop.status_code == 200 and loop.json()["ignored"] == f"mail from our own address {SHOP}"

        auth = {"Authorization": f"Bearer {token}"}
        (summary,) = (await client.get("/api/v1/conversations", headers=auth)).json()["items"]
        thread = (await client.get(f"/api/v1/conversations/{summary['id']}", headers=auth)).json()
        (message,) = thread["messages"]
        (image,) = message["attachments"]
        assert image["inline"] is True and image["content_type"] == "image/png"
        # The cid: image points at its attachment (linked after insert); remote and active content is gone.
        assert f'src="/api/v1/attachments/{image["id"]}"' in message["html"]
        assert "tracker.example.net" not in message["html"] and "<script" not in message["html"]
        assert "javascript:" not in message["html"] and "onclick" not in message["html"]
        served = await client.get(image["url"], headers=auth)
        assert served.status_code == 200 and served.content == PNG
        assert (await client.get(image["url"])).status_code == 401


async def test_a_bounce_posted_to_the_webhook_fails_the_reply(hub: LiveHub, db: SessionFactory) -> None:
    with SmtpServer() as smtp:
        inbox = await make_inbox(db, hub.settings, "email", email_settings(smtp_port=smtp.port))
        _, token = await make_agent(db, role="admin")
        auth = {"Authorization": f"Bearer {token}"}
        bearer = {"Authorization": "Bearer hook-token"}
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
            await client.post(f"/webhooks/email/{inbox.id}", content=build(), headers=bearer)
            (summary,) = (await client.get("/api/v1/conversations", headers=auth)).json()["items"]
            reply = await client.post(f"/api/v1/conversations/{summary['id']}/messages", json={"text": "Shipped!"},
                                      headers=auth)  # fmt: skip
            assert reply.status_code == 201

            async def outbound(status: str) -> dict[str, Any] | None:
                thread = (await client.get(f"/api/v1/conversations/{summary['id']}", headers=auth)).json()
                row = thread["messages"][-1]
                return row if row["status"] == status else None

            sent = await wait_for(lambda: outbound("sent"), what="the reply to be sent")
            report = await client.post(f"/webhooks/email/{inbox.id}", content=dsn(sent["external_id"]), headers=bearer)
            assert report.json() == {"ok": True, "updated": 1}
            failed = await wait_for(lambda: outbound("failed"), what="the bounce")
    assert failed["error"].startswith(f"bounced: {CUSTOMER}: 550 5.1.1")


def _environment(settings: Settings, **extra: str | None) -> dict[str, str | None]:
    return {
        "OMNIHUB_DATABASE_URL": settings.database_url,
        "OMNIHUB_SECRET_KEY": settings.resolved_secret_key,
        "OMNIHUB_VAR_DIR": str(settings.var_dir),
        "OMNIHUB_REDIS_URL": settings.redis_url,
        "OMNIHUB_REDIS_NAMESPACE": settings.redis_namespace,
        "OMNIHUB_AUTO_MIGRATE": "false",
        **extra,
    }


def _pipe(settings: Settings, inbox_id: int, raw: bytes) -> subprocess.CompletedProcess[bytes]:
    """`omnihub ingest-email` in its own process, as procmail or postfix runs it."""
    environment = {k: v for k, v in {**os.environ, **_environment(settings)}.items() if v is not None}
    command = [sys.executable, "-m", "hub.cli", "ingest-email", "--inbox", str(inbox_id)]
    return subprocess.run(command, input=raw, capture_output=True, env=environment, timeout=60, check=False)


def _ingest(settings: Settings, inbox_id: int, raw: bytes, **env: str) -> Result:
    """The same command in this process (a new process costs seconds of imports)."""
    arguments = ["ingest-email", "--inbox", str(inbox_id)]
    return CliRunner().invoke(main, arguments, input=raw, env=_environment(settings, **env))


async def test_ingest_email_from_a_pipe(hub: LiveHub, db: SessionFactory) -> None:
    inbox = await make_inbox(db, hub.settings, "email", email_settings())
    raw = build(text="Sent through procmail", message_id="<pipe-1@customer.example.org>")
    first = await asyncio.to_thread(_pipe, hub.settings, inbox.id or 0, raw)
    assert (first.returncode, first.stdout.decode().strip()) == (0, "stored 1 message(s)"), first.stderr
    again = await asyncio.to_thread(_ingest, hub.settings, inbox.id or 0, raw)
    assert (again.exit_code, again.stdout.strip()) == (0, "already stored (same Message-ID)")
    loop = await asyncio.to_thread(_ingest, hub.settings, inbox.id or 0, build(from_=SHOP, message_id="<l@x>"))
    assert (loop.exit_code, loop.stdout.strip()) == (0, f"ignored: mail from our own address {SHOP}")

    unknown = await asyncio.to_thread(_ingest, hub.settings, 999999, raw)
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "Error: no email inbox with id 999999"
    garbage = await asyncio.to_thread(_ingest, hub.settings, inbox.id or 0, b"no headers at all")
    assert garbage.exit_code == 1
    assert garbage.stderr.strip() == "Error: not a readable email: no sender address (From)"
    # The database is away: exit 75 (EX_TEMPFAIL), so the MTA keeps the mail and tries again later.
    away = await asyncio.to_thread(
        _ingest, hub.settings, inbox.id or 0, raw, OMNIHUB_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/none"
    )
    assert away.exit_code == 75 and away.stderr.startswith("Error: temporary failure")
    assert len(away.stderr.strip().splitlines()) == 1

    _, token = await make_agent(db, role="admin")
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
        auth = {"Authorization": f"Bearer {token}"}
        (summary,) = (await client.get("/api/v1/conversations", headers=auth)).json()["items"]
    assert summary["last_message"]["text"] == "Sent through procmail"
