"""The `omnihub` command line: every command exists, works, and fails with one line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from conversation.models import Order
from hub.config import Settings
from hub.storage.engine import SessionFactory

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [
    "serve",
    "worker",
    "migrate",
    "demo",
    "create-agent",
    "create-token",
    "ingest-email",
    "import-orders",
    "reset-password",
]


def omnihub(
    settings: Settings, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "OMNIHUB_DATABASE_URL": settings.database_url,
        "OMNIHUB_SECRET_KEY": settings.resolved_secret_key,
        "OMNIHUB_VAR_DIR": str(settings.var_dir),
        "OMNIHUB_AUTO_MIGRATE": "false",
        **(env or {}),
    }
    environment.pop("OMNIHUB_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=REPO,
        env=environment,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert lines and fragment in lines[-1], result.stderr


def test_every_contract_command_has_help(settings: Settings) -> None:
    for command in COMMANDS:
        result = omnihub(settings, command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command


async def test_agents_tokens_and_password_reset(settings: Settings, db: SessionFactory) -> None:
    created = omnihub(
        settings,
        "create-agent",
        "--email",
        "Kim@Example.com",
        "--name",
        "Kim",
        "--role",
        "admin",
        "--password",
        "s3cret-pass",
    )
    assert created.returncode == 0 and "created admin kim@example.com" in created.stdout
    token = omnihub(settings, "create-token", "--email", "kim@example.com")
    assert token.returncode == 0 and token.stdout.strip().startswith("omh_")
    assert_one_line_error(
        omnihub(settings, "create-agent", "--email", "kim@example.com", "--name", "K", "--password", "another-pass"),
        "already exists",
    )
    assert_one_line_error(
        omnihub(settings, "create-agent", "--email", "nope", "--name", "K", "--password", "another-pass"),
        "not a valid email",
    )
    assert_one_line_error(
        omnihub(settings, "create-agent", "--email", "a@example.com", "--name", "K", "--password", "short"),
        "at least 8",
    )
    assert_one_line_error(omnihub(settings, "create-token", "--email", "ghost@example.com"), "no agent with email")
    assert (
        omnihub(settings, "reset-password", "--email", "kim@example.com", "--password", "new-secret-1").returncode == 0
    )
    result = omnihub(
        settings, "create-agent", "--email", "x@example.com", "--name", "X", "--role", "owner", "--password", "12345678"
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr  # click's own usage error


async def test_import_orders_is_all_or_nothing_with_line_numbers(
    settings: Settings, db: SessionFactory, tmp_path: Path
) -> None:
    good = tmp_path / "orders.csv"
    good.write_text(
        "number,status,email,total,currency,items,carrier,tracking_number\n"
        "1001,shipped,ana@example.com,59.90,EUR,Trail shoes x 1,DHL,JD0001\n"
        "1002,paid,+31612345678,12,EUR,Socks x 2; Cap x 1,,\n"
    )
    result = omnihub(settings, "import-orders", str(good))
    assert result.returncode == 1  # the phone in the email column is refused: nothing imported
    assert "line 3: customer.email is not a valid email" in result.stderr
    async with db() as session:
        assert (await session.exec(select(Order))).all() == []
    good.write_text(good.read_text().replace("+31612345678", "finn@example.com"))
    result = omnihub(settings, "import-orders", str(good))
    assert result.returncode == 0 and "imported 2 order(s)" in result.stdout
    async with db() as session:
        orders = {o.number: o for o in (await session.exec(select(Order))).all()}
    assert orders["1001"].carrier == "DHL" and orders["1001"].total == "59.90"
    assert orders["1002"].items == [
        {"name": "Socks", "quantity": 2, "price": None, "sku": None},
        {"name": "Cap", "quantity": 1, "price": None, "sku": None},
    ]
    as_json = tmp_path / "orders.json"
    as_json.write_text(json.dumps({"orders": [{"number": "1003", "status": "teleported"}]}))
    assert_one_line_error(omnihub(settings, "import-orders", str(as_json)), "nothing imported")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert_one_line_error(omnihub(settings, "import-orders", str(broken)), "nothing imported")
    assert_one_line_error(omnihub(settings, "import-orders", str(tmp_path / "missing.csv")), "does not exist")


def test_serve_refuses_an_unmigrated_database(settings: Settings, tmp_path: Path) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("uses a throw-away SQLite file; the PostgreSQL pass covers the rest of the CLI")
    empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = omnihub(settings, "serve", "--port", "1", env={"OMNIHUB_DATABASE_URL": empty})
    assert_one_line_error(result, "run `omnihub migrate` first")
    assert omnihub(settings, "migrate", env={"OMNIHUB_DATABASE_URL": empty}).returncode == 0


def test_bad_configuration_and_unreachable_database_are_one_line(settings: Settings) -> None:
    assert_one_line_error(
        omnihub(settings, "migrate", env={"OMNIHUB_REDIS_NAMESPACE": "x", "OMNIHUB_SEND_MAX_ATTEMPTS": "many"}),
        "invalid configuration",
    )
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    assert_one_line_error(
        omnihub(settings, "create-token", "--email", "a@example.com", env={"OMNIHUB_DATABASE_URL": unreachable}),
        "cannot reach",
    )
    result = omnihub(settings, "serve", "--workers", "2")
    assert_one_line_error(result, "OMNIHUB_REDIS_URL")


async def test_demo_is_seeded_once(settings: Settings, db: SessionFactory) -> None:
    first = omnihub(settings, "demo")
    assert first.returncode == 0 and first.stdout.strip() == "demo data created"
    second = omnihub(settings, "demo")
    assert second.returncode == 0 and second.stdout.strip() == "demo data already present"
    from conversation.models import Conversation, Customer, Inbox, Message

    async with db() as session:
        kinds = sorted(i.kind for i in (await session.exec(select(Inbox))).all())
        conversations = (await session.exec(select(Conversation))).all()
        customers = (await session.exec(select(Customer))).all()
        messages = (await session.exec(select(Message))).all()
    assert kinds == sorted(["api", "email", "messenger", "slack", "sms", "telegram", "webchat", "whatsapp"])
    assert len(customers) >= 30 and len(conversations) >= 20
    assert any(len(c.channels) > 1 for c in conversations)  # threads spanning channels
    assert {m.direction for m in messages} >= {"inbound", "outbound"}


def test_ingest_email_reads_stdin(settings: Settings) -> None:
    assert_one_line_error(omnihub(settings, "ingest-email", "--inbox", "1", stdin=b""), "no message on standard input")
    assert_one_line_error(
        omnihub(settings, "ingest-email", "--inbox", "424242", stdin=b"Subject: x\r\n\r\nhi"),
        "no email inbox with id 424242",
    )
