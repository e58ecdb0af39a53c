"""The web chat's hub side: widget routes, the visitor socket, agent typing/files, offline emails."""

from __future__ import annotations

from typing import Any

from hub.services import Services


def widget_handlers(services: Services) -> list[Any]:
    """Every web chat route for this process (the widget layer is shared through `services.extras`)."""
    from hub.webchat.agent_api import agent_routes
    from hub.webchat.http import widget_http
    from hub.webchat.service import WidgetService
    from hub.webchat.socket import SocketRegistry, widget_socket

    widget = WidgetService(services)
    registry = SocketRegistry()
    services.extras["webchat"] = widget
    services.extras["webchat_sockets"] = registry
    return [*widget_http(), widget_socket(widget, registry), *agent_routes(services)]
