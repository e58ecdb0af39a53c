"""Screenshots of the console's main screens, light and dark, into docs/screenshots/.

Runs a throw-away hub (temporary SQLite database seeded with `omnihub demo`) on a free port and drives
Debian's chromium with Playwright. Usage: `.venv/bin/python scripts/screenshots.py [--out DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import Page, async_playwright

REPO = Path(__file__).resolve().parents[1]
OMNIHUB = Path(sys.executable).with_name("omnihub")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]  # fmt: skip
DESKTOP = {"width": 1440, "height": 900}
TABLET = {"width": 820, "height": 1180}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """Migrate, seed the demo and serve it; returns the server process once /healthz answers."""
    env = {
        **os.environ,
        "OMNIHUB_VAR_DIR": str(workdir / "var"),
        "OMNIHUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'var' / 'omnihub.db'}",
        "OMNIHUB_PUBLIC_URL": "https://support.example.com",
    }
    for command in (["migrate"], ["demo"]):
        subprocess.run([str(OMNIHUB), *command], env=env, cwd=workdir, check=True, capture_output=True)  # noqa: S603
    server = subprocess.Popen(  # noqa: S603
        [str(OMNIHUB), "serve", "--port", str(port)], env=env, cwd=workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the hub did not start")


async def log_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill("admin@example.com")
    await page.get_by_label("Password").fill("omnihub-demo")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/console")
    await page.wait_for_selector("#live-status[data-state='live']")


async def open_busy_conversation(page: Page) -> None:
    """The first conversation whose customer wrote on two channels (the most telling thread)."""
    rows = page.locator("#rows li.row")
    for index in range(await rows.count()):
        if await rows.nth(index).locator(".row-channels svg").count() >= 2:
            await rows.nth(index).locator("a.row-link").click()
            break
    else:
        await rows.first.locator("a.row-link").click()
    await page.wait_for_selector("#thread-pane[data-conversation]")
    await page.mouse.move(900, 620)  # no hover effects in the picture
    await page.wait_for_timeout(400)


async def shoot(base: str, out: Path, theme: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=DESKTOP, color_scheme=theme, device_scale_factor=1)
        page = await context.new_page()
        await page.goto(f"{base}/login")
        await page.get_by_label("Email").fill("admin@example.com")
        await page.screenshot(path=out / f"login-{theme}.png")
        await log_in(page, base)
        await open_busy_conversation(page)
        await page.locator("#reply-text").fill("Hi! Your parcel is with the carrier and arrives tomorrow.")
        await page.screenshot(path=out / f"console-{theme}.png")
        orders = page.locator("#customer-pane .order")
        if await orders.count():
            await orders.first.locator("summary").click()
        await page.locator("#customer-pane").screenshot(path=out / f"customer-orders-{theme}.png")
        await page.goto(f"{base}/console/search?q=1004")
        await page.wait_for_selector("#search-results")
        await page.screenshot(path=out / f"search-{theme}.png")
        await page.goto(f"{base}/console/admin/inboxes")
        await page.screenshot(path=out / f"admin-inboxes-{theme}.png")
        await page.set_viewport_size(TABLET)
        await page.goto(f"{base}/console")
        await open_busy_conversation(page)
        await page.screenshot(path=out / f"tablet-{theme}.png")
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_hub(Path(tmp), port)
        try:
            for theme in ("light", "dark"):
                asyncio.run(shoot(f"http://127.0.0.1:{port}", args.out, theme))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=20)
    print(f"screenshots written to {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
