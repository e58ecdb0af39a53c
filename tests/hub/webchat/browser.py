"""Debian's chromium driven by Playwright from one dedicated thread, and a shop website to embed the widget.

Playwright's sync API runs on its own thread (one browser per test module), so async tests keep using the
live hub and the database from their own event loop: `await browser.run(step, ...)` runs `step(context_or_page,
...)` on the browser thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import shutil
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes.base import FakeProvider, RecordedRequest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if shutil.which(CHROMIUM) is None:
        return f"{CHROMIUM} is not installed (scripts/system-deps.sh installs Debian's chromium)"
    return None


class BrowserThread:
    """One headless chromium for a test module, used from a single worker thread."""

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._playwright: Any = None
        self.browser: Any = None

    def start(self) -> BrowserThread:
        def launch() -> None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self.browser = self._playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

        self._executor.submit(launch).result(timeout=60)
        return self

    async def run(self, step: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, step, *args)

    def stop(self) -> None:
        def close() -> None:
            if self.browser is not None:
                self.browser.close()
            if self._playwright is not None:
                self._playwright.stop()

        self._executor.submit(close).result(timeout=30)
        self._executor.shutdown()


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>button, div, textarea {{ all: unset; color: red !important; font-size: 40px !important; }}</style>
</head><body><h1>Demo shop</h1>
<script>
window.seen = []; window.errors = [];
window.addEventListener("omnihub:ready", function () {{
  Omnihub.on("message", function (m) {{ window.seen.push(m); }});
  Omnihub.on("error", function (e) {{ window.errors.push(e); }});
}});
</script>
<script src="{hub}/widget.js" data-inbox="{inbox}" async></script>
</body></html>
"""


class ShopSite(FakeProvider):
    """The shop's own website on another port: `/shop?hub=<hub url>&inbox=<id>` embeds the widget."""

    def routes(self, app: web.Application) -> None:
        self.route("GET", "/shop", self._page)

    @staticmethod
    def _page(request: RecordedRequest) -> web.Response:
        query = {k: v[0] for k, v in parse_qs(_query_string(request)).items()}
        body = PAGE.format(hub=html.escape(query.get("hub", "")), inbox=html.escape(query.get("inbox", "")))
        return web.Response(text=body, content_type="text/html")

    def page_url(self, hub_url: str, inbox_id: int) -> str:
        return f"{self.url}/shop?hub={hub_url}&inbox={inbox_id}"


def _query_string(request: RecordedRequest) -> str:
    return "&".join(f"{k}={v}" for k, v in request.query.items())
