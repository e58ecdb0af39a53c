"""Job queue: SAQ on Redis when configured, an in-process asyncio queue on the embedded default.

Jobs only trigger work whose truth is a database row (a queued message, a pending attachment); both
backends dedupe by job key and a sweeper re-enqueues rows whose job was lost, so neither backend has
to be durable on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from conversation.events import Job

log = logging.getLogger(__name__)

JobHandler = Callable[..., Awaitable[Any]]


class JobQueue(Protocol):
    """What the hub needs from a queue."""

    async def enqueue(self, jobs: Sequence[Job]) -> None: ...

    async def start_workers(self, handlers: dict[str, JobHandler], concurrency: int) -> None: ...

    async def close(self) -> None: ...


class InProcessQueue:
    """An asyncio queue with delayed jobs and key dedupe, for one process on the embedded default."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._pending: set[str] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._handlers: dict[str, JobHandler] = {}

    async def enqueue(self, jobs: Sequence[Job]) -> None:
        loop = asyncio.get_running_loop()
        for job in jobs:
            if job.key is not None:
                if job.key in self._pending:
                    continue
                self._pending.add(job.key)
            if job.delay_seconds > 0:
                handle = loop.call_later(job.delay_seconds, self._put_later, job)
                self._timers.add(handle)
            else:
                self._queue.put_nowait(job)

    def _put_later(self, job: Job) -> None:
        self._timers = {t for t in self._timers if not t.cancelled() and t.when() > time.monotonic()}
        self._queue.put_nowait(job)

    async def start_workers(self, handlers: dict[str, JobHandler], concurrency: int) -> None:
        self._handlers = handlers
        self._workers = [asyncio.create_task(self._work(), name=f"omnihub-job-{i}") for i in range(concurrency)]

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            if job.key is not None:
                self._pending.discard(job.key)
            handler = self._handlers.get(job.name)
            if handler is None:
                log.error("no handler for job %s", job.name)
                continue
            try:
                await handler(**job.kwargs)
            except Exception:
                log.exception("job %s failed", job.name)

    async def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []


class SaqQueue:
    """SAQ on Redis: any process enqueues, any `omnihub worker` (or serve) process works."""

    def __init__(self, redis_url: str, name: str) -> None:
        from saq import Queue

        self._queue = Queue.from_url(redis_url, name=name)
        self._worker: Any = None
        self._worker_task: asyncio.Task[None] | None = None
        self._connected = False

    async def _connect(self) -> None:
        if not self._connected:
            await self._queue.connect()
            self._connected = True

    async def enqueue(self, jobs: Sequence[Job]) -> None:
        await self._connect()
        now = time.time()
        for job in jobs:
            await self._queue.enqueue(
                job.name,
                key=job.key,
                scheduled=int(now + job.delay_seconds) if job.delay_seconds else 0,
                timeout=120,
                retries=1,  # our own rows carry the retry policy; SAQ must not resend on its own
                ttl=600,
                **job.kwargs,
            )

    async def start_workers(self, handlers: dict[str, JobHandler], concurrency: int) -> None:
        from saq import Worker

        await self._connect()

        def adapt(name: str, handler: JobHandler) -> tuple[str, Callable[..., Awaitable[Any]]]:
            async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
                return await handler(**kwargs)

            run.__qualname__ = name
            return name, run

        self._worker = Worker(
            self._queue,
            functions=[adapt(name, handler) for name, handler in handlers.items()],
            concurrency=concurrency,
            timers={"schedule": 1, "sweep": 30},
        )
        # The process (uvicorn, `omnihub worker`) owns signal handling; SAQ must not take SIGINT/SIGTERM.
        self._worker.SIGNALS = []
        self._worker_task = asyncio.create_task(self._worker.start(), name="omnihub-saq-worker")

    async def close(self) -> None:
        if self._worker is not None:
            await self._worker.stop()
            self._worker = None
        if self._worker_task is not None:
            self._worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker_task
        if self._connected:
            await self._queue.disconnect()
            self._connected = False


def create_queue(redis_url: str | None, namespace: str) -> InProcessQueue | SaqQueue:
    """The queue for this configuration."""
    if redis_url:
        return SaqQueue(redis_url, name=f"{namespace}:jobs")
    return InProcessQueue()
