"""Every route of the console and the JSON API, in one list the hub mounts."""

from __future__ import annotations

from typing import Any

from agent_console.controllers.admin_pages import admin_router
from agent_console.controllers.agents import AgentController, CannedResponseController, me
from agent_console.controllers.attachments import download_attachment
from agent_console.controllers.bot import classify_message
from agent_console.controllers.console_pages import console_router
from agent_console.controllers.conversations import ConversationController
from agent_console.controllers.customers import CustomerController
from agent_console.controllers.inboxes import InboxController
from agent_console.controllers.integrations import IntegrationController
from agent_console.controllers.orders import OrderController
from agent_console.controllers.pages import login, login_form, logout, root
from agent_console.controllers.search import search_everything
from agent_console.controllers.stream import stream
from agent_console.controllers.teams import TeamController


def console_routes() -> list[Any]:
    """Route handlers for the console pages and `/api/v1`."""
    pages: list[Any] = [root, login_form, login, logout, console_router, admin_router]
    api: list[Any] = [
        InboxController,
        ConversationController,
        CustomerController,
        OrderController,
        IntegrationController,
        AgentController,
        CannedResponseController,
        TeamController,
        me,
        search_everything,
        download_attachment,
        stream,
        classify_message,
    ]
    return [*pages, *api]
