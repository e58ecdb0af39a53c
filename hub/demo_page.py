"""`GET /demo/shop`: a pretend shop page with the web chat embedded, so a demo user can chat as a customer."""

from __future__ import annotations

import html
from typing import Any

from litestar import Response, get
from litestar.params import FromQuery
from sqlmodel import select

from conversation.models import Inbox
from hub.services import Services

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trailhead Outfitters (Omnihub demo shop)</title>
<style>
 body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1d2433; background: #f6f4ef; }}
 header {{ padding: 20px 32px; background: #234; color: #fff; font-weight: 700; font-size: 20px; }}
 main {{ max-width: 760px; margin: 40px auto; padding: 0 24px; }}
 code {{ background: #e9e5dc; padding: 2px 6px; border-radius: 4px; }}
</style></head>
<body><header>Trailhead Outfitters</header>
<main>
 <h1>Need help with an order?</h1>
 <p>This page stands in for a shop's website. The chat button in the corner is Omnihub's widget, added with one
 tag: <code>&lt;script src="{base}/widget.js" data-inbox="{inbox}" async&gt;&lt;/script&gt;</code></p>
 <p>Write something (try <em>"where is my order 1004?"</em>), then answer it from the
 <a href="/console">console</a> in another tab.</p>
</main>
<script src="/widget.js" data-inbox="{inbox}" async></script>
</body></html>
"""


def demo_page_handlers(services: Services) -> list[Any]:
    """The demo shop page (404 when there is no web chat inbox)."""

    @get("/demo/shop", exclude_from_auth=True, include_in_schema=False, media_type="text/html")
    async def demo_shop(inbox: FromQuery[int | None] = None) -> Response[str]:
        async with services.sessions() as session:
            query = select(Inbox).where(Inbox.kind == "webchat", Inbox.is_active.is_(True))  # type: ignore[attr-defined]
            if inbox is not None:
                query = query.where(Inbox.id == inbox)
            found = (await session.exec(query.order_by(Inbox.id))).first()  # type: ignore[arg-type]
        if found is None:
            return Response(
                "No web chat inbox: create one under Admin → Inboxes.", status_code=404, media_type="text/plain"
            )
        page = _PAGE.format(base=html.escape(services.settings.public_base), inbox=int(found.id or 0))
        return Response(page, media_type="text/html")

    return [demo_shop]
