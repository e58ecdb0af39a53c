"""Files in the web chat: visitor uploads (typed by their bytes, size-limited) and agent files to the visitor."""

from __future__ import annotations

import base64

import httpx
import pytest

from hub.storage.engine import SessionFactory
from tests.factories import make_agent
from tests.hub.webchat.support import SITE, Agent, WidgetClient, client_id, make_webchat
from tests.live import LiveHub

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
async def agent(hub: LiveHub, db: SessionFactory) -> Agent:
    _, token = await make_agent(db)
    agent = Agent(hub.url, token)
    yield agent  # type: ignore[misc]
    await agent.close()


async def test_visitor_uploads(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    async with httpx.AsyncClient(base_url=hub.url, headers={"Origin": SITE}, timeout=10) as rest:

        async def upload(name: str, content: bytes, token: str = visitor.token) -> httpx.Response:
            form = {"token": token, "client_id": client_id(), "text": "my receipt"}
            return await rest.post(f"/widget/messages?inbox={inbox.id}", data=form, files={"file": (name, content)})

        sent = await upload("receipt.png", PNG)
        assert sent.status_code == 201, sent.text
        message = sent.json()["message"]
        (file,) = message["attachments"]
        assert (message["text"], file["filename"], file["content_type"], file["size"]) == (
            "my receipt", "receipt.png", "image/png", len(PNG),
        )  # fmt: skip
        download = await rest.get(file["url"])
        assert download.status_code == 200 and download.content == PNG
        assert download.headers["content-type"] == "image/png"
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in download.headers["content-security-policy"]
        assert (await rest.get(file["url"][:-3] + "xyz")).status_code == 404
        # The agent sees the same file in the thread.
        thread = await agent.thread((await agent.conversations())[0]["id"])
        (stored,) = thread["messages"][0]["attachments"]
        assert stored["status"] == "stored" and (await agent.client.get(stored["url"])).content == PNG
        # Refused: HTML with an image name, more than 10 MB, no session.
        disguised = await upload("cat.png", b"<html><script>alert(1)</script></html>")
        assert disguised.status_code == 415 and disguised.json()["code"] == "file_refused"
        huge = await upload("big.png", PNG + b"\x00" * (10 * 1024 * 1024))
        assert huge.status_code == 413 and huge.json()["code"] == "too_large"
        anonymous = await upload("receipt.png", PNG, token="")
        assert anonymous.status_code == 401
    assert len((await agent.thread(thread["id"]))["messages"]) == 1
    await visitor.close()


async def test_agent_files_reach_the_visitor(hub: LiveHub, db: SessionFactory, agent: Agent) -> None:
    inbox = await make_webchat(db, hub.settings)
    visitor = WidgetClient(hub.url, inbox.id)
    await visitor.connect()
    await visitor.say("Can I have my invoice?")
    conversation_id = (await agent.conversations())[0]["id"]
    url = f"/api/v1/conversations/{conversation_id}/attachments"
    note = await agent.client.post(url, data={"private": "true"}, files={"file": ("internal.pdf", PDF)})
    assert note.status_code == 201 and note.json()["private"] is True
    sent = await agent.client.post(
        url, data={"text": "Here it is"}, files={"file": ("invoice.pdf", PDF, "application/pdf")}
    )
    assert sent.status_code == 201, sent.text
    shown = (await visitor.expect("message"))["message"]
    assert shown["id"] == sent.json()["id"] and shown["text"] == "Here it is"
    (file,) = shown["attachments"]
    assert (file["filename"], file["content_type"]) == ("invoice.pdf", "application/pdf")
    async with httpx.AsyncClient(base_url=hub.url) as anyone:
        download = await anyone.get(file["url"])
    assert download.content == PDF and download.headers["content-disposition"].startswith("inline")
    assert not [f for f in await visitor.quiet(0.5) if f.get("type") == "message"]  # the note never came
    await visitor.close()
