"""Errors in the contract's shape: `{"detail": "...", "status_code": N}`, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """An error a client caused (4xx) with a clear reason."""

    def __init__(self, status_code: int, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail=detail, status_code=status_code, extra=extra)


def _body(status: int, detail: str, extra: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "status_code": status}
    if extra:
        body["extra"] = extra
    return body


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Every HTTPException (ours, Litestar's validation, 404s) in the contract's shape."""
    status = exc.status_code
    detail = exc.detail
    extra = exc.extra
    if isinstance(exc, ValidationException):
        detail = _validation_detail(exc)
        status = 422 if status == 400 and request.method != "GET" else status
    elif isinstance(exc, NotAuthorizedException) and not detail:
        detail = "authentication required"
    elif isinstance(exc, PermissionDeniedException) and not detail:
        detail = "not allowed"
    return Response(
        content=_body(status, detail, extra), status_code=status, media_type=MediaType.JSON, headers=exc.headers
    )


def _validation_detail(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        parts = []
        for item in extra:
            if isinstance(item, dict):
                key = item.get("key") or item.get("source") or ""
                parts.append(f"{key}: {item.get('message')}" if key else str(item.get("message")))
        if parts:
            return "invalid request: " + "; ".join(parts)
    return exc.detail or "invalid request"


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: log it with its traceback, answer a plain 500 without details."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(content=_body(500, "internal error"), status_code=500, media_type=MediaType.JSON)
