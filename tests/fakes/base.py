"""A small local stand-in for a provider's HTTP API, run in its own thread for tests.

Subclasses register routes; every request is recorded (method, path, headers, body, parsed form or
JSON) and a test can script failures (`fail_next(status, body, times)`, `delay_next(seconds)`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict

Handler = Callable[["RecordedRequest"], Awaitable[web.StreamResponse] | web.StreamResponse]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]  # case-insensitive, as HTTP header names are
    body: bytes
    match_info: dict[str, str] = field(default_factory=dict)

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def data(self) -> dict[str, Any]:
        """The body as a dict whether it was sent as JSON or as a form."""
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            value = self.json
            return value if isinstance(value, dict) else {"_": value}
        return self.form


@dataclass
class _Scripted:
    status: int
    body: Any
    times: int
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    """Base class: `with FakeX() as fake: ... fake.url ... fake.requests`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[RecordedRequest] = []
        self._scripted: list[_Scripted] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(self.app)

    # -- to override -------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """Register the provider's routes with `self.route(method, path, handler)`."""

    # -- helpers for subclasses --------------------------------------------------------------------
    def route(self, method: str, path: str, handler: Handler) -> None:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            recorded = RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDict(request.headers),
                body=await request.read(),
                match_info=dict(request.match_info),
            )
            with self._lock:
                self.requests.append(recorded)
                scripted = self._take_scripted()
            if scripted is not None:
                if scripted.delay:
                    await asyncio.sleep(scripted.delay)
                if scripted.status:
                    return self._scripted_response(scripted)
            result = handler(recorded)
            if asyncio.iscoroutine(result):
                result = await result
            return result  # type: ignore[return-value]

        self.app.router.add_route(method, path, wrapped)

    def _take_scripted(self) -> _Scripted | None:
        if not self._scripted:
            return None
        head = self._scripted[0]
        head.times -= 1
        if head.times <= 0:
            self._scripted.pop(0)
        return head

    @staticmethod
    def _scripted_response(s: _Scripted) -> web.StreamResponse:
        if isinstance(s.body, (dict, list)):
            return web.json_response(s.body, status=s.status, headers=s.headers)
        return web.Response(status=s.status, text=str(s.body or ""), headers=s.headers)

    def fail_next(self, status: int, body: Any = None, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests with `status`/`body` instead of the normal handler."""
        with self._lock:
            self._scripted.append(_Scripted(status=status, body=body, times=times, headers=headers or {}))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Delay the next `times` requests (then answer normally): simulates timeouts."""
        with self._lock:
            self._scripted.append(_Scripted(status=0, body=None, times=times, delay=seconds))

    def requests_to(self, suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with `suffix`."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix)]

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._runner = web.AppRunner(self.app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        loop.run_until_complete(site.start())
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
