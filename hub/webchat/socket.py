"""`WS /widget/ws`: one visitor's live chat — their frames in, their conversation's events out.

Protocol (JSON text frames; the widget speaks first):
  -> {"type": "hello", "token"?, "last_id"?, "user"?, "locale"?}      <- {"type": "ready", token, inbox, messages, ...}
  -> {"type": "message", "client_id", "text"}                         <- {"type": "ack", client_id, message}
  -> {"type": "typing", "typing"}   -> {"type": "receipt", "status": "delivered"|"read", "up_to"}
  -> {"type": "identify", identifier?, identifier_hash?, email?, name?, phone?}   <- {"type": "identified", ...}
  -> {"type": "sync", "after"? | "before"?}                           <- {"type": "messages", messages, has_more}
  -> {"type": "ping"}                                                 <- {"type": "pong"}
  <- {"type": "message", message} | {"type": "typing", typing, author} | {"type": "read", "by": "agent"}
  <- {"type": "error", code, message, client_id?, retry_after?}
The socket is refused before the handshake completes (HTTP 403) when the page's Origin is not the
inbox's website, so another site cannot open a visitor's chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.exceptions import WebSocketDisconnect

from connectors.webchat.payloads import MAX_FRAME_BYTES, HelloFrame, ReceiptFrame, SyncFrame, TypingFrame, UserClaims
from hub.webchat.service import REFRESH, Session, WidgetError, WidgetService

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 15.0
MAX_SOCKETS_PER_VISITOR = 10
CLOSE_POLICY = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_FRAME = 4400
CLOSE_TOO_BIG = 1009
CLOSE_TOO_MANY = 4429


class Subscriptions:
    """The channels one socket follows; the set changes when the visitor's conversations do."""

    def __init__(self, plugin: ChannelsPlugin, on_event: Callable[[bytes], Awaitable[None]]) -> None:
        self._plugin = plugin
        self._on_event = on_event
        self._subscribers: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}

    async def update(self, wanted: set[str]) -> None:
        for channel in set(self._subscribers) - wanted:
            await self._drop(channel)
        for channel in sorted(wanted - set(self._subscribers)):
            subscriber = await self._plugin.subscribe([channel])
            task = asyncio.create_task(self._pump(subscriber), name=f"widget-{channel}")
            self._subscribers[channel] = (subscriber, task)

    async def _pump(self, subscriber: Subscriber) -> None:
        async for event in subscriber.iter_events():
            try:
                await self._on_event(event)
            except Exception:  # one bad event must not end the visitor's live feed
                log.exception("forwarding a widget event failed")

    async def _drop(self, channel: str) -> None:
        subscriber, task = self._subscribers.pop(channel)
        await self._plugin.unsubscribe(subscriber, [channel])
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def close(self) -> None:
        for channel in list(self._subscribers):
            await self._drop(channel)


class SocketRegistry:
    """The widget sockets open in this process, by visitor (for limits, and to drop them on purpose)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sockets: dict[str, set[WebSocket[Any, Any, Any]]] = {}

    def add(self, visitor_id: str, socket: WebSocket[Any, Any, Any]) -> bool:
        self.loop = asyncio.get_running_loop()
        sockets = self._sockets.setdefault(visitor_id, set())
        if len(sockets) >= MAX_SOCKETS_PER_VISITOR:
            return False
        sockets.add(socket)
        return True

    def remove(self, visitor_id: str, socket: WebSocket[Any, Any, Any]) -> None:
        sockets = self._sockets.get(visitor_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[visitor_id]

    def count(self, visitor_id: str) -> int:
        return len(self._sockets.get(visitor_id, ()))

    async def close_visitor(self, visitor_id: str, code: int = 1012) -> int:
        """Close every socket of a visitor (a restart, a ban, or a test of reconnection)."""
        sockets = list(self._sockets.get(visitor_id, ()))
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close(code=code)
        return len(sockets)


class VisitorConnection:
    """One accepted widget socket: frames in, filtered events out."""

    def __init__(
        self, widget: WidgetService, registry: SocketRegistry, socket: WebSocket[Any, Any, Any], session: Session
    ) -> None:
        self.widget = widget
        self.registry = registry
        self.socket = socket
        self.session = session
        self.subscriptions = Subscriptions(widget.services.channels, self.on_event)
        self.last_sent = 0
        self._lock = asyncio.Lock()
        self._handlers: dict[str, Callable[[bytes], Awaitable[None]]] = {
            "message": self._message,
            "typing": self._typing,
            "receipt": self._receipt,
            "identify": self._identify,
            "sync": self._sync,
            "ping": self._ping,
        }

    async def send(self, frame: dict[str, Any]) -> None:
        ids = [m["id"] for m in frame.get("messages", []) if m] + [
            m["id"] for m in (frame.get("message"),) if isinstance(m, dict)
        ]
        if ids:
            self.last_sent = max(self.last_sent, *ids)
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.socket.send_text(msgspec.json.encode(frame).decode())

    async def on_event(self, payload: bytes) -> None:
        frame = await self.widget.visitor_event(self.session, payload)
        if frame is None:
            return
        if frame["type"] == REFRESH:
            await self.resync()
            return
        await self.send(frame)

    async def resync(self) -> None:
        """The visitor's conversations changed elsewhere: follow the new ones and send what we lack."""
        await self.widget.refresh(self.session)
        await self.subscriptions.update(self.session.channels())
        messages, more = await self.widget.history(self.session, after=self.last_sent)
        if messages:
            await self.send({"type": "messages", "messages": messages, "has_more": more})

    async def run(self, hello: HelloFrame) -> None:
        """Identify (if the hello says who), send `ready`, then serve frames until the visitor leaves."""
        identity_error = None
        last_id = hello.last_id
        if hello.user is not None:
            try:
                if (await self.widget.identify(self.session, hello.user)).get("reset"):
                    last_id = None
            except WidgetError as exc:
                identity_error = exc.frame(about="identify")
        if not self.registry.add(self.session.visitor_id, self.socket):
            await self.socket.close(code=CLOSE_TOO_MANY, reason="too many open chats")
            return
        try:
            await self._serve(last_id, identity_error)
        finally:
            self.registry.remove(self.session.visitor_id, self.socket)
            await self.subscriptions.close()

    async def _serve(self, last_id: int | None, identity_error: dict[str, Any] | None) -> None:
        await self.subscriptions.update(self.session.channels())
        await self.send(await self.widget.ready(self.session, last_id))
        if identity_error is not None:
            await self.send(identity_error)
        while True:
            frame = (await self.socket.receive_text()).encode()
            if len(frame) > MAX_FRAME_BYTES:
                await self.send(WidgetError("too_large", f"frames may have at most {MAX_FRAME_BYTES} bytes").frame())
                await self.socket.close(code=CLOSE_TOO_BIG)
                return
            await self.dispatch(frame)

    async def dispatch(self, frame: bytes) -> None:
        try:
            kind = msgspec.json.decode(frame).get("type")
        except (msgspec.DecodeError, AttributeError, RecursionError):
            kind = None
        if not isinstance(kind, str):
            await self.send(WidgetError("bad_frame", "frames must be JSON objects with a type").frame())
            return
        handler = self._handlers.get(kind)
        if handler is None:
            await self.send(WidgetError("bad_frame", f"unknown frame type {kind!r}").frame())
            return
        try:
            await handler(frame)
        except WidgetError as exc:
            await self.send(exc.frame(about=kind, **_client_id(frame)))
        except msgspec.ValidationError as exc:
            await self.send(WidgetError("bad_frame", str(exc)).frame(about=kind, **_client_id(frame)))

    async def _message(self, frame: bytes) -> None:
        ack = await self.widget.post_message(self.session, frame)
        await self.subscriptions.update(self.session.channels())  # a first message starts a conversation
        await self.send(ack)

    async def _typing(self, frame: bytes) -> None:
        await self.widget.typing(self.session, msgspec.json.decode(frame, type=TypingFrame).typing)

    async def _receipt(self, frame: bytes) -> None:
        await self.widget.receipt(self.session, msgspec.json.decode(frame, type=ReceiptFrame))

    async def _identify(self, frame: bytes) -> None:
        claims = msgspec.json.decode(frame, type=UserClaims)
        before, before_visitor = self.session.state.customer_id, self.session.visitor_id
        identified = await self.widget.identify(self.session, claims)
        await self.subscriptions.update(self.session.channels())
        await self.send(identified)
        if identified.get("reset"):
            self.registry.remove(before_visitor, self.socket)
            self.registry.add(self.session.visitor_id, self.socket)
        if identified.get("reset") or before != self.session.state.customer_id:
            messages, more = await self.widget.history(self.session)
            await self.send({"type": "messages", "messages": messages, "has_more": more, "replace": True})

    async def _sync(self, frame: bytes) -> None:
        sync = msgspec.json.decode(frame, type=SyncFrame)
        messages, more = await self.widget.history(self.session, after=sync.after, before=sync.before)
        await self.send({"type": "messages", "messages": messages, "has_more": more, "before": sync.before})

    async def _ping(self, frame: bytes) -> None:
        await self.send({"type": "pong"})


def _client_id(frame: bytes) -> dict[str, Any]:
    with contextlib.suppress(Exception):
        value = msgspec.json.decode(frame).get("client_id")
        if isinstance(value, str):
            return {"client_id": value[:64]}
    return {}


def _inbox_param(socket: WebSocket[Any, Any, Any]) -> int | None:
    value = socket.query_params.get("inbox") or ""
    return int(value) if value.isdigit() else None


def widget_socket(widget: WidgetService, registry: SocketRegistry) -> Any:
    """The `WS /widget/ws?inbox=<id>` handler bound to this process's widget layer."""

    @websocket("/widget/ws", exclude_from_auth=True, include_in_schema=False)
    async def widget_ws(socket: WebSocket[Any, Any, Any]) -> None:
        origin = socket.headers.get("origin")
        try:
            _, account = await widget.inbox(_inbox_param(socket))
            widget.check_origin(account, origin)
        except WidgetError as exc:
            # Closing before accepting refuses the handshake: the browser sees HTTP 403.
            await socket.close(code=CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_POLICY, reason=exc.code)
            return
        await socket.accept()
        try:
            hello = msgspec.json.decode(await asyncio.wait_for(socket.receive_text(), HELLO_TIMEOUT), type=HelloFrame)
        except (TimeoutError, WebSocketDisconnect):
            with contextlib.suppress(Exception):
                await socket.close(code=CLOSE_BAD_FRAME, reason="hello expected")
            return
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            await socket.send_json(WidgetError("bad_frame", "the first frame must be a hello").frame())
            await socket.close(code=CLOSE_BAD_FRAME)
            return
        try:
            session = await widget.open_session(_inbox_param(socket), origin, hello)
        except WidgetError as exc:
            await socket.send_json(exc.frame())
            await socket.close(code=CLOSE_POLICY)
            return
        try:
            await VisitorConnection(widget, registry, socket, session).run(hello)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("widget socket of inbox %s failed", session.inbox_id)
            raise

    return widget_ws
