"""The JSON API: auth, inbox visibility, the error shape, pagination, workflow, customers, orders, search."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.storage.engine import SessionFactory
from tests.factories import api_message, api_signature, make_agent, make_inbox
from tests.live import LiveHub

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def post_api(client: httpx.AsyncClient, inbox_id: int, body: bytes, secret: str = "k") -> httpx.Response:
    return await client.post(
        f"/webhooks/api/{inbox_id}", content=body, headers={"X-Omnihub-Signature": api_signature(secret, body)}
    )


@pytest.fixture
async def world(hub: LiveHub, db: SessionFactory) -> dict[str, Any]:
    """Two api inboxes; an admin; an agent who works only the first inbox; one conversation in each."""
    first = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k"}, name="Shop A")
    second = await make_inbox(db, hub.settings, "api", {"hmac_secret": "k"}, name="Shop B")
    admin, admin_token = await make_agent(db, role="admin")
    agent, agent_token = await make_agent(db, role="agent", inbox_ids=[first.id or 0])
    async with httpx.AsyncClient(base_url=hub.url) as client:
        await post_api(client, first.id or 0, api_message("a-1", "order 1001 please", "m1", name="Ann"))
        await post_api(client, second.id or 0, api_message("b-1", "secret shop B stuff", "m2", name="Bob"))
    return {
        "first": first.id,
        "second": second.id,
        "admin": admin,
        "agent": agent,
        "admin_auth": {"Authorization": f"Bearer {admin_token}"},
        "agent_auth": {"Authorization": f"Bearer {agent_token}"},
    }


async def test_authentication_is_required_and_errors_have_the_contract_shape(
    hub: LiveHub, world: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        anonymous = await client.get("/api/v1/conversations")
        assert anonymous.status_code == 401 and anonymous.json() == {
            "detail": "authentication required",
            "status_code": 401,
        }
        wrong = await client.get("/api/v1/conversations", headers={"Authorization": "Bearer omh_nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid or revoked API token"
        unknown = await client.get("/api/v1/nothing-here", headers=world["admin_auth"])
        assert unknown.status_code == 404 and set(unknown.json()) == {"detail", "status_code"}
        bad_json = await client.post(
            "/api/v1/orders", content=b"{not json", headers={**world["admin_auth"], "Content-Type": "application/json"}
        )
        assert bad_json.status_code in (400, 422) and set(bad_json.json()) >= {"detail", "status_code"}


async def test_agents_see_only_their_inboxes(hub: LiveHub, world: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        admin_view = (await client.get("/api/v1/conversations", headers=world["admin_auth"])).json()["items"]
        agent_view = (await client.get("/api/v1/conversations", headers=world["agent_auth"])).json()["items"]
        assert sorted(c["customer"]["name"] for c in admin_view) == ["Ann", "Bob"]
        assert [c["customer"]["name"] for c in agent_view] == ["Ann"]
        hidden = next(c for c in admin_view if c["customer"]["name"] == "Bob")
        for path in (f"/api/v1/conversations/{hidden['id']}", f"/api/v1/customers/{hidden['customer']['id']}"):
            response = await client.get(path, headers=world["agent_auth"])
            assert response.status_code == 404, path
        reply = await client.post(
            f"/api/v1/conversations/{hidden['id']}/messages", json={"text": "x"}, headers=world["agent_auth"]
        )
        assert reply.status_code == 404
        search = (await client.get("/api/v1/search", params={"q": "secret"}, headers=world["agent_auth"])).json()
        assert search["messages"] == []
        inboxes = (await client.get("/api/v1/inboxes", headers=world["agent_auth"])).json()["items"]
        assert [i["id"] for i in inboxes] == [world["first"]]
        create = await client.post(
            "/api/v1/inboxes",
            json={"kind": "api", "name": "x", "settings": {"hmac_secret": "s"}},
            headers=world["agent_auth"],
        )
        assert create.status_code == 403


async def test_inbox_settings_are_validated_per_kind_and_secrets_never_returned(
    hub: LiveHub, world: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=hub.url, headers=world["admin_auth"]) as client:
        missing = await client.post(
            "/api/v1/inboxes", json={"kind": "sms", "name": "SMS", "settings": {"account_sid": "AC1"}}
        )
        assert missing.status_code == 422
        assert "auth_token" in missing.json()["detail"] and "phone_number" in missing.json()["detail"]
        unknown = await client.post(
            "/api/v1/inboxes", json={"kind": "api", "name": "x", "settings": {"hmac_secret": "s", "colour": 1}}
        )
        assert unknown.status_code == 422 and "unknown settings: colour" in unknown.json()["detail"]
        bad_kind = await client.post("/api/v1/inboxes", json={"kind": "fax", "name": "x", "settings": {}})
        assert bad_kind.status_code == 422
        created = await client.post(
            "/api/v1/inboxes",
            json={
                "kind": "sms",
                "name": "SMS",
                "settings": {
                    "account_sid": "AC" + "2" * 32,
                    "auth_token": "tw-secret-token",
                    "phone_number": "+15555550100",
                },
            },
        )
        assert created.status_code == 201 and created.json()["webhook_url"].endswith(
            f"/webhooks/sms/{created.json()['id']}"
        )
        listing = await client.get("/api/v1/inboxes")
        assert "tw-secret-token" not in listing.text and "tw-secret-token" not in created.text


async def test_cursor_pagination_walks_every_conversation_once(
    hub: LiveHub, db: SessionFactory, world: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        for n in range(7):
            await post_api(client, world["first"], api_message(f"p-{n}", f"hello {n}", f"page-{n}"))
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/conversations", params=params, headers=world["admin_auth"])).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 9
        garbage = await client.get("/api/v1/conversations", params={"cursor": "!!"}, headers=world["admin_auth"])
        assert garbage.status_code == 400 and garbage.json()["detail"] == "invalid cursor"


async def test_workflow_changes_filters_and_activity_lines(hub: LiveHub, world: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=hub.url, headers=world["admin_auth"]) as client:
        conversation = (await client.get("/api/v1/conversations", params={"inbox": world["first"]})).json()["items"][0]
        cid = conversation["id"]
        patched = await client.patch(
            f"/api/v1/conversations/{cid}",
            json={"assignee_id": world["agent"].id, "tags": ["Shipping", "vip", "shipping"], "priority": "high"},
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (
            body["assignee"]["id"] == world["agent"].id
            and body["tags"] == ["shipping", "vip"]
            and body["priority"] == "high"
        )
        mine = (await client.get("/api/v1/conversations", params={"assignee": world["agent"].id})).json()["items"]
        assert [c["id"] for c in mine] == [cid]
        tagged = (await client.get("/api/v1/conversations", params={"tag": "vip"})).json()["items"]
        assert [c["id"] for c in tagged] == [cid]
        resolved = await client.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"})
        assert resolved.json()["status"] == "resolved"
        assert (await client.get("/api/v1/conversations", params={"status": "resolved"})).json()["items"][0][
            "id"
        ] == cid
        thread = (await client.get(f"/api/v1/conversations/{cid}")).json()
        system = [m["text"] for m in thread["messages"] if m["direction"] == "system"]
        agent_name = world["agent"].name
        assert system == [
            f"{world['admin'].name} assigned the conversation to {agent_name}",
            f"{world['admin'].name} set the priority to high",
            f"{world['admin'].name} resolved the conversation",
        ]
        bad = await client.patch(f"/api/v1/conversations/{cid}", json={"status": "done"})
        assert bad.status_code == 422 and "status must be one of" in bad.json()["detail"]
        snooze = await client.patch(f"/api/v1/conversations/{cid}", json={"status": "snoozed"})
        assert snooze.status_code == 422
        read = await client.post(f"/api/v1/conversations/{cid}/read")
        assert read.status_code == 200
        assert (await client.get(f"/api/v1/conversations/{cid}")).json()["unread"] == 0


async def test_orders_link_to_customers_and_search_finds_everything(
    hub: LiveHub, db: SessionFactory, world: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=hub.url, headers=world["admin_auth"]) as client:
        await post_api(
            client, world["first"], api_message("c-77", "hi there", "o-1", name="Olga", email="olga@example.com")
        )
        order = {
            "number": "A-2231", "customer": {"email": "OLGA@example.com"}, "status": "shipped",
            "items": [{"name": "Boots", "quantity": 1, "price": "80.00"}], "total": "80", "currency": "eur",
            "placed_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z",
            "fulfillment": {"status": "shipped", "carrier": "DHL", "tracking_number": "JD01",
                            "tracking_url": "https://dhl.example/JD01", "eta": "2026-11-05"},
        }  # fmt: skip
        stored = await client.post("/api/v1/orders", json=order)
        assert stored.status_code == 200, stored.text
        assert stored.json()["total"] == "80.00" and stored.json()["currency"] == "EUR"
        older = await client.post(
            "/api/v1/orders", json={**order, "status": "paid", "updated_at": "2026-11-01T11:00:00Z"}
        )
        assert older.json()["status"] == "shipped" and older.json()["changed"] is False  # never rolled back
        fetched = (await client.get("/api/v1/orders/A-2231")).json()
        assert fetched["fulfillment"]["tracking_url"] == "https://dhl.example/JD01"
        invalid = await client.post("/api/v1/orders", json={"status": "lost"})
        assert invalid.status_code == 422 and "number is required" in invalid.json()["detail"]
        customers = (await client.get("/api/v1/customers", params={"q": "olga"})).json()["items"]
        profile = (await client.get(f"/api/v1/customers/{customers[0]['id']}")).json()
        assert [o["number"] for o in profile["orders"]] == ["A-2231"]
        found = (await client.get("/api/v1/search", params={"q": "A-2231"})).json()
        assert [o["number"] for o in found["orders"]] == ["A-2231"]
        words = (await client.get("/api/v1/search", params={"q": "order 1001"})).json()
        assert words["messages"] and "<mark>1001</mark>" in words["messages"][0]["snippet"]
        people = (await client.get("/api/v1/search", params={"q": "olga"})).json()
        assert people["customers"][0]["snippet"].startswith("<mark>Olga</mark>")


async def test_merge_and_undo_move_everything_back(hub: LiveHub, world: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=hub.url, headers=world["admin_auth"]) as client:
        listing = (await client.get("/api/v1/conversations")).json()["items"]
        ann = next(c for c in listing if c["customer"]["name"] == "Ann")["customer"]["id"]
        bob = next(c for c in listing if c["customer"]["name"] == "Bob")["customer"]["id"]
        merged = await client.post(f"/api/v1/customers/{ann}/merge", json={"other_id": bob})
        assert merged.status_code == 200, merged.text
        profile = merged.json()["customer"]
        assert (
            sorted(i["address"] for i in profile["identities"]) == ["a-1", "b-1"] and len(profile["conversations"]) == 2
        )
        gone = (await client.get(f"/api/v1/customers/{bob}")).json()
        assert gone["merged_into_id"] == ann and gone["identities"] == []
        twice = await client.post(f"/api/v1/customers/{ann}/merge", json={"other_id": bob})
        assert twice.status_code == 422
        undone = await client.post(f"/api/v1/customers/merges/{merged.json()['merge_id']}/undo")
        assert undone.status_code == 200 and undone.json() == {"restored_customer_id": bob}
        back = (await client.get(f"/api/v1/customers/{bob}")).json()
        assert back["merged_into_id"] is None and [i["address"] for i in back["identities"]] == ["b-1"]
        assert len((await client.get(f"/api/v1/customers/{ann}")).json()["conversations"]) == 1


async def test_health_readiness_metrics_and_openapi(hub: LiveHub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = (await client.get("/readyz")).json()
        assert ready["status"] == "ok" and ready["checks"]["database"] == "ok"
        if hub.settings.redis_url:
            assert ready["checks"]["redis"] == "ok"
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "omnihub_webhook_requests_total" in metrics.text
        schema = (await client.get("/schema/openapi.json")).json()
        for path in (
            "/api/v1/conversations",
            "/api/v1/inboxes",
            "/api/v1/customers/{customer_id}",
            "/api/v1/search",
            "/api/v1/orders",
        ):
            assert path in schema["paths"], path


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_webhooks_messages_and_sends(hub: LiveHub, world: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        before = (await client.get("/metrics")).text
        body = api_message("m-9", "counted", "metric-1")
        assert (await post_api(client, world["first"], body)).status_code == 200
        assert (await post_api(client, world["first"], body)).status_code == 200  # a duplicate
        assert (await post_api(client, world["first"], body, secret="wrong")).status_code == 401
        after = (await client.get("/metrics")).text
    for name, labels, delta in (
        ("omnihub_webhook_requests_total", {"kind": "api", "outcome": "ok"}, 2),
        ("omnihub_webhook_requests_total", {"kind": "api", "outcome": "bad_signature"}, 1),
        ("omnihub_inbound_messages_total", {"channel": "api"}, 1),
        ("omnihub_inbound_duplicates_total", {"channel": "api"}, 1),
    ):
        assert _metric(after, name, **labels) - _metric(before, name, **labels) == delta, (name, labels)
    assert "omnihub_webhook_seconds_bucket" in after
