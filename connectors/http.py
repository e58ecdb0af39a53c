"""The pooled HTTP client connectors share for provider APIs without an SDK of their own.

httpx is the API (STYLE.md); the transport underneath is aiohttp's (`httpx-aiohttp`). httpx's own
transport (httpcore) costs about 1.2 ms of CPU per keep-alive POST under concurrent use on our machines,
aiohttp's about 0.3 ms: the difference was a third of an outbound worker's time per reply
(bench/NOTES.md, *outbound*).

One client per event loop, kept for the loop's life: building a client loads the CA bundle (~35 ms of
CPU), and a kept client reuses its keep-alive connections. Keyed by loop because a client's connections
belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import weakref

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()

#: Connection pool size per process: the outbound worker's concurrency with room for attachment fetches.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class _Transport(AiohttpTransport):
    """aiohttp's transport, with a refused or failed connection reported as `httpx.ConnectError`.

    httpx-aiohttp maps every `aiohttp.ClientConnectionError` to `httpx.ConnectTimeout`; a refused
    connection is not a timeout, and connectors tell the agent which of the two happened.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, aiohttp.ServerTimeoutError):
                raise httpx.ConnectError(str(exc) or cause.__class__.__name__, request=request) from cause
            raise


def shared_client() -> httpx.AsyncClient:
    """This event loop's pooled client (no redirects followed, per-request timeouts)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(transport=_Transport(limits=LIMITS), follow_redirects=False)
        _clients[loop] = client
    return client


async def close_shared_client() -> None:
    """Close this event loop's client (at shutdown: its aiohttp session must close on its own loop)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()
