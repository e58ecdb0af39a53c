"""The console over HTTP: sessions, CSRF, inbox access, login throttling, admin pages, bulk and teams API."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import timedelta

import httpx
import websockets

from conversation.ingest import InboxPolicy, receive_inbound
from conversation.models import utcnow
from conversation.types import ChannelKind, ExternalIdentity, InboundMessage
from conversation.uow import UnitOfWork
from hub.storage.engine import SessionFactory
from tests.agent_console.helpers import csrf_headers, login, post_api_message, wait_for
from tests.factories import make_agent, make_inbox
from tests.live import LiveHub


async def _two_inboxes(db: SessionFactory, hub: LiveHub) -> tuple[int, int]:
    mine = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k1"}, name="Shop A")
    other = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k2"}, name="Shop B")
    return int(mine.id or 0), int(other.id or 0)


async def test_login_page_session_cookie_and_redirects(hub: LiveHub, db: SessionFactory) -> None:
    agent, _ = await make_agent(db, role="agent")
    async with httpx.AsyncClient(base_url=hub.url) as client:
        unauthenticated = await client.get("/console")
        assert unauthenticated.status_code == 302
        assert unauthenticated.headers["location"] == "/login?next=%2Fconsole"
        htmx = await client.get("/console/list", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
        page = await client.get("/login")
        assert "omnihub reset-password" in page.text and 'name="email"' in page.text
        assert 'name="password"' in page.text
        response = await login(client, agent.email)
        assert response.status_code == 303 and response.headers["location"] == "/console"
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite")
        console = await client.get("/console")
        assert console.status_code == 200 and "All caught up" in console.text
        assert (await client.get("/login?next=//evil.example")).status_code == 302  # already logged in
        token = client.cookies.get("csrftoken") or ""
        bye = await client.post("/logout", data={"_csrf_token": token})
        assert bye.status_code == 303 and (await client.get("/console")).status_code == 302


async def test_form_posts_without_csrf_token_are_refused(hub: LiveHub, db: SessionFactory) -> None:
    inbox, _ = await _two_inboxes(db, hub)
    agent, _ = await make_agent(db, role="agent", inbox_ids=[inbox])
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await post_api_message(client, inbox, "k1", "cust-1", "Hello there", "m-1", name="Ada")
        await login(client, agent.email)
        conversation = (await client.get("/api/v1/conversations")).json()["items"][0]["id"]
        url = f"/console/c/{conversation}/reply"
        refused = await client.post(url, data={"text": "no token", "channel": "api"})
        assert refused.status_code == 403
        forged = await client.post(url, data={"text": "bad", "_csrf_token": "forged"})
        assert forged.status_code == 403
        assert (await client.post("/logout")).status_code == 403
        api_refused = await client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "x"})
        assert api_refused.status_code == 403
        accepted = await client.post(url, data={"text": "with token", "channel": "api"}, headers=csrf_headers(client))
        assert accepted.status_code == 201 and "with token" in accepted.text
        thread = (await client.get(f"/api/v1/conversations/{conversation}")).json()
        assert [m["text"] for m in thread["messages"] if m["direction"] == "outbound"] == ["with token"]


async def test_an_agent_cannot_open_a_conversation_of_an_inbox_they_do_not_work(
    hub: LiveHub, db: SessionFactory
) -> None:
    mine, other = await _two_inboxes(db, hub)
    agent, _ = await make_agent(db, role="agent", inbox_ids=[mine])
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await post_api_message(client, other, "k2", "stranger", "Secret question", "s-1", name="Zed")
        await post_api_message(client, mine, "k1", "friend", "Visible question", "v-1", name="Ann")
        await login(client, agent.email)
        listing = (await client.get("/api/v1/conversations")).json()["items"]
        assert [c["customer"]["name"] for c in listing] == ["Ann"]
        async with db() as session:
            from sqlmodel import select

            from conversation.models import Conversation

            hidden = (await session.exec(select(Conversation).where(Conversation.inbox_id == other))).one()
        page = await client.get(f"/console/c/{hidden.id}")
        assert page.status_code == 404 and "Secret question" not in page.text and "Not found" in page.text
        assert (await client.get(f"/api/v1/conversations/{hidden.id}")).status_code == 404
        htmx = {"HX-Request": "true", "HX-Target": "thread-pane"}
        fragment = await client.get(f"/console/c/{hidden.id}", headers=htmx)
        assert fragment.status_code == 404
        reply = await client.post(f"/console/c/{hidden.id}/reply", data={"text": "hi"}, headers=csrf_headers(client))
        assert reply.status_code == 404
        customer = await client.get(f"/console/customers/{hidden.customer_id}")
        assert customer.status_code == 404
        console = await client.get("/console")
        assert "Visible question" in console.text and "Secret question" not in console.text
        search = await client.get("/console/search", params={"q": "question"})
        assert "Visible" in search.text and "Secret" not in search.text
        by_name = await client.get("/console/search", params={"q": "Zed"})
        assert "No results for" in by_name.text and f"/console/customers/{hidden.customer_id}" not in by_name.text


async def test_failed_logins_are_throttled_through_the_shared_store(hub: LiveHub, db: SessionFactory) -> None:
    agent, _ = await make_agent(db, role="agent")
    others: list[LiveHub] = []
    if hub.settings.redis_url:
        # A second process on the same Redis must see the same count (PostgreSQL + Redis pass).
        others.append(await asyncio.to_thread(LiveHub(hub.settings).start))
    try:
        async with httpx.AsyncClient(base_url=hub.url) as client:
            for _ in range(10):
                assert (await login(client, agent.email, "wrong password")).status_code == 401
            blocked = await login(client, agent.email)
            assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text
            other_email = await login(client, "someone.else@example.com", "nope")
            assert other_email.status_code == 401
        for other in others:
            async with httpx.AsyncClient(base_url=other.url) as client:
                assert (await login(client, agent.email)).status_code == 429
    finally:
        for other in others:
            await asyncio.to_thread(other.stop)


async def test_admin_pages_create_an_inbox_and_refuse_agents(hub: LiveHub, db: SessionFactory) -> None:
    admin, _ = await make_agent(db, role="admin")
    agent, _ = await make_agent(db, role="agent")
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await login(client, agent.email)
        refused = await client.get("/console/admin/inboxes")
        assert refused.status_code == 403 and "Only admins" in refused.text
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await login(client, admin.email)
        for page in ("inboxes", "inboxes/new?kind=sms", "agents", "canned", "bot", "integrations"):
            response = await client.get(f"/console/admin/{page}")
            assert response.status_code == 200, page
        token = client.cookies.get("csrftoken") or ""
        missing = await client.post(
            "/console/admin/inboxes", data={"_csrf_token": token, "kind": "sms", "name": "Texts"}
        )
        assert missing.status_code == 422 and "missing required settings" in missing.text
        created = await client.post(
            "/console/admin/inboxes",
            data={"_csrf_token": token, "kind": "api", "name": "Partner API", "s.hmac_secret": "very-secret",
                  "s.callback_url": "https://partner.example.com/hook", "members": str(agent.id)},
        )  # fmt: skip
        assert created.status_code == 303
        edit = await client.get(created.headers["location"])
        assert "http://hub.example.com/webhooks/api/" in edit.text and "very-secret" not in edit.text
        inboxes = (await client.get("/api/v1/inboxes")).json()["items"]
        assert [i["name"] for i in inboxes] == ["Partner API"] and inboxes[0]["secrets_set"] == ["hmac_secret"]
        saved = await client.post(
            "/console/admin/canned",
            data={"_csrf_token": token, "short_code": "/Thanks", "title": "Thanks", "text": "Thank you!"},
        )
        assert saved.status_code == 303
        canned = (await client.get("/api/v1/canned_responses")).json()["items"]
        assert [(c["short_code"], c["text"]) for c in canned] == [("thanks", "Thank you!")]
        team = await client.post("/console/admin/teams", data={"_csrf_token": token, "name": "Returns"})
        assert team.status_code == 303
        assert [t["name"] for t in (await client.get("/api/v1/teams")).json()["items"]] == ["Returns"]


async def test_bulk_and_team_api(hub: LiveHub, db: SessionFactory) -> None:
    mine, other = await _two_inboxes(db, hub)
    agent, token = await make_agent(db, role="agent", inbox_ids=[mine])
    _, admin_token = await make_agent(db, role="admin")
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=hub.url) as client:
        for n in range(3):
            await post_api_message(client, mine, "k1", f"c-{n}", f"question {n}", f"q-{n}", name=f"C{n}")
        await post_api_message(client, other, "k2", "hidden", "not yours", "h-1", name="H")
        created = await client.post(
            "/api/v1/teams", json={"name": "Billing", "member_ids": [agent.id]},
            headers={"Authorization": f"Bearer {admin_token}"},
        )  # fmt: skip
        assert created.status_code == 201 and created.json()["member_ids"] == [agent.id]
        assert (await client.post("/api/v1/teams", json={"name": "x"}, headers=auth)).status_code == 403
        ids = [c["id"] for c in (await client.get("/api/v1/conversations", headers=auth)).json()["items"]]
        hidden_id = max(ids) + 1
        response = await client.post(
            "/api/v1/conversations/bulk",
            json={"ids": [*ids, hidden_id], "changes": {"status": "pending", "team_id": created.json()["id"]},
                  "add_tags": ["Billing"]},
            headers=auth,
        )  # fmt: skip
        body = response.json()
        assert response.status_code == 200, body
        assert sorted(s["id"] for s in body["updated"]) == sorted(ids)
        assert all(s["status"] == "pending" and s["tags"] == ["billing"] for s in body["updated"])
        assert body["rejected"] == {str(hidden_id): "conversation not found"}
        bad = await client.post("/api/v1/conversations/bulk", json={"ids": ids, "changes": {"tags": []}}, headers=auth)
        assert bad.status_code == 422


async def test_stream_presence_for_collision_notices_and_cross_site_refusal(hub: LiveHub, db: SessionFactory) -> None:
    inbox, _ = await _two_inboxes(db, hub)
    sam, sam_token = await make_agent(db, role="agent", inbox_ids=[inbox], name="Sam")
    kim, _ = await make_agent(db, role="agent", inbox_ids=[inbox], name="Kim")
    ws_url = hub.url.replace("http", "ws") + "/api/v1/stream"
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await post_api_message(client, inbox, "k1", "cust-9", "Where is my order?", "p-1", name="Pat")
        listing = await client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {sam_token}"})
        conversation = listing.json()["items"][0]["id"]
        await login(client, kim.email)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    async with (
        websockets.connect(f"{ws_url}?token={sam_token}") as sam_ws,
        websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": hub.url}) as kim_ws,
    ):
        for ws in (sam_ws, kim_ws):
            assert json.loads(await ws.recv())["type"] == "ready"

        async def next_of(ws: websockets.ClientConnection, kind: str, **match: object) -> dict[str, object]:
            async def find() -> dict[str, object] | None:
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                ok = event["type"] == kind and all(event.get(k) == v for k, v in match.items())
                return event if ok else None

            return await wait_for(find)  # type: ignore[no-any-return]

        await kim_ws.send(json.dumps({"type": "watch", "conversation_id": conversation}))
        await next_of(kim_ws, "presence")
        await sam_ws.send(json.dumps({"type": "watch", "conversation_id": conversation}))
        both = await next_of(kim_ws, "presence")
        assert sorted(a["name"] for a in both["agents"]) == ["Kim", "Sam"]  # type: ignore[union-attr,index]
        await sam_ws.send(json.dumps({"type": "typing", "conversation_id": conversation, "private": True}))
        note = await next_of(kim_ws, "presence")
        assert {a["name"]: a["state"] for a in note["agents"]}["Sam"] == "typing_note"  # type: ignore[union-attr,index]
        await sam_ws.send(json.dumps({"type": "typing", "conversation_id": conversation}))
        reply = await next_of(kim_ws, "presence")
        assert {a["id"]: a["state"] for a in reply["agents"]}[sam.id] == "typing"  # type: ignore[union-attr,index]
        await sam_ws.send(json.dumps({"type": "unwatch"}))
        left = await next_of(kim_ws, "presence")
        assert [a["name"] for a in left["agents"]] == ["Kim"]  # type: ignore[union-attr,index]
    evil = {"Cookie": cookie, "Origin": "https://evil.example"}
    try:
        async with websockets.connect(ws_url, additional_headers=evil) as ws:
            await ws.recv()
        raise AssertionError("a cross-site socket was accepted")
    except websockets.exceptions.InvalidStatus as exc:
        assert exc.response.status_code == 403


async def test_the_list_pages_with_a_cursor(hub: LiveHub, db: SessionFactory) -> None:
    inbox, _ = await _two_inboxes(db, hub)
    agent, _ = await make_agent(db, role="agent", inbox_ids=[inbox])
    start = utcnow() - timedelta(hours=1)
    for n in range(32):
        async with UnitOfWork(db()) as uow:
            when = start + timedelta(minutes=n)
            message = InboundMessage(
                channel_kind=ChannelKind.API, inbox_id=inbox, external_message_id=f"p-{n}",
                sender=ExternalIdentity(address=f"cust-{n}", name=f"Person {n:02d}"), text=f"note {n}", sent_at=when,
            )  # fmt: skip
            await receive_inbound(uow, message, InboxPolicy(id=inbox, kind="api"), now=when)
            await uow.commit()
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await login(client, agent.email)
        page = await client.get("/console")
        names = re.findall(r'<span class="row-name">([^<]+)</span>', page.text)
        assert names == [f"Person {n:02d}" for n in range(31, 1, -1)]  # newest first, one page of 30
        more = re.search(r'class="load-more" hx-get="([^"]+)"', page.text)
        assert more is not None
        rest = await client.get(html.unescape(more.group(1)), headers={"HX-Request": "true"})
        assert re.findall(r'<span class="row-name">([^<]+)</span>', rest.text) == ["Person 01", "Person 00"]
        assert "load-more" not in rest.text
        waiting = await client.get("/console?sort=waiting")
        assert re.findall(r'<span class="row-name">([^<]+)</span>', waiting.text)[:2] == ["Person 00", "Person 01"]
