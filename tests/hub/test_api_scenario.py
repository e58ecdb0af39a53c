"""The integrator's scenario: create an `api` inbox, post from one customer over several channels,
read one unified thread back, reply, and see the reply delivered to the callback."""

from __future__ import annotations

import asyncio
import json

import httpx
from aiohttp import web

from hub.storage.engine import SessionFactory
from tests.factories import api_message, api_signature, make_agent, make_inbox, twilio_inbound
from tests.fakes.base import FakeProvider
from tests.live import LiveHub


class CallbackReceiver(FakeProvider):
    """The integrator's server receiving our replies."""

    def routes(self, app: web.Application) -> None:
        self.route("POST", "/callback", lambda r: web.json_response({"external_id": f"ext-{len(self.requests)}"}))


async def _wait_for(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_unified_thread_across_api_and_sms(hub: LiveHub, db: SessionFactory) -> None:
    _, token = await make_agent(db, role="admin")
    sms = await make_inbox(
        db,
        hub.settings,
        "sms",
        {"account_sid": "AC" + "1" * 32, "auth_token": "twilio-token", "phone_number": "+15555550100"},
    )
    auth = {"Authorization": f"Bearer {token}"}
    with CallbackReceiver() as receiver:
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
            created = await client.post(
                "/api/v1/inboxes",
                json={
                    "kind": "api",
                    "name": "Shop app",
                    "settings": {"hmac_secret": "s3cret", "callback_url": f"{receiver.url}/callback"},
                },
                headers=auth,
            )
            assert created.status_code == 201, created.text
            inbox = created.json()
            assert inbox["webhook_url"] == f"https://hub.example.com/webhooks/api/{inbox['id']}"
            assert "s3cret" not in created.text and inbox["secrets_set"] == ["hmac_secret"]

            # 1. The shop's app posts a message from its customer (with email and phone).
            body = api_message(
                "cust-42",
                "Hi, where is order 1001?",
                "m-1",
                name="Ada Lovelace",
                email="ADA@example.com",
                phone="+1 555 555 0142",
            )
            headers = {"X-Omnihub-Signature": api_signature("s3cret", body), "Content-Type": "application/json"}
            first = await client.post(f"/webhooks/api/{inbox['id']}", content=body, headers=headers)
            assert first.status_code == 200 and first.json()["stored"] == 1
            again = await client.post(f"/webhooks/api/{inbox['id']}", content=body, headers=headers)
            assert again.status_code == 200 and again.json() == {"ok": True, "duplicates": 1}

            # 2. The same customer texts the shop's Twilio number from that phone.
            url = f"https://hub.example.com/webhooks/sms/{sms.id}"
            form, sms_headers = twilio_inbound(
                "twilio-token",
                url,
                sid="SM" + "a" * 32,
                from_="+15555550142",
                to="+15555550100",
                body="Also: can I change the address?",
            )
            texted = await client.post(f"/webhooks/sms/{sms.id}", content=form, headers=sms_headers)
            assert texted.status_code == 200, texted.text
            assert texted.headers["content-type"].startswith("text/xml")

            listing = (await client.get("/api/v1/conversations", headers=auth)).json()
            assert len(listing["items"]) == 1
            summary = listing["items"][0]
            assert summary["customer"]["name"] == "Ada Lovelace"
            assert summary["channels"] == ["api", "sms"]
            assert summary["unread"] == 2

            thread = (await client.get(f"/api/v1/conversations/{summary['id']}", headers=auth)).json()
            assert [(m["channel"], m["text"]) for m in thread["messages"]] == [
                ("api", "Hi, where is order 1001?"),
                ("sms", "Also: can I change the address?"),
            ]
            customer = (await client.get(f"/api/v1/customers/{summary['customer']['id']}", headers=auth)).json()
            assert sorted((i["channel"], i["address"]) for i in customer["identities"]) == [
                ("api", "cust-42"),
                ("sms", "+15555550142"),
            ]

            # 3. The agent answers on the API channel explicitly; the reply reaches the callback, signed.
            reply = await client.post(
                f"/api/v1/conversations/{summary['id']}/messages",
                json={"text": "It ships today!", "channel": "api"},
                headers=auth,
            )
            assert reply.status_code == 201 and reply.json()["status"] == "queued"

            async def delivered() -> object:
                thread = (await client.get(f"/api/v1/conversations/{summary['id']}", headers=auth)).json()
                last = thread["messages"][-1]
                return last if last["status"] == "sent" else None

            sent = await _wait_for(delivered)
            assert sent["external_id"] == "ext-1"
    callback = receiver.requests_to("/callback")
    assert len(callback) == 1
    assert callback[0].headers["X-Omnihub-Signature"] == api_signature("s3cret", callback[0].body)
    payload = json.loads(callback[0].body)
    assert payload["contact"] == {"identifier": "cust-42"} and payload["text"] == "It ships today!"


async def test_reply_on_a_channel_the_customer_lacks_is_422(hub: LiveHub, db: SessionFactory) -> None:
    _, token = await make_agent(db)
    inbox = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k"})
    async with httpx.AsyncClient(base_url=hub.url) as client:
        body = api_message("c-1", "hello", "x-1")
        await client.post(
            f"/webhooks/api/{inbox.id}", content=body, headers={"X-Omnihub-Signature": api_signature("k", body)}
        )
        conversation = (await client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})).json()[
            "items"
        ][0]
        response = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "hi", "channel": "whatsapp"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 422
    assert response.json() == {"detail": "the customer has no whatsapp identity to reply to", "status_code": 422}
