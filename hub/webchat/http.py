"""Widget HTTP routes: `GET /widget.js`, the REST fallback for networks without WebSockets, attachment links.

REST calls are "simple" cross-origin requests (POST with a `text/plain` JSON body or a multipart form, no
custom headers), so browsers send no preflight; the session token travels in the body. Answers carry
`Access-Control-Allow-Origin` only for the inbox's own website.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

import connectors.webchat
from connectors.webchat.connector import MAX_ATTACHMENT_BYTES
from connectors.webchat.payloads import MAX_FRAME_BYTES, HelloFrame, ReceiptFrame, UserClaims
from conversation.models import Attachment
from hub.webchat import tokens
from hub.webchat.service import Session, WidgetError, WidgetService

WIDGET_JS = Path(connectors.webchat.__file__).resolve().parent / "static" / "widget.js"
#: Types a browser may render from our origin; anything else downloads (no HTML/SVG from visitors).
_INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
_OPTIONS: dict[str, Any] = {"exclude_from_auth": True, "exclude_from_csrf": True, "include_in_schema": False}


class Envelope(msgspec.Struct, forbid_unknown_fields=False):
    """The session token every REST call carries."""

    token: str | None = None


class _Sync(Envelope):
    after: int | None = None
    before: int | None = None


class _Receipt(Envelope):
    status: str = ""
    up_to: int = 0


class _Typing(Envelope):
    typing: bool = True


class _Identify(Envelope):
    user: UserClaims | None = None


def _cors(response: Response[Any], origin: str | None) -> Response[Any]:
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _error(exc: WidgetError, origin: str | None) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    # Only the inbox's own site may read why (an origin refusal tells a foreign site nothing).
    allowed = origin if exc.code not in ("origin_refused", "unknown_inbox") else None
    return _cors(Response(exc.frame(), status_code=exc.status, headers=headers), allowed)


def _inbox_param(request: Request[Any, Any, Any]) -> int | None:
    value = request.query_params.get("inbox") or ""
    return int(value) if value.isdigit() else None


async def _decode(request: Request[Any, Any, Any], shape: type[Any]) -> Any:
    body = await request.body()
    if len(body) > MAX_FRAME_BYTES:
        raise WidgetError("too_large", f"requests may have at most {MAX_FRAME_BYTES} bytes", 413)
    try:
        return msgspec.json.decode(body or b"{}", type=shape)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise WidgetError("bad_request", f"invalid request: {exc}") from exc


def _widget(request: Request[Any, Any, Any]) -> WidgetService:
    return request.app.state["services"].extras["webchat"]  # type: ignore[no-any-return]


async def _session(request: Request[Any, Any, Any], token: str | None) -> Session:
    return await _widget(request).resume(_inbox_param(request), request.headers.get("origin"), token)


async def _answer(
    request: Request[Any, Any, Any], work: Callable[[], Awaitable[dict[str, Any]]], status: int = 200
) -> Response[Any]:
    """Run `work`, answering its result or its `WidgetError`, readable by the inbox's website only."""
    origin = request.headers.get("origin")
    try:
        return _cors(Response(await work(), status_code=status), origin)
    except WidgetError as exc:
        return _error(exc, origin)


@get("/widget.js", **_OPTIONS)
async def widget_js(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The embeddable widget (plain JavaScript, cached for five minutes, revalidated by ETag)."""
    script, etag = _script()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(script, media_type="application/javascript; charset=utf-8", headers=headers)


@cache
def _script() -> tuple[bytes, str]:
    script = WIDGET_JS.read_bytes()
    return script, '"' + hashlib.sha256(script).hexdigest()[:20] + '"'


@post("/widget/session", status_code=200, **_OPTIONS)
async def open_session(request: Request[Any, Any, Any]) -> Response[Any]:
    """Start or resume a session (what the socket's hello does), for widgets without WebSockets."""

    async def work() -> dict[str, Any]:
        widget = _widget(request)
        hello = await _decode(request, HelloFrame)
        session = await widget.open_session(_inbox_param(request), request.headers.get("origin"), hello)
        error = None
        if hello.user is not None:
            try:
                await widget.identify(session, hello.user)
            except WidgetError as exc:
                error = exc.frame(about="identify")
        ready = await widget.ready(session, hello.last_id)
        return {**ready, "error": error} if error else ready

    return await _answer(request, work)


@post("/widget/messages", status_code=201, request_max_body_size=MAX_ATTACHMENT_BYTES + 256 * 1024, **_OPTIONS)
async def post_message(request: Request[Any, Any, Any]) -> Response[Any]:
    """A visitor message: a JSON body `{token, client_id, text}`, or a multipart form with a `file`."""

    async def work() -> dict[str, Any]:
        if request.content_type[0] == "multipart/form-data":
            return await _upload(request)
        body = await request.body()
        envelope = await _decode(request, Envelope)
        return await _widget(request).post_message(await _session(request, envelope.token), body)

    return await _answer(request, work, 201)


async def _upload(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise WidgetError("bad_request", "the form needs a file")
    session = await _session(request, str(form.get("token") or ""))
    content = await file.read(MAX_ATTACHMENT_BYTES + 1)
    client_id, text = str(form.get("client_id") or ""), str(form.get("text") or "")
    return await _widget(request).post_file(session, client_id, text, file.filename or "file", content)


@post("/widget/sync", status_code=200, **_OPTIONS)
async def sync(request: Request[Any, Any, Any]) -> Response[Any]:
    """Messages after `after` (missed, or polled) or before `before` (older history)."""

    async def work() -> dict[str, Any]:
        frame = await _decode(request, _Sync)
        session = await _session(request, frame.token)
        messages, more = await _widget(request).history(session, after=frame.after, before=frame.before)
        return {"type": "messages", "messages": messages, "has_more": more}

    return await _answer(request, work)


@post("/widget/receipts", status_code=200, **_OPTIONS)
async def receipts(request: Request[Any, Any, Any]) -> Response[Any]:
    """The visitor's widget showed (`delivered`) or the visitor read (`read`) replies up to `up_to`."""

    async def work() -> dict[str, Any]:
        frame = await _decode(request, _Receipt)
        receipt = ReceiptFrame(status=frame.status, up_to=frame.up_to)
        moved = await _widget(request).receipt(await _session(request, frame.token), receipt)
        return {"type": "receipt", "updated": moved}

    return await _answer(request, work)


@post("/widget/typing", status_code=200, **_OPTIONS)
async def typing(request: Request[Any, Any, Any]) -> Response[Any]:
    async def work() -> dict[str, Any]:
        frame = await _decode(request, _Typing)
        await _widget(request).typing(await _session(request, frame.token), frame.typing)
        return {"type": "typing", "ok": True}

    return await _answer(request, work)


@post("/widget/identify", status_code=200, **_OPTIONS)
async def identify(request: Request[Any, Any, Any]) -> Response[Any]:
    """`setUser` over REST: same rules as the socket (a wrong hash is refused with 403)."""

    async def work() -> dict[str, Any]:
        frame = await _decode(request, _Identify)
        if frame.user is None:
            raise WidgetError("bad_request", "user is required")
        return await _widget(request).identify(await _session(request, frame.token), frame.user)

    return await _answer(request, work)


@get("/widget/files/{attachment_id:int}/{signature:str}", **_OPTIONS)
async def download(
    request: Request[Any, Any, Any], attachment_id: FromPath[int], signature: FromPath[str]
) -> Response[Any]:
    """An attachment the visitor was shown a link to (the link is its capability)."""
    widget = _widget(request)
    missing = Response({"detail": "file not found", "status_code": 404}, status_code=404)
    if not tokens.file_signature_valid(widget.key, attachment_id, signature):
        return missing
    async with widget.services.sessions() as db:
        att = await db.get(Attachment, attachment_id)
    if att is None or att.status != "stored" or not att.storage_key:
        return missing
    data = await widget.services.store.get(att.storage_key)
    inline = att.content_type in _INLINE
    safe_name = "".join(c for c in att.filename if c.isalnum() or c in "._- ") or "file"
    return Response(
        data,
        media_type=att.content_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe_name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Cache-Control": "private, max-age=86400",
        },
    )


def widget_http() -> list[Any]:
    """The widget's HTTP route handlers (they find the widget layer in `services.extras["webchat"]`)."""
    return [widget_js, open_session, post_message, sync, receipts, typing, identify, download]
