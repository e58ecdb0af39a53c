"""The agent console in a real browser (Debian's chromium) against a live hub and local provider fakes."""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, Page, expect
from sqlmodel import select

from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import Agent, Customer, MergeSuggestion, utcnow
from conversation.replies import Author, queue_reply
from conversation.types import AuthorType, ChannelKind, ExternalIdentity, InboundMessage
from conversation.uow import UnitOfWork
from hub.storage.engine import SessionFactory
from tests.agent_console.browser.conftest import open_console
from tests.agent_console.helpers import post_api_message, wait_for
from tests.factories import make_agent, make_inbox, twilio_inbound
from tests.fakes.base import FakeProvider
from tests.fakes.twilio import FakeTwilio, twilio_error
from tests.live import LiveHub

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SID = "AC" + "7" * 32
TWILIO_TOKEN = "twilio-test-token"
SHOP_NUMBER = "+15555550100"
ADA_PHONE = "+15555550142"
EMAIL_SETTINGS = {
    "address": "support@example.com", "imap_host": "127.0.0.1", "imap_port": 1, "imap_username": "support",
    "imap_password": "x", "smtp_host": "127.0.0.1", "smtp_port": 1, "smtp_username": "support", "smtp_password": "x",
}  # fmt: skip


class CallbackReceiver(FakeProvider):
    """The shop app's server: receives the replies sent on the `api` channel."""

    def routes(self, app: web.Application) -> None:
        self.route("POST", "/callback", lambda r: web.json_response({"external_id": f"cb-{len(self.requests)}"}))


@dataclass
class Shop:
    admin: Agent
    token: str
    sms: int
    api: int


async def seed_shop(db: SessionFactory, hub: LiveHub, twilio: FakeTwilio, receiver: CallbackReceiver) -> Shop:
    admin, token = await make_agent(db, role="admin", name="Alex Admin", email="alex@example.com")
    sms = await make_inbox(
        db, hub.settings, "sms",
        {"account_sid": SID, "auth_token": TWILIO_TOKEN, "phone_number": SHOP_NUMBER, "api_base_url": twilio.url},
        name="SMS line",
    )  # fmt: skip
    api = await make_inbox(
        db, hub.settings, "api", {"hmac_secret": "s3cret", "callback_url": f"{receiver.url}/callback"}, name="Shop app"
    )
    return Shop(admin, token, int(sms.id or 0), int(api.id or 0))


async def text_in(hub: LiveHub, shop: Shop, body: str, sid: str, from_: str = ADA_PHONE) -> None:
    """A customer's SMS, as Twilio posts it (signed for the hub's public URL)."""
    url = f"{hub.settings.public_base}/webhooks/sms/{shop.sms}"
    form, headers = twilio_inbound(TWILIO_TOKEN, url, sid=sid, from_=from_, to=SHOP_NUMBER, body=body)
    async with httpx.AsyncClient(base_url=hub.url) as client:
        response = await client.post(f"/webhooks/sms/{shop.sms}", content=form, headers=headers)
    assert response.status_code == 200, response.text


async def api_in(hub: LiveHub, shop: Shop, identifier: str, text: str, ext: str, **contact: str) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await post_api_message(client, shop.api, "s3cret", identifier, text, ext, **contact)


async def open_row(page: Page, text: str) -> None:
    await page.locator("#rows li.row").filter(has_text=text).locator("a.row-link").click()
    await expect(page.locator("#thread-pane[data-conversation]")).to_be_visible()


async def test_live_conversation_replies_on_two_channels_note_canned_assign_resolve(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        async with httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {shop.token}"}) as api:
            canned = {"short_code": "thanks", "title": "Thanks", "text": "Thanks for your patience!"}
            assert (await api.post("/api/v1/canned_responses", json=canned)).status_code == 201
        page, errors = await open_console(context, shop.admin.email)
        await expect(page.locator("#list-empty")).to_be_visible()

        # A text message arrives: its row appears without a reload.
        await text_in(hub, shop, "Hi, where is my order 1001?", "SM" + "1" * 32)
        arrived = page.locator("#rows li.row").filter(has_text="where is my order 1001")
        await expect(arrived).to_be_visible()
        row = page.locator("#" + (await arrived.get_attribute("id") or ""))
        await expect(row.locator(".badge-unread")).to_have_text("1")
        await expect(row.locator("svg.ch-sms")).to_have_count(1)
        # The same customer writes from the shop app: same thread, the row updates in place.
        await api_in(hub, shop, "cust-42", "Also: gift wrap please", "m-1", name="Ada Lovelace", phone=ADA_PHONE)
        await expect(row).to_contain_text("gift wrap")
        await expect(page.locator("#rows li.row")).to_have_count(1)

        await row.locator("a.row-link").click()
        await expect(page.locator("#thread-pane .th-name")).to_have_text("Ada Lovelace")
        await expect(page.locator("#messages .msg-in")).to_have_count(2)
        await expect(page.locator("#messages .msg-in .badge-channel").first).to_contain_text("SMS")
        channel = page.locator("#reply-channel")
        await expect(channel).to_have_value("api")  # the channel the customer wrote on last
        await expect(row.locator(".badge-unread")).to_have_count(0)  # opened: read

        # Reply by SMS.
        await channel.select_option("sms")
        await page.locator("#reply-text").fill("Your order ships today.")
        await page.locator("#reply-text").press("Control+Enter")
        sent = page.locator("#messages .msg-out").filter(has_text="ships today")
        await expect(sent).to_be_visible()
        await expect(page.locator("#reply-text")).to_have_value("")
        await wait_for(_async(lambda: twilio.messages))
        assert (twilio.messages[-1]["to"], twilio.messages[-1]["body"]) == (ADA_PHONE, "Your order ships today.")
        await expect(sent.locator(".msg-status")).to_contain_text("Sent")  # delivery status, live

        # Reply on the shop app channel.
        await channel.select_option("api")
        await page.locator("#reply-text").fill("Gift wrap added.")
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#messages .msg-out").filter(has_text="Gift wrap added")).to_be_visible()
        await wait_for(_async(lambda: receiver.requests_to("/callback")))
        assert json.loads(receiver.requests_to("/callback")[0].body)["text"] == "Gift wrap added."

        # A private note (n), with a file: visibly different, never sent.
        await page.keyboard.press("Escape")
        await page.keyboard.press("n")
        await expect(page.locator("#composer")).to_have_attribute("data-mode", "note")
        await expect(page.locator("#reply-text")).to_be_focused()
        await page.keyboard.type("VIP customer, be nice")
        await page.locator("#reply-files").set_input_files(
            files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": _PNG}]
        )
        await expect(page.locator("#files")).to_contain_text("receipt.png")
        await page.keyboard.press("Control+Enter")
        note = page.locator("#messages .msg-note").filter(has_text="VIP customer")
        await expect(note).to_be_visible()
        await expect(note.locator(".badge-note")).to_have_text("Private note")
        await expect(note.locator("img[alt='receipt.png']")).to_be_visible()
        assert len(twilio.messages) == 1 and len(receiver.requests_to("/callback")) == 1

        # A saved reply with "/".
        await page.keyboard.press("Escape")
        await page.keyboard.press("r")
        await expect(page.locator("#composer")).to_have_attribute("data-mode", "reply")
        await page.keyboard.type("/than")
        await expect(page.locator("#canned .canned-item")).to_have_count(1)
        await page.keyboard.press("Enter")
        await expect(page.locator("#reply-text")).to_have_value("Thanks for your patience!")
        await page.keyboard.press("Control+Enter")
        await expect(page.locator("#messages .msg-out").filter(has_text="Thanks for your patience")).to_be_visible()

        # Assign (a) and resolve (e).
        await page.keyboard.press("Escape")
        await page.keyboard.press("a")
        await expect(page.locator("#menu-assign")).to_be_visible()
        await page.keyboard.type("Alex")
        await page.keyboard.press("Enter")
        await expect(page.locator("#assign-btn")).to_contain_text("Alex Admin")
        await expect(row.locator("[title='Assigned to Alex Admin']")).to_be_visible()
        await page.keyboard.press("e")
        await expect(page.locator("#thread-head [data-action=reopen]")).to_be_visible()
        await expect(row.locator(".pill.st-resolved")).to_be_visible()
        await expect(row).to_have_class(_has("is-stale"))  # no longer "open", but it does not jump away
        await expect(page.locator("#messages .msg-system").filter(has_text="resolved the conversation")).to_be_visible()
        assert errors == []


async def test_keyboard_navigation_shortcuts_dialog_and_bulk_actions(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        for n, name in enumerate(["Ann", "Bob", "Cy"]):
            await api_in(hub, shop, f"c-{n}", f"Question from {name}", f"q-{n}", name=name)
        page, errors = await open_console(context, shop.admin.email)
        rows = page.locator("#rows li.row")
        await expect(rows).to_have_count(3)
        await expect(rows.first).to_contain_text("Cy")  # newest activity first

        await page.keyboard.press("j")
        await expect(rows.nth(0)).to_have_class(_has("is-selected"))
        await page.keyboard.press("j")
        await page.keyboard.press("j")
        await page.keyboard.press("k")
        await expect(rows.nth(1)).to_have_class(_has("is-selected"))
        await page.keyboard.press("Enter")
        await expect(page.locator("#thread-pane .th-name")).to_have_text("Bob")
        assert page.url.endswith("/console/c/" + (await rows.nth(1).get_attribute("data-id") or ""))

        await page.keyboard.press("?")
        await expect(page.locator("#shortcuts")).to_be_visible()
        await expect(page.locator("#shortcuts")).to_contain_text("Resolve the conversation")
        await page.keyboard.press("Escape")
        await expect(page.locator("#shortcuts")).to_be_hidden()

        # Bulk: select two rows, resolve both.
        await rows.nth(0).locator(".row-check").check()
        await rows.nth(2).locator(".row-check").check()
        await expect(page.locator("#bulk-bar")).to_be_visible()
        await expect(page.locator("#bulk-count")).to_have_text("2 selected")
        await page.locator("#bulk-bar").get_by_role("button", name="Resolve").click()
        await expect(page.locator(".toast").filter(has_text="Updated 2 conversations")).to_be_visible()
        await expect(rows.nth(0).locator(".pill.st-resolved")).to_be_visible()
        await expect(rows.nth(2).locator(".pill.st-resolved")).to_be_visible()
        await expect(rows.nth(1).locator(".pill")).to_have_count(0)
        await expect(page.locator("#bulk-bar")).to_be_hidden()
        await expect(page.locator("#nav .nav-item.active")).to_contain_text("1")  # counts follow

        # Switching views redraws the list only (no page load) and keeps the URL shareable.
        await page.evaluate("window.sameDocument = true")
        await page.locator("#nav").get_by_role("link", name="Unassigned").click()
        await expect(page.locator("#list-pane .list-title")).to_have_text("Unassigned")
        await page.wait_for_url("**/console/c/*?view=unassigned")
        assert await page.evaluate("window.sameDocument") is True
        await expect(page.locator("#list-pane.htmx-added")).to_have_count(0)  # htmx has wired the new list
        await page.locator("#filters select[name=status]").select_option("resolved")
        await expect(page.locator("#rows li.row")).to_have_count(2)
        await page.wait_for_url("**status=resolved*")
        assert errors == []


async def test_customer_sidebar_orders_merge_undo_and_search(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        await api_in(hub, shop, "cust-1", "My parcel is late", "a-1", name="Ada Lovelace", email="ada@example.com")
        await api_in(hub, shop, "cust-2", "Second account here", "a-2", name="A. Lovelace")
        order = {
            "number": "1001", "status": "shipped", "total": "89.00", "currency": "EUR",
            "placed_at": "2026-11-01T10:00:00Z", "customer": {"email": "ada@example.com"},
            "items": [{"name": "Trail running shoes", "quantity": 1, "price": "89.00"}],
            "fulfillment": {"status": "in_transit", "carrier": "DHL", "tracking_number": "JD0123",
                            "tracking_url": "https://www.dhl.com/track?id=JD0123", "eta": "2026-11-30T00:00:00Z"},
        }  # fmt: skip
        async with httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {shop.token}"}) as api:
            assert (await api.post("/api/v1/orders", json=order)).status_code == 200
        async with db() as session:
            ids = {c.name: c.id for c in (await session.exec(select(Customer))).all()}
            session.add(MergeSuggestion(customer_id=ids["Ada Lovelace"], other_customer_id=ids["A. Lovelace"],
                                        reason="same last name"))  # fmt: skip
            await session.commit()
        page, errors = await open_console(context, shop.admin.email)
        await open_row(page, "parcel is late")
        side = page.locator("#customer-pane")
        await expect(side.locator(".cust-name")).to_have_text("Ada Lovelace")
        await expect(side.locator(".notice-warn")).to_contain_text("Possibly the same person as A. Lovelace")
        card = side.locator(".order").filter(has_text="#1001")
        await expect(card).to_contain_text("€89.00")
        await card.locator("summary").click()
        await expect(card).to_contain_text("Trail running shoes")
        await expect(card).to_contain_text("DHL")
        await expect(card.get_by_role("link", name="JD0123")).to_have_attribute(
            "href", "https://www.dhl.com/track?id=JD0123"
        )
        await expect(card).to_contain_text("Expected Nov 30, 2026")

        # Merge the duplicate profile, then undo it.
        await expect(side.locator(".identities li")).to_have_count(1)
        await side.get_by_placeholder("Name, email or phone").fill("Lovelace")
        candidate = side.locator(".candidates li").filter(has_text="A. Lovelace")
        await expect(candidate).to_be_visible()
        await expect(page.locator("#customer-pane .htmx-added")).to_have_count(0)  # htmx has wired the results
        await candidate.get_by_role("button", name="Merge in").click()
        await expect(page.locator("#confirm-dialog")).to_be_visible()
        await page.locator("#confirm-dialog [data-confirm=yes]").click()
        await expect(side.locator(".notice-ok")).to_contain_text("Merged A. Lovelace into this profile")
        await expect(side.locator(".identities li")).to_have_count(2)
        await expect(page.locator("#customer-pane.htmx-added")).to_have_count(0)
        await side.get_by_role("button", name="Undo").click()
        await expect(side.locator(".notice")).to_contain_text("Merge undone")
        await expect(side.locator(".identities li")).to_have_count(1)

        # Search across messages, customers and order numbers.
        await page.locator("#global-search").fill("parcel")
        await page.locator("#global-search").press("Enter")
        await page.wait_for_url("**/console/search?q=parcel")
        await expect(page.locator("#res-messages + ul mark")).to_have_text("parcel")
        await page.locator("#search-q").fill("1001")
        await expect(page.locator("#res-orders + ul .result")).to_contain_text("1001")
        await expect(page.locator("#res-orders + ul mark")).to_have_text("1001")
        await page.locator("#search-q").fill("lovelace")
        await expect(page.locator("#res-customers + ul .result")).to_have_count(2)
        await page.locator("#search-q").fill("parcel")
        await page.locator("#res-messages + ul .result").first.click()
        await page.wait_for_url("**/console/c/*")
        await expect(page.locator("#thread-pane .th-name")).to_have_text("Ada Lovelace")
        assert errors == []


async def test_whatsapp_window_warning_failed_reply_and_retry(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        whatsapp = await make_inbox(
            db, hub.settings, "whatsapp",
            {"access_token": "t", "app_secret": "a", "verify_token": "v", "phone_number_id": "1055"}, name="WhatsApp",
        )  # fmt: skip
        long_ago = utcnow() - timedelta(hours=26)
        async with UnitOfWork(db()) as uow:
            message = InboundMessage(
                channel_kind=ChannelKind.WHATSAPP, inbox_id=int(whatsapp.id or 0), external_message_id="wamid.1",
                sender=ExternalIdentity(address=ADA_PHONE, name="Ada Lovelace"), text="Hello on WhatsApp",
                sent_at=long_ago,
            )  # fmt: skip
            await receive_inbound(uow, message, InboxPolicy(id=int(whatsapp.id or 0), kind="whatsapp"), now=long_ago)
            await uow.commit()
        await text_in(hub, shop, "Now by text", "SM" + "2" * 32)
        page, errors = await open_console(context, shop.admin.email)
        await open_row(page, "Now by text")
        warning = page.locator("#reply-warning")
        await expect(page.locator("#reply-channel")).to_have_value("sms")
        await expect(warning).to_be_hidden()
        await page.locator("#reply-channel").select_option("whatsapp")
        await expect(warning).to_be_visible()
        await expect(warning).to_contain_text("older than 24 hours")
        await page.locator("#reply-channel").select_option("sms")
        await expect(warning).to_be_hidden()

        # Twilio refuses the reply: the reason shows with a retry button; the retry goes through.
        twilio.fail_next(*twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))
        await page.locator("#reply-text").fill("Are you there?")
        await page.locator("#reply-text").press("Control+Enter")
        failed = page.locator("#messages .msg-out").filter(has_text="Are you there?")
        await expect(failed.locator(".ds-failed")).to_contain_text("Not delivered")
        await expect(failed.locator(".ds-failed")).to_contain_text("Attempt to send to unsubscribed recipient")
        await failed.get_by_role("button", name="Retry").click()
        await expect(failed.locator(".msg-status")).to_contain_text("Sent")
        assert [m["body"] for m in twilio.messages] == ["Are you there?"]
        assert errors == []


async def test_email_full_text_bot_turn_priority_snooze_tags_and_team(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        email = await make_inbox(db, hub.settings, "email", EMAIL_SETTINGS, name="Support email")
        now = utcnow()
        async with UnitOfWork(db()) as uow:
            message = InboundMessage(
                channel_kind=ChannelKind.EMAIL, inbox_id=int(email.id or 0), external_message_id="<m1@example.com>",
                sender=ExternalIdentity(address="ada@example.com", name="Ada Lovelace"), subject="Order 1001",
                text="Where is my parcel?", full_text="Where is my parcel?\n\nOn Monday, Shop wrote:\n> It shipped.",
                sent_at=now,
            )  # fmt: skip
            result = await receive_inbound(uow, message, InboxPolicy(id=int(email.id or 0), kind="email"), now=now)
            await uow.commit()
        await api_in(hub, shop, "cust-1", "Any news?", "e-1", name="Ada Lovelace", email="ada@example.com")
        async with UnitOfWork(db()) as uow:
            bot = Author(AuthorType.BOT, None, "Shop bot")
            await queue_reply(
                uow,
                result.conversation_id,
                bot,
                "Order 1001 is on its way.",
                channel="api",
                meta={"bot_name": "Shop bot"},
            )
            await uow.commit()
        async with httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {shop.token}"}) as api:
            assert (await api.post("/api/v1/teams", json={"name": "Returns"})).status_code == 201
        page, errors = await open_console(context, shop.admin.email)
        await open_row(page, "is on its way")
        mail = page.locator("#messages .msg-in").filter(has_text="Where is my parcel?")
        await expect(mail.locator(".msg-subject")).to_have_text("Order 1001")
        await expect(mail.locator(".msg-full-text")).to_be_hidden()
        await mail.get_by_text("Show full email").click()
        await expect(mail.locator(".msg-full-text")).to_contain_text("On Monday, Shop wrote:")
        bot_turn = page.locator("#messages .msg-bot")
        await expect(bot_turn.locator(".badge-bot")).to_have_text("Bot")
        await expect(bot_turn.locator(".msg-author")).to_have_text("Shop bot")

        head = page.locator("#thread-head")
        await head.get_by_role("button", name="No priority").click()
        await page.locator("#menu-priority").get_by_role("menuitem", name="High").click()
        await expect(head.locator(".prio-btn")).to_contain_text("High")
        await head.get_by_label("Add a tag").fill("VIP")
        await head.get_by_label("Add a tag").press("Enter")
        await expect(head.locator(".tag-chip")).to_have_text(["vip"])
        await head.get_by_role("button", name="Remove tag vip").click()
        await expect(head.locator(".tag-chip")).to_have_count(0)
        await page.keyboard.press("a")
        await page.locator("#menu-assign").get_by_role("menuitem", name="Returns").click()
        await expect(head.locator(".th-sub")).to_contain_text("Returns")
        await head.get_by_role("button", name="Open").click()
        await page.locator("#menu-status").get_by_role("menuitem", name="In 1 hour").click()
        await expect(head.locator(".th-sub .pill")).to_contain_text("Snoozed until")
        assert errors == []


async def test_collision_notice_when_a_colleague_views_and_types(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        sam, _ = await make_agent(db, role="agent", name="Sam Rivera", email="sam@example.com", inbox_ids=[shop.api])
        await api_in(hub, shop, "c-9", "Can someone help?", "h-1", name="Pat")
        page, errors = await open_console(context, shop.admin.email)
        await open_row(page, "Can someone help?")
        other = await context.browser.new_context(base_url=hub.url, viewport={"width": 1280, "height": 800})  # type: ignore[union-attr]
        try:
            sam_page, sam_errors = await open_console(other, sam.email)
            await open_row(sam_page, "Can someone help?")
            collision = page.locator("#collision")
            await expect(collision).to_contain_text("Sam Rivera is also looking at this conversation")
            await expect(page.locator("#presence")).to_contain_text("Sam Rivera viewing")
            typing_calls: list[str] = []
            sam_page.on("request", lambda r: typing_calls.append(r.url) if r.url.endswith("/typing") else None)
            await sam_page.keyboard.press("n")
            await sam_page.keyboard.type("Checking stock")
            await expect(page.locator("#presence")).to_contain_text("Sam Rivera typing")
            assert typing_calls == []  # a private note never tells the customer someone is typing
            await sam_page.keyboard.press("Escape")
            await sam_page.keyboard.press("r")
            await sam_page.keyboard.press("Control+a")
            await sam_page.keyboard.type("On it")
            await expect(collision).to_contain_text("Sam Rivera is typing a reply right now")
            await wait_for(_async(lambda: typing_calls))  # the customer-facing typing API (web chat)
            await sam_page.close()
            await expect(collision).to_be_hidden()
            assert sam_errors == []
        finally:
            await other.close()
        assert errors == []


async def test_live_rows_are_drawn_exactly_like_server_rows(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    with FakeTwilio(account_sid=SID, auth_token=TWILIO_TOKEN) as twilio, CallbackReceiver() as receiver:
        shop = await seed_shop(db, hub, twilio, receiver)
        await api_in(hub, shop, "c-1", "Plain <b>question</b> & more", "r-1", name='Zoë "Z" O\'Neil')
        await api_in(hub, shop, "c-2", "Where is it?", "r-2", name="Bo")
        await api_in(hub, shop, "c-3", "Wrong size", "r-3")
        async with httpx.AsyncClient(base_url=hub.url, headers={"Authorization": f"Bearer {shop.token}"}) as api:
            ids = [c["id"] for c in (await api.get("/api/v1/conversations")).json()["items"]]
            change = {"assignee_id": shop.admin.id, "priority": "urgent", "tags": ["vip", "returns"]}
            await api.patch(f"/api/v1/conversations/{ids[0]}", json=change)
            await api.patch(f"/api/v1/conversations/{ids[1]}", json={"status": "pending", "priority": "low"})
            await api.post(f"/api/v1/conversations/{ids[2]}/messages", json={"text": "internal", "private": True})
        page, errors = await open_console(context, shop.admin.email)
        await page.goto("/console?status=all")
        await expect(page.locator("#rows li.row")).to_have_count(3)
        mismatches = await page.evaluate(
            """() => Array.from(document.querySelectorAll('#rows li.row')).map((li) => {
                const norm = (el) => { const c = el.cloneNode(true);
                    c.querySelectorAll('time, .waiting-text').forEach((t) => {
                        t.textContent = ''; t.removeAttribute('title'); });
                    return c.innerHTML.replace(/>\\s+</g, '><').trim(); };
                const live = document.createElement('li');
                window.omnihubRow.fillRow(live, JSON.parse(li.dataset.summary));
                return norm(li) === norm(live) ? null : [norm(li), norm(live)];
            }).filter(Boolean)"""
        )
        assert mismatches == []
        assert errors == []


async def test_theme_toggle_persists_dark_mode_applies_and_the_bot_can_be_tried(
    hub: LiveHub, db: SessionFactory, context: BrowserContext
) -> None:
    admin, _ = await make_agent(db, role="admin")
    page, errors = await open_console(context, admin.email)
    root = page.locator("html")
    await expect(root).to_have_attribute("data-theme-choice", "system")
    await page.locator("#theme-toggle").click()
    await expect(root).to_have_attribute("data-theme", "light")
    await page.locator("#theme-toggle").click()
    await expect(root).to_have_attribute("data-theme", "dark")
    await page.reload()
    await expect(root).to_have_attribute("data-theme", "dark")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 21, 27)"
    # The bot page: an admin tries a message on the classifier.
    await page.goto("/console/admin/bot")
    await page.get_by_label("A customer message").fill("Hoi, waar blijft mijn bestelling 1042?")
    await page.get_by_role("button", name="Classify").click()
    result = page.locator("#bot-result")
    await expect(result.locator("[data-field=intent]")).to_have_text("order_status", timeout=20_000)
    await expect(result.locator("[data-field=order_number]")).to_have_text("1042")
    await expect(result.locator("[data-field=language]")).to_have_text("nl")
    assert errors == []


# --- helpers ---------------------------------------------------------------------------------------


def _png(width: int = 24, height: int = 16) -> bytes:
    """A small valid PNG (a flat blue image) for the attachment preview."""
    raw = b"".join(b"\x00" + b"\x34\x51\xc7" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


_PNG = _png()


def _async(fn):  # type: ignore[no-untyped-def]
    async def wrapper():  # type: ignore[no-untyped-def]
        return fn()

    return wrapper


def _has(css_class: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")
