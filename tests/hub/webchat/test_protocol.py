"""`WS /widget/ws` at the protocol level: origins, reconnects, idempotency, limits, isolation, identity, typing."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hub.storage.engine import SessionFactory
from tests.factories import make_agent
from tests.hub.webchat.support import SITE, Agent, WidgetClient, client_id, make_webchat, shop_hash
from tests.live import LiveHub


@pytest.fixture
async def agent(hub: LiveHub, db: SessionFactory) -> Agent:
    _, token = await make_agent(db)
    agent = Agent(hub.url, token)
    yield agent  # type: ignore[misc]
    await agent.close()


async def test_a_foreign_origin_is_refused_before_the_handshake(hub: LiveHub, db: SessionFactory) -> None:
    inbox = await make_webchat(db, hub.settings, allowed_origins=["https://*.shop.example.com"])
    url = hub.url.replace("http://", "ws://") + f"/widget/ws?inbox={inbox.id}"
    for origin in ("https://evil.example.org", "https://shop.example.com"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin=origin, open_timeout=5)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):  # no Origin at all (not a browser on the shop's site)
        await connect(url, open_timeout=5)
    with pytest.raises(InvalidStatus):  # an inbox that is no web chat
        await connect(url.replace(f"inbox={inbox.id}", "inbox=999"), origin=SITE, open_timeout=5)  # type: ignore[arg-type]
    subdomain = WidgetClient(hub.url, inbox.id, origin="https://www.shop.example.com")
    assert (await subdomain.connect())["type"] == "ready"
    await subdomain.close()


async def test_send_receive_and_reconnect_with_the_last_id(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    visitor = WidgetClient(hub.url, inbox.id)
    ready = await visitor.connect(locale="nl-NL")
    assert ready["messages"] == [] and ready["token"].startswith("v_") and ready["inbox"]["title"] == "Shop chat"
    first = (await visitor.say("Where is order 1001?"))["message"]
    assert first["author"]["type"] == "customer" and first["text"] == "Where is order 1001?"
    conversation = (await agent.conversations())[0]
    assert conversation["channels"] == ["webchat"]
    r1 = await agent.reply(conversation["id"], "It ships today")
    live = (await visitor.expect("message"))["message"]
    assert (live["id"], live["text"], live["author"]["type"]) == (r1["id"], "It ships today", "agent")
    await agent.wait_status(conversation["id"], r1["id"], "sent")
    await visitor.close()

    # While the visitor is away, two more replies: reconnecting with the last id seen brings them back.
    r2 = await agent.reply(conversation["id"], "Tracking: 1Z999")
    r3 = await agent.reply(conversation["id"], "Anything else?")
    await agent.wait_status(conversation["id"], r3["id"], "sent")
    again = WidgetClient(hub.url, inbox.id)
    resumed = await again.connect(token=ready["token"], last_id=live["id"])
    assert resumed["visitor_id"] == ready["visitor_id"] and resumed["resumed"] is True
    ids = [m["id"] for m in resumed["messages"]]
    assert len(ids) == len(set(ids)) and {r2["id"], r3["id"]} <= set(ids)
    assert all(m["id"] > live["id"] or m["created_at"] >= first["created_at"] for m in resumed["messages"])
    # A reload (no last id) gets the whole recent history, in order, with the same conversation.
    reload = WidgetClient(hub.url, inbox.id)
    history = await reload.connect(token=ready["token"])
    assert [m["text"] for m in history["messages"]] == [
        "Where is order 1001?", "It ships today", "Tracking: 1Z999", "Anything else?",
    ]  # fmt: skip
    await reload.say("No, thanks!")
    assert len(await agent.conversations()) == 1
    await again.close()
    await reload.close()


async def test_resending_a_message_stores_it_once(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    cid = client_id()
    first = await visitor.say("hello", cid)
    second = await visitor.say("hello", cid)  # the widget resends after a reconnect it could not confirm
    assert first["message"]["id"] == second["message"]["id"] and second["message"]["client_id"] == cid
    thread = await agent.thread((await agent.conversations())[0]["id"])
    assert [m["text"] for m in thread["messages"]] == ["hello"]
    await visitor.close()


async def test_rate_limit_per_visitor(hub: LiveHub, db: SessionFactory) -> None:
    inbox = await make_webchat(db, hub.settings)
    noisy, calm = WidgetClient(hub.url, inbox.id), WidgetClient(hub.url, inbox.id)
    await noisy.connect()
    await calm.connect()
    answers = [await noisy.say(f"spam {i}") for i in range(22)]
    assert [a["type"] for a in answers] == ["ack"] * 20 + ["error"] * 2
    assert answers[-1]["code"] == "rate_limited" and 1 <= answers[-1]["retry_after"] <= 60
    assert (await calm.say("a different visitor is not slowed down"))["type"] == "ack"
    await noisy.close()
    await calm.close()


async def test_oversized_messages_and_frames_are_refused(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    refused = await visitor.say("x" * 5001)
    assert (refused["type"], refused["code"]) == ("error", "too_large")
    assert await agent.conversations() == []
    assert visitor.socket is not None
    for garbage in ("not json", "[1, 2]", '{"type": {}}', '{"type": "dance"}', "[" * 5000):
        await visitor.socket.send(garbage)
        assert (await visitor.expect("error"))["code"] == "bad_frame"
    await visitor.send({"type": "message", "text": "no client id"})
    assert (await visitor.expect("error"))["code"] == "bad_message"
    assert (await visitor.say("still connected"))["type"] == "ack"
    await visitor.send({"type": "message", "client_id": client_id(), "text": "y" * 40_000})
    with pytest.raises(ConnectionClosed) as closed:
        await visitor.expect("never")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    (conversation,) = await agent.conversations()
    assert [m["text"] for m in (await agent.thread(conversation["id"]))["messages"]] == ["still connected"]


async def test_the_socket_carries_only_the_visitors_own_conversation(
    hub: LiveHub, db: SessionFactory, agent: Agent
) -> None:
    inbox = await make_webchat(db, hub.settings)
    alice, bob = WidgetClient(hub.url, inbox.id), WidgetClient(hub.url, inbox.id)
    alice_ready = await alice.connect()
    await bob.connect()
    await alice.say("I am Alice")
    await bob.say("I am Bob")
    by_text = {}
    for conversation in await agent.conversations():
        by_text[(await agent.thread(conversation["id"]))["messages"][0]["text"]] = conversation["id"]
    alice_conv = by_text["I am Alice"]
    await agent.reply(alice_conv, "internal: check her order", private=True)
    reply = await agent.reply(alice_conv, "Hello Alice")
    got = (await alice.expect("message"))["message"]
    assert got["id"] == reply["id"]
    frames = await bob.quiet(1.0) + await alice.quiet(0.3)
    assert not any(f.get("type") == "message" for f in frames), frames
    assert all("internal" not in json.dumps(f) for f in frames)
    # Alice's token with another visitor's id (or a forged signature) is just a new, empty visitor.
    forged = alice_ready["token"].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    stranger = WidgetClient(hub.url, inbox.id)
    fresh = await stranger.connect(token=forged)
    assert fresh["visitor_id"] != alice_ready["visitor_id"] and fresh["messages"] == []
    history = (await WidgetClient(hub.url, inbox.id).connect(token=alice_ready["token"]))["messages"]
    assert [m["text"] for m in history] == ["I am Alice", "Hello Alice"]
    # Receipts only ever move the visitor's own replies.
    await bob.send({"type": "receipt", "status": "read", "up_to": 10**9})
    await asyncio.sleep(0.3)
    statuses = {m["id"]: m["status"] for m in (await agent.thread(alice_conv))["messages"]}
    assert statuses[reply["id"]] in ("sent", "delivered")
    for client in (alice, bob, stranger):
        await client.close()


async def _order_for_ada(agent: Agent) -> int:
    order = {
        "number": "1001",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "status": "paid",
        "items": [{"name": "Tea", "quantity": 1, "price": "9.50"}],
        "total": "9.50",
        "currency": "EUR",
    }
    response = await agent.client.post("/api/v1/orders", json=order)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["customer"]["id"])


async def _customer_of_only_conversation(agent: Agent) -> int:
    (conversation,) = await agent.conversations()
    return int(conversation["customer"]["id"])


async def test_a_verified_login_joins_the_shop_customer(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    ada = await _order_for_ada(agent)
    visitor = WidgetClient(hub.url, inbox.id)
    ready = await visitor.connect()
    await visitor.say("Hi, anonymous for now")
    # A wrong hash is refused outright: nothing about the visitor changes.
    await visitor.send({"type": "identify", "identifier": "ada@example.com", "identifier_hash": shop_hash("nope")})
    refused = await visitor.expect("error")
    assert (refused["code"], refused["about"]) == ("identity_rejected", "identify")
    assert await _customer_of_only_conversation(agent) != ada
    # The shop signs the identifier (here the email itself): the chat joins Ada, her orders with it.
    signed = {"identifier": "ada@example.com", "identifier_hash": shop_hash("ada@example.com"), "name": "Ada"}
    await visitor.send({"type": "identify", **signed})
    assert (await visitor.expect("identified"))["verified"] is True
    replaced = await visitor.expect("messages", lambda f: f.get("replace"))
    assert [m["text"] for m in replaced["messages"]] == ["Hi, anonymous for now"]
    await visitor.say("Where is my order?")
    assert await _customer_of_only_conversation(agent) == ada
    profile = (await agent.client.get(f"/api/v1/customers/{ada}")).json()
    assert [o["number"] for o in profile["orders"]] == ["1001"]
    assert ("webchat", "ada@example.com") in {(i["channel"], i["address"]) for i in profile["identities"]}
    assert ("webchat", ready["visitor_id"]) in {(i["channel"], i["address"]) for i in profile["identities"]}
    # The same log-in on another device continues the same thread.
    phone = WidgetClient(hub.url, inbox.id)
    other = await phone.connect(user={"identifier": "ada@example.com", "identifier_hash": shop_hash("ada@example.com")})
    assert other["identified"] is True and other["visitor_id"] != ready["visitor_id"]
    assert [m["text"] for m in other["messages"]][-1] == "Where is my order?"
    await visitor.close()
    await phone.close()


async def test_claims_without_proof_only_suggest_a_merge(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    ada = await _order_for_ada(agent)
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    # No hash: the identifier is ignored and the email is the visitor's own, unverified, claim.
    await visitor.send(
        {"type": "identify", "identifier": "ada@example.com", "email": "ADA@example.com", "name": "Ada?"}
    )
    assert (await visitor.expect("identified"))["verified"] is False
    await visitor.say("It's me, Ada")
    customer = await _customer_of_only_conversation(agent)
    assert customer != ada
    profile = (await agent.client.get(f"/api/v1/customers/{customer}")).json()
    assert profile["name"] == "Ada?" and profile["merge_suggestions"][0]["other_customer"]["id"] == ada
    ada_profile = (await agent.client.get(f"/api/v1/customers/{ada}")).json()
    assert all(i["channel"] != "webchat" for i in ada_profile["identities"])
    # A valid identifier hash with an email it does not cover: the email still proves nothing.
    signed = WidgetClient(hub.url, inbox.id)
    await signed.connect(
        user={"identifier": "cust-42", "identifier_hash": shop_hash("cust-42"), "email": "ada@example.com"}
    )
    await signed.say("Logged in as customer 42")
    conversations = await agent.conversations()
    assert ada not in {c["customer"]["id"] for c in conversations}
    # ...unless the shop signs the email too (`email_hash`).
    proven = WidgetClient(hub.url, inbox.id)
    await proven.connect(user={"identifier": "cust-7", "identifier_hash": shop_hash("cust-7"),
                               "email": "ada@example.com", "email_hash": shop_hash("ada@example.com")})  # fmt: skip
    await proven.say("Logged in with a signed email")
    assert ada in {c["customer"]["id"] for c in await agent.conversations()}
    for client in (visitor, signed, proven):
        await client.close()


async def test_another_login_on_the_same_browser_starts_a_fresh_visitor(hub: LiveHub, db: SessionFactory) -> None:
    inbox = await make_webchat(db, hub.settings)
    browser = WidgetClient(hub.url, inbox.id)
    first = await browser.connect(user={"identifier": "alice", "identifier_hash": shop_hash("alice")})
    await browser.say("Alice's private question")
    await browser.send({"type": "identify", "identifier": "bob", "identifier_hash": shop_hash("bob")})
    switched = await browser.expect("identified")
    assert switched["reset"] is True and switched["token"] != first["token"]
    assert (await browser.expect("messages", lambda f: f.get("replace")))["messages"] == []
    await browser.close()


async def test_typing_both_ways(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    _, token = await make_agent(db, email="sam@example.com", name="Sam Rivera")
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    await visitor.say("hello?")
    conversation_id = (await agent.conversations())[0]["id"]
    stream_url = hub.url.replace("http://", "ws://") + f"/api/v1/stream?token={token}"
    async with connect(stream_url, open_timeout=5) as console:
        assert json.loads(await console.recv())["type"] == "ready"
        await console.send(json.dumps({"type": "watch", "conversation_id": conversation_id}))
        await asyncio.sleep(0.3)
        await visitor.send({"type": "typing", "typing": True})
        async with asyncio.timeout(5):
            while (event := json.loads(await console.recv()))["type"] != "typing":
                pass
        assert event["conversation_id"] == conversation_id and event["typing"] is True
        assert event["customer"]["id"] == (await agent.conversations())[0]["customer"]["id"]
        # The console's typing command only tells other agents (collision notice), never the customer...
        await console.send(json.dumps({"type": "typing", "conversation_id": conversation_id, "private": True}))
        await console.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))
        assert not [f for f in await visitor.quiet(0.6) if f["type"] == "typing"]
    # ...the customer-facing indicator is the typing call the console makes for replies.
    url = f"/api/v1/conversations/{conversation_id}/typing"
    sam = Agent(hub.url, token)
    assert (await sam.client.post(url, json={"typing": True})).status_code == 200
    shown = await visitor.expect("typing")
    assert shown == {"type": "typing", "typing": True, "author": {"type": "agent", "name": "Sam Rivera"}}
    assert (await sam.client.post(url, json={"typing": False})).status_code == 200
    assert (await visitor.expect("typing"))["typing"] is False
    hidden = await make_webchat(db, hub.settings)  # an agent who may not see the conversation learns nothing
    _, outsider_token = await make_agent(db, role="agent", inbox_ids=[hidden.id])
    outsider = Agent(hub.url, outsider_token)
    assert (await outsider.client.post(url, json={"typing": True})).status_code == 404
    for client in (sam, outsider):
        await client.close()
    await visitor.close()


async def test_agent_read_state_reaches_the_widget(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    sent = (await visitor.say("anyone there?"))["message"]
    conversation_id = (await agent.conversations())[0]["id"]
    assert (await agent.client.post(f"/api/v1/conversations/{conversation_id}/read")).status_code == 200
    assert await visitor.expect("read") == {"type": "read", "by": "agent"}
    again = await WidgetClient(hub.url, inbox.id).connect(token=visitor.token)
    assert again["agent_seen_up_to"] == sent["id"]
    await visitor.close()


async def test_rest_fallback(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    headers = {"Origin": SITE, "Content-Type": "text/plain"}
    async with httpx.AsyncClient(base_url=hub.url, headers=headers, timeout=10) as rest:
        path = f"?inbox={inbox.id}"
        ready = (await rest.post("/widget/session" + path, content=json.dumps({"type": "hello"}))).json()
        token = ready["token"]
        cid = client_id()
        body = json.dumps({"token": token, "type": "message", "client_id": cid, "text": "no websockets here"})
        sent = await rest.post("/widget/messages" + path, content=body)
        assert sent.status_code == 201 and sent.headers["access-control-allow-origin"] == SITE
        assert sent.json()["message"]["client_id"] == cid
        conversation_id = (await agent.conversations())[0]["id"]
        reply = await agent.reply(conversation_id, "Polling works too")
        await agent.wait_status(conversation_id, reply["id"], "sent")
        polled = (await rest.post("/widget/sync" + path, content=json.dumps({"token": token, "after": 0}))).json()
        assert [m["text"] for m in polled["messages"]] == ["no websockets here", "Polling works too"]
        receipt = await rest.post(
            "/widget/receipts" + path, content=json.dumps({"token": token, "status": "read", "up_to": reply["id"]})
        )
        assert receipt.json() == {"type": "receipt", "updated": 1}
        await agent.wait_status(conversation_id, reply["id"], "read")
        expired = await rest.post("/widget/sync" + path, content=json.dumps({"token": "v_x.y", "after": 0}))
        assert expired.status_code == 401 and expired.json()["code"] == "session_invalid"
        foreign = await rest.post(
            "/widget/session" + path, content="{}", headers={"Origin": "https://evil.example.org"}
        )
        assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers
