"""The `omnihub` command line. Bad input exits non-zero with a one-line reason, never a traceback."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hub.config import Settings, load_settings

T = TypeVar("T")
log = logging.getLogger("omnihub")


class CliError(click.ClickException):
    """A one-line, user-facing failure."""

    def format_message(self) -> str:
        return self.message


def _settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # pydantic reports every bad variable; one line is enough here
        raise CliError(f"invalid configuration: {str(exc).splitlines()[0]}") from exc


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn unexpected failures into one line (the full traceback goes to the debug log)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            log.debug("command failed", exc_info=True)
            raise CliError(_describe(exc)) from exc

    return wrapper


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    name = exc.__class__.__name__
    if "connect" in name.lower() or "refused" in text.lower():
        return f"cannot reach the database or Redis: {text}"
    return f"{name}: {text}" if name not in text else text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """Omnihub: every channel in one thread, one customer, their orders."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


# --- database -----------------------------------------------------------------------------------


@main.command()
@friendly
def migrate() -> None:
    """Create or upgrade the database schema."""
    from hub.storage.migrate import upgrade

    settings = _settings()
    settings.prepare_dirs()
    upgrade(settings.database_url)
    click.echo("database is up to date")


def _ensure_schema(settings: Settings) -> None:
    from hub.storage.migrate import pending_migrations, upgrade

    settings.prepare_dirs()
    if not _run(pending_migrations(settings.database_url)):
        return
    if settings.is_sqlite and settings.auto_migrate:
        upgrade(settings.database_url)
        return
    raise CliError("the database schema is not up to date: run `omnihub migrate` first")


# --- processes ----------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Web worker processes.")
@friendly
def serve(host: str, port: int, workers: int) -> None:
    """Serve the console, the API and the webhooks."""
    import uvicorn

    settings = _settings()
    if workers > 1 and not settings.redis_url:
        raise CliError("several workers need OMNIHUB_REDIS_URL (events and jobs must be shared between processes)")
    if workers > 1 and settings.is_sqlite:
        raise CliError("several workers need PostgreSQL (OMNIHUB_DATABASE_URL): SQLite serves one process")
    _ensure_schema(settings)
    click.echo(f"Omnihub listening on http://{host}:{port} (public URL {settings.public_base})")
    uvicorn.run(
        "hub.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        access_log=False,
        ws="websockets-sansio",
        # Compressing every console event once per socket cost more CPU than anything else in the fan-out
        # (bench/fanout.py); events are ~1-2 KB of JSON, so the bandwidth saved is not worth it.
        ws_per_message_deflate=False,
    )


@main.command()
@friendly
def worker() -> None:
    """Run the outbound delivery and background jobs (with Redis: any number of these)."""
    from hub.worker import run_worker

    settings = _settings()
    if not settings.redis_url:
        click.echo("note: without OMNIHUB_REDIS_URL this worker only sweeps the database for queued messages", err=True)
    _ensure_schema(settings)
    _run(run_worker(settings))


# --- people -------------------------------------------------------------------------------------


@main.command("create-agent")
@click.option("--email", required=True, help="Login email.")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=click.Choice(["admin", "agent", "bot"]), default="agent", show_default=True)
@click.option("--password", required=True, help="At least 8 characters.")
@friendly
def create_agent_cmd(email: str, name: str, role: str, password: str) -> None:
    """Create an agent who can log in to the console."""
    from conversation.agents import AgentError, create_agent

    async def run() -> tuple[str, int]:
        async with _services(settings) as services, services.sessions() as session:
            try:
                agent = await create_agent(session, email=email, name=name, role=role, password=password)
            except AgentError as exc:
                raise CliError(str(exc)) from exc
            await session.commit()
            return agent.email, int(agent.id or 0)

    settings = _settings()
    _ensure_schema(settings)
    stored_email, agent_id = _run(run())
    click.echo(f"created {role} {stored_email} (id {agent_id})")


@main.command("create-token")
@click.option("--email", required=True, help="The agent the token acts as.")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@friendly
def create_token(email: str, name: str) -> None:
    """Print a new API token for an agent (shown once)."""
    from conversation.agents import find_agent_by_email, issue_token

    async def run() -> str:
        async with _services(settings) as services, services.sessions() as session:
            agent = await find_agent_by_email(session, email)
            if agent is None:
                raise CliError(f"no agent with email {email}")
            token = await issue_token(session, agent, name)
            await session.commit()
            return token

    settings = _settings()
    _ensure_schema(settings)
    click.echo(_run(run()))


@main.command("reset-password")
@click.option("--email", required=True, help="The agent who forgot their password.")
@click.option("--password", required=True, help="The new password (at least 8 characters).")
@friendly
def reset_password(email: str, password: str) -> None:
    """Set a new password for an agent (the console's "forgot password" path)."""
    from conversation.agents import AgentError, find_agent_by_email, set_password

    async def run() -> None:
        async with _services(settings) as services, services.sessions() as session:
            agent = await find_agent_by_email(session, email)
            if agent is None:
                raise CliError(f"no agent with email {email}")
            try:
                await set_password(session, agent, password)
            except AgentError as exc:
                raise CliError(str(exc)) from exc
            await session.commit()

    settings = _settings()
    _ensure_schema(settings)
    _run(run())
    click.echo(f"password changed for {email}")


# --- data ---------------------------------------------------------------------------------------


@main.command()
@friendly
def demo() -> None:
    """Seed demo agents, inboxes, customers, orders and conversations (once; safe to repeat)."""
    from hub.demo import seed_demo

    settings = _settings()
    _ensure_schema(settings)

    async def run() -> bool:
        async with _services(settings) as services:
            return await seed_demo(services)

    created = _run(run())
    click.echo("demo data created" if created else "demo data already present")


@main.command("import-orders")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly
def import_orders(file: Path) -> None:
    """Import orders from FILE.json or FILE.csv (all rows or none; errors name their line)."""
    from hub.imports import ImportFailed, import_orders_file

    settings = _settings()
    _ensure_schema(settings)

    async def run() -> int:
        async with _services(settings) as services:
            return await import_orders_file(services, file)

    try:
        count = _run(run())
    except ImportFailed as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise CliError(f"nothing imported: {len(exc.problems)} problem(s) in {file.name}") from exc
    click.echo(f"imported {count} order(s)")


@main.command("ingest-email")
@click.option("--inbox", "inbox_id", required=True, type=int, help="The email inbox the message arrived at.")
@friendly
def ingest_email(inbox_id: int) -> None:
    """Store one RFC 5322 message read from standard input (procmail/postfix pipes)."""
    from hub.email_intake import IntakeError, ingest_raw_email

    settings = _settings()
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise CliError("no message on standard input")

    async def run() -> str:
        async with _services(settings) as services:
            return await ingest_raw_email(services, inbox_id, raw)

    try:
        _ensure_schema(settings)
        click.echo(_run(run()))
    except IntakeError as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:  # the database is away, ...: exit 75 (EX_TEMPFAIL) so the MTA retries, not bounces
        log.debug("ingest-email failed", exc_info=True)
        reason = exc.format_message() if isinstance(exc, click.ClickException) else _describe(exc)
        error = CliError(f"temporary failure, the message was not stored: {reason}")
        error.exit_code = 75
        raise error from exc


@main.command("telegram-webhook")
@click.option("--inbox", "inbox_id", required=True, type=int, help="The Telegram inbox whose bot should call us.")
@friendly
def telegram_webhook(inbox_id: int) -> None:
    """Point the inbox's Telegram bot at its webhook URL (setWebhook with the inbox's secret token)."""
    from hub.provider_setup import SetupFailed, register_inbox_webhook

    settings = _settings()
    _ensure_schema(settings)

    async def run() -> str:
        async with _services(settings) as services:
            try:
                _, url = await register_inbox_webhook(services, inbox_id, kind="telegram")
            except SetupFailed as exc:
                raise CliError(exc.reason) from exc
            return url

    click.echo(f"Telegram now delivers to {_run(run())}")


def _services(settings: Settings) -> Any:
    """An async context manager yielding Services and closing them afterwards."""
    import contextlib

    from hub.services import create_services

    @contextlib.asynccontextmanager
    async def manager() -> Any:
        services = create_services(settings)
        try:
            yield services
        finally:
            await services.close()

    return manager()


if __name__ == "__main__":  # pragma: no cover
    main()
