"""Slack end to end: recorded Events API envelopes signed with the v0 signing secret -> live hub -> thread in
the API (profile from users.info, edits, files fetched with the bot token, bot echoes dropped) -> agent reply
through slack-sdk's AsyncWebClient into the customer's Slack thread on `FakeSlack`.

Slack has no delivery or read receipts for bot messages, so a Slack reply ends at `sent`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.registry import REGISTRY
from hub.storage.engine import SessionFactory
from tests.connectors.conftest import load_json_fixture
from tests.factories import api_message, api_signature, make_agent, make_inbox
from tests.fakes.slack import FakeSlack, encode_body, message_envelope, signed_headers
from tests.hub.e2e import Agent, live_stream
from tests.live import LiveHub

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example secret
MESSAGE = "bolt_event_callback_message.json"  # "Hello World!" from W111 in C111, ts 1596183880.004200
THREAD_TS = "1596183880.004200"
PNG = b"\x89PNG\r\n\x1a\n" + b"customer-screenshot" * 40


@dataclass
class Slack:
    hub: LiveHub
    fake: FakeSlack
    inbox_id: int
    agent: Agent

    @property
    def path(self) -> str:
        return f"/webhooks/slack/{self.inbox_id}"

    async def post(
        self, payload: dict[str, Any], *, secret: str = SIGNING_SECRET, timestamp: int | None = None, **headers: str
    ) -> httpx.Response:
        """POST an envelope as Slack does: compact JSON, signed now (or at `timestamp`)."""
        body = encode_body(payload)
        signed = {**signed_headers(secret, body, timestamp), **headers}
        return await self.agent.post_webhook(self.path, body, signed)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(team_id="T111") as slack:
        slack.add_user("W111", real_name="Ada Lovelace", display_name="ada", email="ada@example.com")
        yield slack  # type: ignore[misc]


@pytest.fixture
async def slack(hub: LiveHub, db: SessionFactory, fake: FakeSlack) -> AsyncIterator[Slack]:
    settings = {"bot_token": fake.bot_token, "signing_secret": SIGNING_SECRET, "api_base_url": fake.api_url}
    inbox = await make_inbox(db, hub.settings, "slack", settings)
    _, token = await make_agent(db, role="admin")
    agent = Agent(hub, token)
    yield Slack(hub, fake, int(inbox.id or 0), agent)
    await agent.close()


async def test_url_verification_is_answered_once_signed(slack: Slack) -> None:
    challenge = load_json_fixture("slack", "url_verification.json")
    answer = await slack.post(challenge)
    assert answer.status_code == 200 and answer.json() == {"challenge": challenge["challenge"]}
    assert (await slack.post(challenge, secret="wrong")).status_code == 401


async def test_message_reply_in_thread_edit_and_echo(slack: Slack) -> None:
    answer = await slack.post(load_json_fixture("slack", MESSAGE))
    assert answer.status_code == 200, answer.text
    conversation = await slack.agent.only_conversation()
    assert conversation["customer"]["name"] == "Ada Lovelace"  # users.info, asked once for the unseen sender
    assert len(slack.fake.requests_to("/api/users.info")) == 1
    [inbound] = await slack.agent.messages(conversation["id"])
    assert (inbound["channel"], inbound["text"], inbound["external_id"]) == (
        "slack",
        "Hello World!",
        f"C111:{THREAD_TS}",
    )

    async with live_stream(slack.hub, slack.agent.token) as stream:
        reply = await slack.agent.reply(conversation["id"], "Hi Ada <3 & welcome")
        sent = await slack.agent.wait_status(conversation["id"], reply["id"], "sent")
        await stream.wait_message_update(reply["id"], status="sent")
    [post] = slack.fake.requests_to("/api/chat.postMessage")
    assert post.headers["Authorization"] == f"Bearer {slack.fake.bot_token}"
    args = FakeSlack.args(post)
    assert (args["channel"], args["thread_ts"]) == ("C111", THREAD_TS)  # in the customer's thread
    assert args["text"] == "Hi Ada &lt;3 &amp; welcome"  # Slack's escaping of & < >
    [posted] = slack.fake.posted
    assert sent["external_id"] == f"C111:{posted['ts']}"

    # Slack echoes our own reply (bot_id) and other apps' bot messages: never customer messages.
    echo = message_envelope(text=args["text"], user="U0BOT", channel="C111", team_id="T111", bot_id="B0BOT")
    echo["event"]["thread_ts"] = THREAD_TS
    assert (await slack.post(echo)).status_code == 200
    assert (await slack.post(load_json_fixture("slack", "bolt_event_callback_bot_message.json"))).status_code == 200
    messages = await slack.agent.messages(conversation["id"])
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("inbound", "Hello World!"),
        ("outbound", "Hi Ada <3 & welcome"),
    ]


async def test_message_changed_edits_the_stored_message(slack: Slack) -> None:
    changed = load_json_fixture("slack", "bolt_event_callback_message_changed.json")
    original_ts = changed["event"]["previous_message"]["ts"]
    original = message_envelope(text="original message", user="W111", channel="C111", ts=original_ts, team_id="T111")
    assert (await slack.post(original)).status_code == 200
    conversation = await slack.agent.only_conversation()
    [message] = await slack.agent.messages(conversation["id"])

    async with live_stream(slack.hub, slack.agent.token) as stream:
        assert (await slack.post(changed)).status_code == 200
        event = await stream.wait_message_update(message["id"], text="updated message")
    assert event["message"]["edited_at"] is not None
    [edited] = await slack.agent.messages(conversation["id"])
    assert (edited["id"], edited["text"]) == (message["id"], "updated message")
    assert edited["edited_at"] is not None


async def test_profile_email_joins_the_existing_customer(slack: Slack, db: SessionFactory) -> None:
    api = await make_inbox(db, slack.hub.settings, "api", {"hmac_secret": "k"})
    body = api_message("shop-user-7", "Where is order 1001?", "o-1", name="Ada L.", email="ADA@example.com")
    seeded = await slack.agent.post_webhook(
        f"/webhooks/api/{api.id}", body, {"X-Omnihub-Signature": api_signature("k", body)}
    )
    assert seeded.status_code == 200
    before = await slack.agent.only_conversation()

    assert (await slack.post(load_json_fixture("slack", MESSAGE))).status_code == 200
    conversation = await slack.agent.only_conversation()  # one customer, one thread
    assert conversation["id"] == before["id"] and conversation["channels"] == ["api", "slack"]
    customer = await slack.agent.customer(conversation["customer"]["id"])
    assert sorted((i["channel"], i["address"]) for i in customer["identities"]) == [
        ("api", "shop-user-7"),
        ("slack", "T111:W111"),
    ]


async def test_shared_file_is_fetched_with_the_bot_token(slack: Slack) -> None:
    envelope = load_json_fixture("slack", "bolt_event_callback_message_file_share.json")
    hosted = slack.fake.add_file("file.png", PNG, "image/png")
    recorded = envelope["event"]["files"][0]
    # The recorded file lives on files.slack.com: point its URLs at the fake that hosts the bytes.
    recorded.update({k: hosted[k] for k in ("id", "url_private", "url_private_download", "size")})
    slack.fake.users["U111"] = copy.deepcopy(slack.fake.users["W111"]) | {"id": "U111"}
    slack.fake.delay_next(1.0, times=2)  # users.info, then the download: the API shows the file pending first
    assert (await slack.post(envelope)).status_code == 200

    conversation = await slack.agent.only_conversation()
    [inbound] = await slack.agent.messages(conversation["id"])
    assert inbound["text"] == "Hi there!"
    assert [(a["filename"], a["status"]) for a in inbound["attachments"]] == [("file.png", "pending")]
    stored = await slack.agent.wait_attachment(conversation["id"])
    assert await slack.agent.attachment_bytes(stored) == PNG
    download = slack.fake.requests_to("/download/file.png")[0]
    assert download.headers["Authorization"] == f"Bearer {slack.fake.bot_token}"


async def test_a_mention_and_its_message_twin_are_one_message(slack: Slack) -> None:
    mention = load_json_fixture("slack", "bolt_event_callback_app_mention.json")
    event = mention["event"]
    twin = message_envelope(
        text=event["text"], user=event["user"], channel=event["channel"], ts=event["ts"], team_id="T111"
    )
    assert (await slack.post(mention)).status_code == 200
    assert (await slack.post(twin)).status_code == 200
    conversation = await slack.agent.only_conversation()
    [message] = await slack.agent.messages(conversation["id"])
    assert message["external_id"] == f"C111:{event['ts']}"


async def test_refusals_and_redelivery(slack: Slack) -> None:
    envelope = load_json_fixture("slack", MESSAGE)
    assert (await slack.post(envelope, secret="not-the-signing-secret")).status_code == 401
    stale = await slack.post(envelope, timestamp=int(time.time()) - 6 * 60)  # outside the 5-minute window
    assert stale.status_code == 401
    assert await slack.agent.conversations() == []

    body = encode_body(envelope)
    headers = signed_headers(SIGNING_SECRET, body)
    assert (await slack.agent.post_webhook("/webhooks/slack/999999", body, headers)).status_code == 404
    broken = b'{"type": "event_callback", "event": '
    malformed = await slack.agent.post_webhook(slack.path, broken, signed_headers(SIGNING_SECRET, broken))
    assert malformed.status_code == 400 and malformed.json()["detail"].startswith("malformed payload")

    assert (await slack.post(envelope)).status_code == 200
    retry = await slack.post(envelope, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    conversation = await slack.agent.only_conversation()
    assert len(await slack.agent.messages(conversation["id"])) == 1


async def test_archived_channel_fails_with_slack_reason(slack: Slack) -> None:
    await slack.post(load_json_fixture("slack", MESSAGE))
    conversation = await slack.agent.only_conversation()
    slack.fake.set_channel("C111", archived=True)
    async with live_stream(slack.hub, slack.agent.token) as stream:
        reply = await slack.agent.reply(conversation["id"], "Hello?")
        failed = await slack.agent.wait_status(conversation["id"], reply["id"], "failed")
        assert failed["error"] == "Slack chat.postMessage failed: is_archived" and failed["attempts"] == 1
        await stream.wait_message_update(reply["id"], status="failed", error=failed["error"])


async def test_5xx_and_timeout_are_retried_then_sent(slack: Slack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(REGISTRY["slack"], "timeout", 1.0)  # the SDK counts whole seconds
    await slack.post(load_json_fixture("slack", MESSAGE))
    conversation = await slack.agent.only_conversation()
    slack.fake.fail_next(503, "service unavailable")
    slack.fake.delay_next(2.5)
    reply = await slack.agent.reply(conversation["id"], "Third time lucky")
    sent = await slack.agent.wait_status(conversation["id"], reply["id"], "sent")
    assert sent["attempts"] == 3 and sent["error"] is None
    assert len(slack.fake.requests_to("/api/chat.postMessage")) == 3
