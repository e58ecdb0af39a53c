"""Helpers for console tests: log in through the real form, post signed webhooks, seed orders."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.factories import PASSWORD, api_message, api_signature


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through `/login` like a browser: GET the form (CSRF cookie), POST it back."""
    form = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token, "the login form carries a CSRF token"
    return await client.post(
        "/login", data={"email": email, "password": password, "next": "/console", "_csrf_token": token.group(1)}
    )


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """The header HTMX and fetch send on console writes (the double-submit cookie)."""
    return {"X-CSRFToken": client.cookies.get("csrftoken") or "", "HX-Request": "true"}


async def post_api_message(
    client: httpx.AsyncClient, inbox_id: int, secret: str, identifier: str, text: str, external_id: str, **contact: Any
) -> httpx.Response:
    """A signed `api` channel webhook, as an integrator posts it."""
    body = api_message(identifier, text, external_id, **contact)
    headers = {"X-Omnihub-Signature": api_signature(secret, body), "Content-Type": "application/json"}
    response = await client.post(f"/webhooks/api/{inbox_id}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll `predicate` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
