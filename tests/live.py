"""A real hub for tests: uvicorn serving `create_app(settings)` from its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn

from hub.app import create_app
from hub.config import Settings
from tests.fakes.base import free_port


class LiveHub:
    """`start()` blocks until the hub answers; `url` is its base URL; `stop()` shuts it down."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.port = port or free_port()
        self.settings = settings.model_copy(update={"public_url": settings.public_url})
        self.url = f"http://127.0.0.1:{self.port}"
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> LiveHub:
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", ws="websockets-sansio"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"hub failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("hub did not start within 20 s")
            time.sleep(0.02)
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())  # type: ignore[union-attr]
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    @property
    def services(self) -> Any:
        """The hub's Services (use only from the hub's own loop, e.g. via `run`)."""
        return self.app.state["services"]

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(20)
