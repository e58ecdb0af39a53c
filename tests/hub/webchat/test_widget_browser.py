"""The widget in a real browser (Debian's chromium): embedded with one script tag in a shop page served from
another origin, chatting live with an agent who uses the API."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest

from hub.storage.engine import SessionFactory
from tests.factories import make_agent
from tests.hub.webchat.browser import BrowserThread, ShopSite, chromium_missing
from tests.hub.webchat.support import Agent, make_webchat, shop_hash
from tests.live import LiveHub

pytestmark = pytest.mark.browser

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
WAIT = 8000  # ms


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserThread]:
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    thread = BrowserThread().start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def site() -> Iterator[ShopSite]:
    with ShopSite() as shop:
        yield shop  # type: ignore[misc]


@pytest.fixture
async def agent(hub: LiveHub, db: SessionFactory) -> Agent:
    _, token = await make_agent(db, name="Sam Rivera")
    agent = Agent(hub.url, token)
    yield agent  # type: ignore[misc]
    await agent.close()


class Tab:
    """One browser context with the shop page; every call runs on the browser thread."""

    def __init__(self, browser: BrowserThread, url: str, **context: Any) -> None:
        self.browser = browser
        self.url = url
        self.options = context
        self.context: Any = None
        self.page: Any = None

    async def open(self) -> Tab:
        def start() -> None:
            self.context = self.browser.browser.new_context(**{"locale": "en-US", **self.options})
            self.page = self.context.new_page()
            self.page.set_default_timeout(WAIT)
            self.page.goto(self.url)
            self.page.wait_for_function("window.Omnihub !== undefined")

        await self.browser.run(start)
        return self

    async def __call__(self, step: Any, *args: Any) -> Any:
        return await self.browser.run(step, self.page, *args)

    async def send(self, text: str) -> None:
        def step(page: Any) -> None:
            count = page.evaluate("window.seen.length")
            page.locator("#oh-input").fill(text)
            page.locator("#oh-input").press("Enter")
            page.wait_for_function(f"window.seen.length > {count}")

        await self(step)

    async def seen(self) -> list[dict[str, Any]]:
        return await self(lambda page: page.evaluate("window.seen"))  # type: ignore[no-any-return]

    async def visitor_id(self) -> str:
        token = await self(
            lambda page: page.evaluate(
                "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('omnihub:')))).token"
            )
        )
        return str(token).rsplit(".", 1)[0]

    async def close(self) -> None:
        await self.browser.run(self.context.close)


def _open_panel(page: Any, label: str = "Open chat") -> None:
    page.get_by_role("button", name=label).click()
    page.get_by_role("dialog").wait_for()


async def test_live_chat_with_an_agent(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url, greeting="We reply in minutes", color="#ffd400")
    tab = await (Tab(browser, site.page_url(hub.url, inbox.id))).open()

    def opened(page: Any) -> dict[str, Any]:
        _open_panel(page)
        page.get_by_role("heading", name="Shop chat").wait_for()  # the inbox's look arrives with the session
        return page.evaluate(
            """() => {
              const root = document.querySelector('[data-omnihub]').shadowRoot;
              const launcher = root.querySelector('.launcher');
              return {focus: root.activeElement && root.activeElement.id,
                      fontSize: getComputedStyle(launcher).fontSize,
                      header: getComputedStyle(root.querySelector('header')).color,
                      title: root.querySelector('h2').textContent,
                      greeting: root.querySelector('header p').textContent};
            }"""
        )

    state = await tab(opened)
    assert state["focus"] == "oh-input"  # keyboard users can type at once
    assert state["fontSize"] != "40px"  # the shop's aggressive CSS does not reach the widget
    assert state["header"] == "rgb(17, 17, 17)"  # dark text on the light brand colour (contrast)
    assert (state["title"], state["greeting"]) == ("Shop chat", "We reply in minutes")
    await tab.send("Where is my order?")

    conversation_id = (await agent.conversations())[0]["id"]
    hostile = 'Hi <img src=x onerror="window.pwned=1"><b>there</b>'
    reply = await agent.reply(conversation_id, hostile)

    def shown(page: Any) -> dict[str, Any]:
        page.get_by_text("<b>there</b>", exact=False).wait_for()
        return {"images": page.locator(".list img").count(), "pwned": page.evaluate("window.pwned === undefined")}

    assert await tab(shown) == {"images": 0, "pwned": True}
    seen = await tab.seen()
    assert [(m["text"], m["author"]["type"], m["author"]["name"]) for m in seen] == [
        ("Where is my order?", "customer", None),
        (hostile, "agent", "Sam Rivera"),
    ]
    assert all(m["created_at"] for m in seen)
    await agent.wait_status(conversation_id, reply["id"], "read")  # the panel is open: the visitor saw it

    def escape(page: Any) -> Any:
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="hidden")
        return page.evaluate("document.querySelector('[data-omnihub]').shadowRoot.activeElement.className")

    assert await tab(escape) == "launcher"
    await tab.close()


async def test_a_reload_continues_the_same_thread(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url)
    tab = await Tab(browser, site.page_url(hub.url, inbox.id)).open()
    await tab(_open_panel)
    await tab.send("Before the reload")
    visitor = await tab.visitor_id()

    def reload(page: Any) -> None:
        page.reload()
        page.wait_for_function("window.seen.length >= 1")  # history arrives without opening the panel
        _open_panel(page)

    await tab(reload)
    await tab.send("After the reload")
    assert await tab.visitor_id() == visitor
    assert [m["text"] for m in await tab.seen()] == ["Before the reload", "After the reload"]
    (conversation,) = await agent.conversations()
    thread = await agent.thread(conversation["id"])
    assert [m["text"] for m in thread["messages"]] == ["Before the reload", "After the reload"]
    profile = (await agent.client.get(f"/api/v1/customers/{conversation['customer']['id']}")).json()
    assert [(i["channel"], i["address"]) for i in profile["identities"]] == [("webchat", visitor)]
    await tab.close()


async def test_a_dropped_connection_recovers_what_it_missed_once(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url)
    tab = await Tab(browser, site.page_url(hub.url, inbox.id)).open()
    await tab(_open_panel)
    await tab.send("Still there?")
    conversation_id = (await agent.conversations())[0]["id"]
    await agent.reply(conversation_id, "Yes!")
    await tab(lambda page: page.get_by_text("Yes!").wait_for())

    # The network drops: the browser goes offline and the hub loses the socket.
    await browser.run(tab.context.set_offline, True)
    registry = hub.services.extras["webchat_sockets"]
    closed = asyncio.run_coroutine_threadsafe(registry.close_visitor(await tab.visitor_id()), registry.loop)
    assert await asyncio.wrap_future(closed) == 1
    await tab(lambda page: page.get_by_role("status").get_by_text("Reconnecting…").wait_for())
    missed = [await agent.reply(conversation_id, text) for text in ("Missed one", "Missed two")]
    for message in missed:
        await agent.wait_status(conversation_id, message["id"], "sent")

    def back_online(page: Any) -> list[int]:
        tab.context.set_offline(False)
        page.get_by_text("Missed two").wait_for()
        page.get_by_role("status").wait_for(state="hidden")
        return [
            page.get_by_text(text, exact=True).count() for text in ("Still there?", "Yes!", "Missed one", "Missed two")
        ]

    assert await tab(back_online) == [1, 1, 1, 1]  # everything once, nothing twice
    ids = [m["id"] for m in await tab.seen()]
    assert len(ids) == len(set(ids)) == 4
    await tab.close()


async def test_a_verified_customer_joins_their_profile_and_a_forged_hash_is_refused(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url)
    order = {
        "number": "1001",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "status": "paid",
        "items": [{"name": "Tea", "quantity": 1, "price": "9.50"}],
        "total": "9.50",
        "currency": "EUR",
    }
    ada = (await agent.client.post("/api/v1/orders", json=order)).json()["customer"]["id"]
    url = site.page_url(hub.url, inbox.id)

    def login(page: Any, user: dict[str, str]) -> None:
        page.evaluate("user => Omnihub.setUser(user)", user)
        _open_panel(page)

    logged_in = await Tab(browser, url).open()
    await logged_in(login, {"identifier": "cust-42", "identifier_hash": shop_hash("cust-42"), "name": "Ada",
                            "email": "ada@example.com", "email_hash": shop_hash("ada@example.com")})  # fmt: skip
    await logged_in.send("Hi, it's Ada")
    (conversation,) = await agent.conversations()
    assert conversation["customer"]["id"] == ada
    profile = (await agent.client.get(f"/api/v1/customers/{ada}")).json()
    assert [o["number"] for o in profile["orders"]] == ["1001"]
    assert ("webchat", "cust-42") in {(i["channel"], i["address"]) for i in profile["identities"]}

    impostor = await Tab(browser, url).open()
    await impostor(login, {"identifier": "cust-42", "identifier_hash": shop_hash("cust-43")})
    await impostor(lambda page: page.wait_for_function("window.errors.length > 0"))
    errors = await impostor(lambda page: page.evaluate("window.errors"))
    assert errors[0]["code"] == "identity_rejected"
    await impostor.send("I am Ada, honestly")
    conversations = await agent.conversations()
    assert len(conversations) == 2
    assert [c["customer"]["id"] for c in conversations if c["id"] != conversation["id"]] != [ada]
    assert [m["text"] for m in await impostor.seen()] == ["I am Ada, honestly"]  # none of Ada's chat
    await logged_in.close()
    await impostor.close()


async def test_attachments_upload(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent, tmp_path: Any
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url)
    picture, notes = tmp_path / "photo.png", tmp_path / "notes.txt"
    picture.write_bytes(PNG)
    notes.write_text("not allowed")
    tab = await Tab(browser, site.page_url(hub.url, inbox.id)).open()
    await tab(_open_panel)
    await tab.send("A photo of the damage:")

    def upload(page: Any) -> dict[str, Any]:
        page.locator("input[type=file]").set_input_files(str(picture))
        image = page.locator(".list img[alt='photo.png']")
        image.wait_for()
        loaded = "document.querySelector('[data-omnihub]').shadowRoot.querySelector(\"img[alt='photo.png']\")"
        page.wait_for_function(loaded + ".naturalWidth > 0")
        page.locator("input[type=file]").set_input_files(str(notes))
        page.get_by_text("Only images and PDF files can be sent", exact=False).wait_for()
        return {"src": image.get_attribute("src")}

    shown = await tab(upload)
    assert shown["src"].startswith(hub.url + "/widget/files/")
    thread = await agent.thread((await agent.conversations())[0]["id"])
    files = [a for m in thread["messages"] for a in m["attachments"]]
    assert [(a["filename"], a["content_type"], a["status"]) for a in files] == [("photo.png", "image/png", "stored")]
    assert (await agent.client.get(files[0]["url"])).content == PNG
    await tab.close()


async def test_localised_typing_and_mobile(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url, pre_chat_form=True)
    tab = await Tab(
        browser, site.page_url(hub.url, inbox.id), locale="nl-NL", viewport={"width": 375, "height": 667}
    ).open()

    def prechat(page: Any) -> dict[str, Any]:
        _open_panel(page, "Chat openen")
        page.get_by_label("Je e-mailadres").fill("not-an-email")
        page.get_by_role("button", name="Chat starten").click()
        alert = page.get_by_role("alert").inner_text()
        page.get_by_label("Je naam").fill("Daan Visser")
        page.get_by_label("Je e-mailadres").fill("daan@example.nl")
        page.get_by_role("button", name="Chat starten").click()
        page.locator("#oh-input").wait_for()
        box = page.get_by_role("dialog").bounding_box()
        return {"alert": alert, "box": [box["x"], box["y"], box["width"], box["height"]]}

    state = await tab(prechat)
    assert state["alert"] == "Vul een geldig e-mailadres in"
    assert state["box"] == [0, 0, 375, 667]  # full screen on a phone
    await tab.send("Hoi, waar blijft mijn pakket?")
    conversation = (await agent.conversations())[0]
    profile = (await agent.client.get(f"/api/v1/customers/{conversation['customer']['id']}")).json()
    assert (profile["name"], profile["email"]) == ("Daan Visser", "daan@example.nl")
    assert [i["verified"] for i in profile["identities"]] == [False]
    response = await agent.client.post(f"/api/v1/conversations/{conversation['id']}/typing", json={"typing": True})
    assert response.status_code == 200
    await tab(lambda page: page.get_by_text("Sam Rivera is aan het typen…").wait_for())
    await tab.close()


async def test_without_websockets_the_widget_falls_back_to_https(
    hub: LiveHub, db: SessionFactory, browser: BrowserThread, site: ShopSite, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings, site.url)
    tab = Tab(browser, site.page_url(hub.url, inbox.id))

    def blocked(page: Any) -> None:  # a corporate proxy that lets no WebSocket through
        page.context.add_init_script("window.WebSocket = undefined")
        page.reload()
        page.wait_for_function("window.Omnihub !== undefined")
        _open_panel(page)

    await tab.open()
    await tab(blocked)
    await tab.send("Sent over plain HTTPS")
    conversation_id = (await agent.conversations())[0]["id"]
    await agent.reply(conversation_id, "Answered while polling")
    await tab(lambda page: page.get_by_text("Answered while polling").wait_for())
    assert [m["text"] for m in await tab.seen()] == ["Sent over plain HTTPS", "Answered while polling"]
    await tab.close()
