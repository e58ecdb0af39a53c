"""The process-wide services (engine, sessions, events, queue, attachment store) built from Settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar.channels import ChannelsPlugin
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import InboxConfig
from connectors.http import close_shared_client
from conversation.events import DomainEvent, Job
from conversation.inboxes import full_settings
from conversation.ingest import InboxPolicy
from conversation.models import Inbox
from conversation.secretbox import SecretBox
from conversation.uow import UnitOfWork
from hub.attachments import AttachmentStore, LocalAttachmentStore
from hub.config import Settings
from hub.live import Publisher, create_channels
from hub.queue import InProcessQueue, SaqQueue, create_queue
from hub.storage.engine import SessionFactory, create_engine, create_session_factory
from hub.storage.raw import RawConnections

#: Path segment of each inbox kind's webhook (whatsapp and messenger share Meta's).
WEBHOOK_SEGMENT = {
    "sms": "sms",
    "telegram": "telegram",
    "slack": "slack",
    "whatsapp": "meta",
    "messenger": "meta",
    "email": "email",
    "api": "api",
}


@dataclass
class Services:
    """Everything a request, a job or a CLI command needs, created once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    channels: ChannelsPlugin
    queue: InProcessQueue | SaqQueue
    store: AttachmentStore
    box: SecretBox
    raw: RawConnections = field(init=False)
    publisher: Publisher = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.publisher = Publisher(self.channels)
        self.raw = RawConnections(self.settings.database_url, max_size=self.settings.db_hot_pool_size)

    def uow(self) -> UnitOfWork:
        """A unit of work on a new session (use `async with services.uow() as uow:`)."""
        return UnitOfWork(self.sessions(), self.publisher.publish, self.enqueue)

    async def enqueue(self, jobs: Sequence[Job]) -> None:
        await self.queue.enqueue(jobs)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        await self.publisher.publish(events)

    def webhook_url(self, kind: str, inbox_id: int) -> str:
        """The public URL a provider must call for this inbox ("" for kinds without webhooks)."""
        if kind == "webchat":
            return f"{self.settings.public_base}/widget.js"
        segment = WEBHOOK_SEGMENT.get(kind)
        return f"{self.settings.public_base}/webhooks/{segment}/{inbox_id}" if segment else ""

    def inbox_config(self, inbox: Inbox) -> InboxConfig:
        """The connector's view of an inbox: decrypted settings, webhook URL."""
        assert inbox.id is not None
        return InboxConfig(
            id=inbox.id,
            kind=inbox.kind,
            name=inbox.name,
            settings=full_settings(inbox, self.box),
            webhook_url=self.webhook_url(inbox.kind, inbox.id),
            public_url=self.settings.public_base,
        )

    def inbox_policy(self, inbox: Inbox) -> InboxPolicy:
        """What ingest needs to know about an inbox."""
        assert inbox.id is not None
        return InboxPolicy(
            id=inbox.id,
            kind=inbox.kind,
            # An external agent bot (issue 7) also answers through the `bot_reply` job.
            bot_enabled=bool(inbox.settings.get("bot_enabled") or inbox.settings.get("agent_bot_url")),
            reopen_window=timedelta(days=self.settings.reopen_window_days),
        )

    async def close(self) -> None:
        await self.queue.close()
        await close_shared_client()
        await self.raw.close()
        await self.engine.dispose()


def create_services(settings: Settings) -> Services:
    """Build the services for `settings` (nothing connects until first use)."""
    settings.prepare_dirs()
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    return Services(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        channels=create_channels(settings.redis_url, settings.redis_namespace),
        queue=create_queue(settings.redis_url, settings.redis_namespace),
        store=LocalAttachmentStore(settings.var_dir / "attachments"),
        box=SecretBox(settings.resolved_secret_key),
    )
