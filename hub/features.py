"""Where each capability plugs into every process: extra routes, job handlers, background loops.

One line per capability; `create_app` and the worker read these three functions. Keep imports local to
the functions so a process only loads what it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hub.services import Services


class BackgroundTask(Protocol):
    """A long-running loop owned by the worker (IMAP pollers, snooze wake-ups...)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def route_handlers(services: Services) -> list[Any]:
    """HTTP/WebSocket handlers beyond the core API and webhooks."""
    handlers: list[Any] = []
    from hub.provider_setup import provider_setup_handlers  # Telegram setWebhook (issue 3)

    handlers += provider_setup_handlers(services)
    from hub.shopify import shopify_webhook_handlers  # Shopify order webhooks (issue 7)

    handlers += shopify_webhook_handlers(services)
    from hub.webchat import widget_handlers  # web chat widget, visitor socket, agent typing/files (issue 5)

    handlers += widget_handlers(services)
    from hub.demo_page import demo_page_handlers  # a pretend shop page embedding the web chat (demo)

    handlers += demo_page_handlers(services)
    return handlers


def job_handlers(services: Services) -> dict[str, Callable[..., Awaitable[Any]]]:
    """Job name -> handler, beyond outbound delivery and attachment fetching."""
    handlers: dict[str, Callable[..., Awaitable[Any]]] = {}
    from hub.bot_runner import bot_job_handlers  # the order-status bot and external agent bots (issue 7)

    handlers.update(bot_job_handlers(services))
    return handlers


def background_tasks(services: Services) -> list[BackgroundTask]:
    """Loops the worker runs next to the job queue."""
    tasks: list[BackgroundTask] = []
    from hub.bot_runner import BotWarmup  # load the bot's language models before the first message (issue 7)

    tasks.append(BotWarmup(services))
    from hub.email_poller import EmailPollers  # IMAP intake, one poller per email inbox (issue 4)

    tasks.append(EmailPollers(services))
    from hub.webchat.continuity import OfflineEmails  # unread web chat replies go out by email (issue 5)

    tasks.append(OfflineEmails(services))
    return tasks
