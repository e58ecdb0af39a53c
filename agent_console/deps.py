"""What the console and API need from the hub, provided by dependency injection (see hub/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.channels import ChannelsPlugin

from conversation.models import Agent
from conversation.secretbox import SecretBox
from conversation.types import SettingsSpec


@dataclass
class ConsoleContext:
    """Process-wide collaborators of the console and API handlers."""

    public_base: str
    channel_specs: Mapping[str, SettingsSpec]
    integration_specs: Mapping[str, SettingsSpec]
    box: SecretBox
    webhook_url: Callable[[str, int], str]
    integration_webhook_url: Callable[[str, int], str]
    read_attachment: Callable[[str], Awaitable[bytes]]
    channels: ChannelsPlugin
    on_inbox_changed: Callable[[int], None] = lambda _id: None
    on_agent_changed: Callable[[], None] = lambda: None
    #: Stores attachment bytes (agent uploads) and returns their storage key; None: uploads are off.
    write_attachment: Callable[[bytes], Awaitable[str]] | None = None
    max_attachment_bytes: int = 25 * 1024 * 1024
    extras: dict[str, Any] = field(default_factory=dict)


def current_agent(request: Request[Any, Any, Any]) -> Agent:
    """The authenticated agent (the auth middleware guarantees one on protected routes)."""
    return request.user  # type: ignore[no-any-return]
