"""Meta connectors (WhatsApp Cloud API and Facebook Messenger): the public entry points of this package.

Both take webhooks at `GET`/`POST /webhooks/meta/{inbox_id}` (the hub picks the connector from the inbox's
kind), share the `X-Hub-Signature-256` check and the `hub.challenge` handshake (`_common.py`) and the Graph
API client (`client.py`); each product's parsing and sending lives in `whatsapp.py` / `messenger.py`.
"""

from __future__ import annotations

from connectors.meta._common import SIGNATURE_HEADER, hub_signature
from connectors.meta.messenger import WATERMARK_PREFIX, MessengerConnector
from connectors.meta.whatsapp import WINDOW_CLOSED_REASON, WhatsAppConnector, whatsapp_window_open

__all__ = [
    "SIGNATURE_HEADER",
    "WATERMARK_PREFIX",
    "WINDOW_CLOSED_REASON",
    "MessengerConnector",
    "WhatsAppConnector",
    "hub_signature",
    "whatsapp_window_open",
]
