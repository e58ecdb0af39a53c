"""Browser tests: one Debian chromium per module, driven by Playwright against a live hub.

The module's tests share one event loop (the browser lives in it), so the database and hub fixtures
are re-declared here on that loop: a connection opened by a test is closed on the loop it was opened on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from hub.config import Settings
from hub.storage.engine import SessionFactory, create_engine, create_session_factory
from tests.conftest import _reset
from tests.factories import PASSWORD
from tests.live import LiveHub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless chromium for the whole module."""
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest_asyncio.fixture(loop_scope="module")
async def db(database_url: str) -> AsyncIterator[SessionFactory]:
    """The emptied test database, on the module's loop."""
    await _reset(database_url)
    engine = create_engine(database_url, pool_size=2)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="module")
async def hub(db: SessionFactory, settings: Settings) -> AsyncIterator[LiveHub]:
    """A running hub on the emptied database."""
    live = LiveHub(settings)
    await asyncio.to_thread(live.start)
    try:
        yield live
    finally:
        await asyncio.to_thread(live.stop)


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser, hub: LiveHub) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (cookies, storage) per test, at laptop size."""
    ctx = await browser.new_context(base_url=hub.url, viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


class PageErrors(list[str]):
    """JavaScript errors a page raised (a test asserts there were none)."""


async def open_console(context: BrowserContext, email: str, password: str = PASSWORD) -> tuple[Page, PageErrors]:
    """A page logged in through the login form, on the conversation list."""
    page = await context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/console")
    await page.wait_for_selector("#live-status[data-state='live']")
    return page, errors
