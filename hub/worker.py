"""`omnihub worker`: job workers and the sweeper in their own process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from hub.config import Settings
from hub.outbox import Worker
from hub.services import create_services

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Work jobs until SIGINT/SIGTERM (or until `stop` is set)."""
    services = create_services(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    worker = Worker(services)
    async with services.channels:  # publishes delivery status events to every console
        await worker.start()
        log.warning("omnihub worker running")
        try:
            await stop.wait()
        finally:
            await worker.stop()
            await services.raw.close()
            await services.engine.dispose()
