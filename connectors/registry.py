"""The explicit registry of connectors: one line per channel kind (no naming magic)."""

from __future__ import annotations

from connectors.api.connector import ApiConnector
from connectors.base import Connector
from connectors.email.connector import EmailConnector
from connectors.meta.connector import MessengerConnector, WhatsAppConnector
from connectors.shopify.connector import ShopifyConnector
from connectors.slack.connector import SlackConnector
from connectors.sms.connector import SmsConnector
from connectors.telegram.connector import TelegramConnector
from connectors.webchat.connector import WebchatConnector

REGISTRY: dict[str, Connector] = {
    "api": ApiConnector(),
    "sms": SmsConnector(),
    "slack": SlackConnector(),
    "telegram": TelegramConnector(),
    "whatsapp": WhatsAppConnector(),
    "messenger": MessengerConnector(),
    "email": EmailConnector(),
    "webchat": WebchatConnector(),
}

#: Order sources (integrations, not inboxes): they verify and parse, and never send.
ORDER_SOURCES: dict[str, Connector] = {"shopify": ShopifyConnector()}


def get_connector(kind: str) -> Connector | None:
    """The connector for `kind`, or None when the kind has none (yet)."""
    return REGISTRY.get(kind)
