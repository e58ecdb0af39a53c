"""Unit of work: one database transaction plus the events and jobs it produced.

Domain functions write through `uow.session`, `record()` events and `defer()` jobs; nothing leaves the
process until `commit()` succeeds, and then events are published and jobs enqueued. A job lost here
(Redis down, crash) is not lost work: the row it points to stays `queued` and the sweeper re-enqueues it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

from sqlmodel.ext.asyncio.session import AsyncSession

from conversation.events import DomainEvent, Job

Publish = Callable[[Sequence[DomainEvent]], Awaitable[None]]
Enqueue = Callable[[Sequence[Job]], Awaitable[None]]

log = logging.getLogger(__name__)


async def _discard_events(_: Sequence[DomainEvent]) -> None:
    return None


async def _discard_jobs(_: Sequence[Job]) -> None:
    return None


class UnitOfWork:
    """A session with after-commit side effects (see module docstring)."""

    def __init__(
        self,
        session: AsyncSession,
        publish: Publish = _discard_events,
        enqueue: Enqueue = _discard_jobs,
    ) -> None:
        self.session = session
        self._publish = publish
        self._enqueue = enqueue
        self.events: list[DomainEvent] = []
        self.jobs: list[Job] = []

    def record(self, event: DomainEvent) -> None:
        """Publish `event` once this unit commits."""
        self.events.append(event)

    def defer(self, job: Job) -> None:
        """Enqueue `job` once this unit commits."""
        self.jobs.append(job)

    async def commit(self) -> None:
        """Commit, then enqueue jobs and publish events (failures there are logged, not raised)."""
        await self.session.commit()
        events, jobs = self.events, self.jobs
        self.events, self.jobs = [], []
        if jobs:
            try:
                await self._enqueue(jobs)
            except Exception:
                log.exception("enqueue after commit failed; the sweeper will pick the rows up")
        if events:
            try:
                await self._publish(events)
            except Exception:
                log.exception("publishing events after commit failed")

    async def rollback(self) -> None:
        """Undo the transaction and forget its events and jobs."""
        await self.session.rollback()
        self.events, self.jobs = [], []

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None or self.session.in_transaction():
            await self.rollback()
