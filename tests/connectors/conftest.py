"""Shared helpers for connector tests: recorded fixtures and raw requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Headers, InboxConfig, RawRequest
from tests.paths import SHARED_FIXTURES


def load_fixture(provider: str, name: str) -> bytes:
    """Bytes of `../shared/fixtures/payloads/<provider>/<name>` exactly as recorded."""
    return (SHARED_FIXTURES / "payloads" / provider / name).read_bytes()


def load_json_fixture(provider: str, name: str) -> Any:
    """A recorded JSON payload, decoded."""
    return json.loads(load_fixture(provider, name))


def make_raw_request(
    body: bytes,
    *,
    url: str = "https://hub.example.com/webhooks/test/1",
    headers: dict[str, str] | None = None,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> RawRequest:
    """A `RawRequest` as the hub builds it from an incoming HTTP request."""
    return RawRequest(method=method, url=url, headers=Headers(headers or {}), body=body, query=query or {})


def make_account(kind: str, settings: dict[str, Any], inbox_id: int = 1) -> InboxConfig:
    """An inbox configuration as the hub hands it to a connector."""
    return InboxConfig(id=inbox_id, kind=kind, name=f"{kind} test", settings=settings)


@pytest.fixture
def fixture_dir() -> Path:
    return SHARED_FIXTURES / "payloads"
