"""`GET /demo/shop`: the pretend shop page embedding the demo web chat."""

from __future__ import annotations

import httpx

from hub.storage.engine import SessionFactory
from tests.factories import make_inbox
from tests.live import LiveHub


async def test_the_demo_shop_embeds_the_web_chat_inbox(hub: LiveHub, db: SessionFactory) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        missing = await client.get("/demo/shop")
        assert missing.status_code == 404 and "create one under Admin" in missing.text
        inbox = await make_inbox(db, hub.settings, "webchat", {"website_url": hub.url, "hmac_secret": "s"})
        page = await client.get("/demo/shop")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<script src="/widget.js" data-inbox="{inbox.id}" async></script>' in page.text
