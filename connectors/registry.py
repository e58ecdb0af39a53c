"""The explicit registry of connectors: one line per channel kind (no naming magic)."""

from __future__ import annotations

from connectors.api.connector import ApiConnector
from connectors.base import Connector
from connectors.meta.connector import MessengerConnector, WhatsAppConnector
from connectors.slack.connector import SlackConnector
from connectors.sms.connector import SmsConnector
from connectors.telegram.connector import TelegramConnector

REGISTRY: dict[str, Connector] = {
    "api": ApiConnector(),
    "sms": SmsConnector(),
    "slack": SlackConnector(),
    "telegram": TelegramConnector(),
    "whatsapp": WhatsAppConnector(),
    "messenger": MessengerConnector(),
}


def get_connector(kind: str) -> Connector | None:
    """The connector for `kind`, or None when the kind has none (yet)."""
    return REGISTRY.get(kind)
