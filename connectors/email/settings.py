"""An email inbox's settings, typed: what the connector, the SMTP client and the IMAP poller read."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from conversation.types import SettingsSpec

_BOT = frozenset({"bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"})

#: CONTRACT.md: `address, imap_host, imap_port, imap_username, imap_password, smtp_host, smtp_port,
#: smtp_username, smtp_password` (+ TLS options); the rest are optional extras documented in
#: docs/channels/email.md.
SETTINGS_SPEC = SettingsSpec(
    required=frozenset(
        {
            "address",
            "imap_host",
            "imap_port",
            "imap_username",
            "imap_password",
            "smtp_host",
            "smtp_port",
            "smtp_username",
            "smtp_password",
        }
    ),
    optional=frozenset(
        {
            "imap_tls",
            "imap_starttls",
            "smtp_tls",
            "smtp_starttls",
            "tls_verify",
            "imap_enabled",
            "imap_folder",
            "processed_folder",
            "mark_seen",
            "poll_interval",
            "webhook_token",
            "from_name",
            "plus_addressing",
            "subject_token",
            "aliases",
        }
    )
    | _BOT,
    secrets=frozenset({"imap_password", "smtp_password", "webhook_token", "agent_bot_secret"}),
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """A setting that cannot be used as given (one line, names the key)."""


def flag(settings: dict[str, Any], key: str, default: bool) -> bool:
    """A boolean setting given as JSON true/false or as a form string."""
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{key} must be true or false")


def number(settings: dict[str, Any], key: str, default: float | None = None) -> float:
    value = settings.get(key, default)
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{key} must be a number") from exc
    if result <= 0:
        raise SettingsError(f"{key} must be positive")
    return result


def port(settings: dict[str, Any], key: str) -> int:
    value = number(settings, key)
    if value != int(value) or not 0 < value < 65536:
        raise SettingsError(f"{key} must be a port number")
    return int(value)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How to reach one mail server. `tls` = implicit TLS (993/465); `starttls` = upgrade, required."""

    host: str
    port: int
    username: str
    password: str
    tls: bool
    starttls: bool
    verify: bool

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:  # a self-signed certificate on the shop's own mail server, by explicit choice
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """Everything an email inbox is configured with, validated."""

    address: str
    imap: ServerSettings
    smtp: ServerSettings
    imap_enabled: bool
    folder: str
    processed_folder: str | None
    mark_seen: bool
    poll_interval: float
    from_name: str | None
    plus_addressing: bool
    subject_token: bool
    aliases: frozenset[str]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def plus_address(self, token: str) -> str:
        """`support+<token>@shop.com` for `support@shop.com`."""
        local, _, domain = self.address.rpartition("@")
        return f"{local}+{token}@{domain}"


def _server(settings: dict[str, Any], prefix: str, implicit_tls_port: int) -> ServerSettings:
    host = str(settings.get(f"{prefix}_host") or "").strip()
    if not host:
        raise SettingsError(f"{prefix}_host is missing")
    number_ = port(settings, f"{prefix}_port")
    tls = flag(settings, f"{prefix}_tls", number_ == implicit_tls_port)
    # Without implicit TLS, STARTTLS is required unless the admin turns it off (a local relay).
    starttls = False if tls else flag(settings, f"{prefix}_starttls", True)
    return ServerSettings(
        host=host,
        port=number_,
        username=str(settings.get(f"{prefix}_username") or ""),
        password=str(settings.get(f"{prefix}_password") or ""),
        tls=tls,
        starttls=starttls,
        verify=flag(settings, "tls_verify", True),
    )


def _aliases(value: Any) -> frozenset[str]:
    if not value:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise SettingsError("aliases must be a list of addresses")
    return frozenset(str(a).strip().lower() for a in items if str(a).strip())


def email_settings(settings: dict[str, Any]) -> EmailSettings:
    """Typed settings from an inbox's (decrypted) settings dict; `SettingsError` names a bad key."""
    address = str(settings.get("address") or "").strip()
    local, at, domain = address.rpartition("@")
    if not (at and local and "." in domain) or any(c.isspace() or c in '<>"(),;:' for c in address):
        raise SettingsError("address must be an email address like support@shop.example")
    folder = str(settings.get("imap_folder") or "INBOX").strip() or "INBOX"
    processed = str(settings.get("processed_folder") or "").strip() or None
    return EmailSettings(
        address=address,
        imap=_server(settings, "imap", 993),
        smtp=_server(settings, "smtp", 465),
        imap_enabled=flag(settings, "imap_enabled", True),
        folder=folder,
        processed_folder=processed if processed != folder else None,
        mark_seen=flag(settings, "mark_seen", True),
        poll_interval=number(settings, "poll_interval", 60.0),
        from_name=str(settings.get("from_name") or "").strip() or None,
        plus_addressing=flag(settings, "plus_addressing", False),
        subject_token=flag(settings, "subject_token", False),
        aliases=_aliases(settings.get("aliases")),
    )
