"""Sending through the real slack-sdk against FakeSlack: the exact requests Slack would get, and error mapping."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from connectors.base import Connector, FetchesAttachments, InboxConfig, ResolvesProfiles, SendFailed
from connectors.slack.connector import SlackConnector
from conversation.types import Attachment, ChannelKind, DeliveryStatus, ExternalIdentity, OutboundMessage
from tests.connectors.slack.conftest import slack_account
from tests.fakes.base import free_port
from tests.fakes.slack import FakeSlack


def reply(text: str = "Your order 1001 shipped today.", **fields: Any) -> OutboundMessage:
    base: dict[str, Any] = {
        "message_id": 41,
        "conversation_id": 5,
        "channel_kind": ChannelKind.SLACK,
        "inbox_id": 7,
        "recipient": ExternalIdentity(address="T0SHOP:U0CUSTOMER"),
        "text": text,
        "external_thread_ref": "C0SUPPORT:1700000000.000100",
        "author_name": "Sam",
    }
    base.update(fields)
    return OutboundMessage(**base)


def test_protocols_and_settings() -> None:
    connector = SlackConnector()
    assert isinstance(connector, Connector)
    assert isinstance(connector, FetchesAttachments)
    assert isinstance(connector, ResolvesProfiles)
    spec = SlackConnector.settings_spec
    assert spec.validate({"bot_token": "xoxb-1", "signing_secret": "s"}) == []
    assert spec.validate({"bot_token": "xoxb-1"}) == ["missing required settings: signing_secret"]
    assert (
        spec.validate(
            {
                "bot_token": "x",
                "signing_secret": "s",
                "api_base_url": "http://h/api/",
                "bot_enabled": True,
                "bot": "order_status",
                "agent_bot_url": "https://b",
                "agent_bot_secret": "z",
            }
        )
        == []
    )
    assert spec.validate({"bot_token": "x", "signing_secret": "s", "team": "T1"}) == ["unknown settings: team"]
    assert spec.secrets == {"bot_token", "signing_secret", "agent_bot_secret"}


# -- chat.postMessage --------------------------------------------------------------------------------------


async def test_reply_goes_into_the_customers_thread(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    receipt = await connector.send(reply(), live_account)

    (request,) = fake_slack.requests
    assert request.method == "POST"
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {fake_slack.bot_token}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json == {
        "channel": "C0SUPPORT",
        "text": "Your order 1001 shipped today.",
        "thread_ts": "1700000000.000100",
    }
    ts = fake_slack.posted[0]["ts"]
    assert receipt.external_message_id == f"C0SUPPORT:{ts}"
    assert receipt.external_thread_ref == "C0SUPPORT:1700000000.000100"
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.raw["ok"] is True


async def test_text_is_escaped_for_slack(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    await connector.send(reply("Totals: 3 < 5 & 7 > 2 <@U1>"), live_account)
    assert fake_slack.requests[0].json["text"] == "Totals: 3 &lt; 5 &amp; 7 &gt; 2 &lt;@U1&gt;"


async def test_base_url_without_trailing_slash(connector: SlackConnector, fake_slack: FakeSlack) -> None:
    account = slack_account(bot_token=fake_slack.bot_token, api_base_url=fake_slack.api_url.rstrip("/"))
    await connector.send(reply(), account)
    assert fake_slack.requests[0].path == "/api/chat.postMessage"


async def test_without_a_thread_the_reply_opens_a_dm(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0CUSTOMER")
    receipt = await connector.send(reply(external_thread_ref=None), live_account)

    open_dm, post = fake_slack.requests
    assert open_dm.path == "/api/conversations.open"
    assert FakeSlack.args(open_dm)["users"] == "U0CUSTOMER"
    assert post.json == {"channel": "D0CUSTOMER", "text": "Your order 1001 shipped today."}
    assert receipt.external_message_id == f"D0CUSTOMER:{fake_slack.posted[0]['ts']}"
    assert receipt.external_thread_ref == "D0CUSTOMER"


async def test_reply_to_a_top_level_dm_stays_top_level(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    receipt = await connector.send(reply(external_thread_ref="D0442US94JD"), live_account)
    assert fake_slack.requests[0].json == {"channel": "D0442US94JD", "text": "Your order 1001 shipped today."}
    assert receipt.external_message_id == f"D0442US94JD:{fake_slack.posted[0]['ts']}"
    assert receipt.external_thread_ref == "D0442US94JD"


async def test_url_attachments_are_linked(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    invoice = Attachment(
        filename="invoice <1001>.pdf", content_type="application/pdf", source_url="https://shop.example.com/i/1001.pdf"
    )
    await connector.send(reply("Here you go", attachments=(invoice,)), live_account)
    assert fake_slack.requests[0].json["text"] == (
        "Here you go\n<https://shop.example.com/i/1001.pdf|invoice &lt;1001&gt;.pdf>"
    )


async def test_nothing_to_send(connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack) -> None:
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply("   "), live_account)
    assert caught.value.retryable is False
    assert caught.value.code == "no_text"
    assert fake_slack.requests == []


# -- files -------------------------------------------------------------------------------------------------


async def test_files_with_bytes_go_out_as_one_file_share(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    photo = Attachment(filename="label.png", content_type="image/png", content=b"\x89PNG fake bytes")
    receipt = await connector.send(reply("Your label", attachments=(photo,)), live_account)

    get_url, upload, complete = fake_slack.requests
    assert get_url.path == "/api/files.getUploadURLExternal"
    assert get_url.headers["Authorization"] == f"Bearer {fake_slack.bot_token}"
    assert FakeSlack.args(get_url) == {"filename": "label.png", "length": str(len(photo.content or b""))}
    assert upload.path.startswith("/upload/v1/")
    assert upload.body == photo.content
    assert complete.path == "/api/files.completeUploadExternal"
    args = FakeSlack.args(complete)
    file_id = json.loads(args["files"])[0]["id"]
    assert json.loads(args["files"]) == [{"id": file_id, "title": "label.png"}]
    assert args["channel_id"] == "C0SUPPORT"
    assert args["thread_ts"] == "1700000000.000100"
    assert args["initial_comment"] == "Your label"
    assert fake_slack.files[file_id]["content"] == photo.content
    assert receipt.external_message_id == f"C0SUPPORT:{file_id}"
    assert receipt.external_thread_ref == "C0SUPPORT:1700000000.000100"


async def test_file_upload_refused_is_retryable(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    fake_slack.reject_uploads = True
    photo = Attachment(filename="label.png", content_type="image/png", content=b"bytes")
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply("x", attachments=(photo,)), live_account)
    assert caught.value.retryable is True
    assert caught.value.code == "upload_failed"
    assert [r.path for r in fake_slack.requests][-1].startswith("/upload/v1/")
    assert fake_slack.posted == []


# -- error mapping -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "missing_scope", "account_inactive"]
)
async def test_permanent_slack_errors(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.error_next(error)
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), live_account)
    assert caught.value.retryable is False
    assert caught.value.code == error
    assert caught.value.reason == f"Slack chat.postMessage failed: {error}"


async def test_channel_the_bot_is_not_in(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    fake_slack.set_channel("C0SUPPORT", member=False)
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), live_account)
    assert (caught.value.code, caught.value.retryable) == ("not_in_channel", False)


async def test_revoked_token(connector: SlackConnector, fake_slack: FakeSlack) -> None:
    account = slack_account(bot_token="xoxb-revoked", api_base_url=fake_slack.api_url)
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), account)
    assert (caught.value.code, caught.value.retryable) == ("invalid_auth", False)


async def test_rate_limited_is_retryable_and_says_when(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    fake_slack.ratelimit_next(retry_after=30)
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), live_account)
    assert caught.value.retryable is True
    assert caught.value.code == "ratelimited"
    assert caught.value.reason == "Slack chat.postMessage failed: ratelimited (retry after 30s)"
    assert len(fake_slack.requests) == 1  # no hidden retries: the outbox decides


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (500, {"ok": False, "error": "internal_error"}, "internal_error"),
        (200, {"ok": False, "error": "fatal_error"}, "fatal_error"),
        (200, {"ok": False, "error": "service_unavailable"}, "service_unavailable"),
        (503, "Service Unavailable", "http_503"),
        (502, None, "http_502"),
    ],
)
async def test_server_errors_are_retryable(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack, status: int, body: Any, code: str
) -> None:
    fake_slack.fail_next(status, body)
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), live_account)
    assert (caught.value.retryable, caught.value.code) == (True, code)


async def test_timeout_is_retryable(live_account: InboxConfig, fake_slack: FakeSlack) -> None:
    fake_slack.delay_next(1.5)
    with pytest.raises(SendFailed) as caught:
        await SlackConnector(timeout=1).send(reply(), live_account)
    assert caught.value.retryable is True
    assert "unreachable" in caught.value.reason


async def test_connection_refused_is_retryable(connector: SlackConnector) -> None:
    account = slack_account(api_base_url=f"http://127.0.0.1:{free_port()}/api/")
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), account)
    assert caught.value.retryable is True


async def test_missing_bot_token(connector: SlackConnector) -> None:
    with pytest.raises(SendFailed) as caught:
        await connector.send(reply(), slack_account(bot_token=""))
    assert (caught.value.code, caught.value.retryable) == ("not_authed", False)


# -- profiles ----------------------------------------------------------------------------------------------


async def test_profile_gives_name_and_verified_email(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U0CUSTOMER", real_name="Ada Lovelace", display_name="ada", email="ada@example.com")
    profile = await connector.fetch_profile(ExternalIdentity(address="T0SHOP:U0CUSTOMER"), live_account)

    (request,) = fake_slack.requests
    assert (request.method, request.path) == ("GET", "/api/users.info")
    assert request.query == {"user": "U0CUSTOMER"}
    assert request.headers["Authorization"] == f"Bearer {fake_slack.bot_token}"
    assert profile is not None
    assert profile.address == "T0SHOP:U0CUSTOMER"
    assert profile.name == "Ada Lovelace"
    assert profile.email == "ada@example.com"
    assert profile.verified is True
    assert profile.avatar_url == "https://avatars.slack-edge.com/fake/U0CUSTOMER_192.png"
    assert profile.extra["display_name"] == "ada"
    assert profile.extra["slack_team_id"] == "T0SHOP"


async def test_profile_without_email_scope_or_confirmation(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("U1", real_name="", display_name="guest", email=None)
    fake_slack.add_user("U2", email="maybe@example.com", is_email_confirmed=False)
    no_email = await connector.fetch_profile(ExternalIdentity(address="T0SHOP:U1"), live_account)
    unconfirmed = await connector.fetch_profile(ExternalIdentity(address="T0SHOP:U2"), live_account)
    assert no_email is not None and (no_email.name, no_email.email) == ("guest", None)
    assert unconfirmed is not None and (unconfirmed.email, unconfirmed.verified) == ("maybe@example.com", False)


async def test_profile_unavailable_is_none_and_logged(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="connectors.slack.connector")
    assert await connector.fetch_profile(ExternalIdentity(address="T0SHOP:U404"), live_account) is None
    fake_slack.ratelimit_next()
    fake_slack.add_user("U1")
    assert await connector.fetch_profile(ExternalIdentity(address="T0SHOP:U1"), live_account) is None
    assert [r.getMessage() for r in caplog.records] == [
        "slack users.info for U404 failed: Slack users.info failed: user_not_found",
        "slack users.info for U1 failed: Slack users.info failed: ratelimited (retry after 30s)",
    ]


# -- attachments -------------------------------------------------------------------------------------------


async def test_fetch_attachment_with_the_bot_token(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    file = fake_slack.add_file("receipt.pdf", b"%PDF-1.7 fake", "application/pdf")
    attachment = Attachment(
        filename="receipt.pdf",
        content_type="application/pdf",
        size=file["size"],
        source_url=file["url_private"],
        source_ref={"file_id": file["id"], "download_url": file["url_private_download"]},
    )
    assert await connector.fetch_attachment(attachment, live_account, max_bytes=1024) == b"%PDF-1.7 fake"
    (request,) = fake_slack.requests
    assert request.path == f"/files-pri/T0SHOP-{file['id']}/download/receipt.pdf"
    assert request.headers["Authorization"] == f"Bearer {fake_slack.bot_token}"


async def test_fetch_attachment_resolves_a_slack_connect_stub(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    file = fake_slack.add_file("photo.jpg", b"\xff\xd8 jpeg", "image/jpeg")
    stub = Attachment(
        filename=file["id"],
        content_type="application/octet-stream",
        source_ref={"file_id": file["id"], "file_access": "check_file_info"},
    )
    assert await connector.fetch_attachment(stub, live_account, max_bytes=1024) == b"\xff\xd8 jpeg"
    info, download = fake_slack.requests
    assert (info.path, FakeSlack.args(info)) == ("/api/files.info", {"file": file["id"]})
    assert download.path.endswith("/download/photo.jpg")


async def test_fetch_attachment_size_cap(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    file = fake_slack.add_file("big.bin", b"x" * 5000)
    declared = Attachment(
        filename="big.bin", content_type="application/octet-stream", size=5000, source_url=file["url_private"]
    )
    undeclared = Attachment(filename="big.bin", content_type="application/octet-stream", source_url=file["url_private"])
    stub = Attachment(filename="big.bin", content_type="application/octet-stream", source_ref={"file_id": file["id"]})
    with pytest.raises(ValueError, match="over the 1000-byte limit"):
        await connector.fetch_attachment(declared, live_account, max_bytes=1000)
    assert fake_slack.requests == []  # refused before downloading anything
    with pytest.raises(ValueError, match="1000-byte limit"):
        await connector.fetch_attachment(undeclared, live_account, max_bytes=1000)
    with pytest.raises(ValueError, match="over the 1000-byte limit"):
        await connector.fetch_attachment(stub, live_account, max_bytes=1000)


async def test_fetch_attachment_without_files_read_gets_a_sign_in_page(
    connector: SlackConnector, fake_slack: FakeSlack
) -> None:
    file = fake_slack.add_file("a.png", b"png", "image/png")
    account = slack_account(bot_token="xoxb-no-files-read", api_base_url=fake_slack.api_url)
    attachment = Attachment(filename="a.png", content_type="image/png", source_url=file["url_private"])
    with pytest.raises(SendFailed) as caught:
        await connector.fetch_attachment(attachment, account, max_bytes=1000)
    assert (caught.value.code, caught.value.retryable) == ("missing_files_read", False)


async def test_fetch_attachment_never_sends_the_token_elsewhere(
    connector: SlackConnector, live_account: InboxConfig
) -> None:
    attachment = Attachment(filename="a.png", content_type="image/png", source_url="https://evil.example.com/a.png")
    with pytest.raises(SendFailed) as caught:
        await connector.fetch_attachment(attachment, live_account, max_bytes=1000)
    assert (caught.value.code, caught.value.retryable) == ("foreign_host", False)


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (429, True), (500, True)])
async def test_fetch_attachment_http_errors(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack, status: int, retryable: bool
) -> None:
    file = fake_slack.add_file("a.png", b"png", "image/png")
    fake_slack.fail_next(status, "nope")
    attachment = Attachment(filename="a.png", content_type="image/png", source_url=file["url_private"])
    with pytest.raises(SendFailed) as caught:
        await connector.fetch_attachment(attachment, live_account, max_bytes=1000)
    assert (caught.value.code, caught.value.retryable) == (f"http_{status}", retryable)


async def test_fetch_attachment_of_a_deleted_file(
    connector: SlackConnector, live_account: InboxConfig, fake_slack: FakeSlack
) -> None:
    stub = Attachment(filename="gone", content_type="application/octet-stream", source_ref={"file_id": "F404"})
    with pytest.raises(SendFailed) as caught:
        await connector.fetch_attachment(stub, live_account, max_bytes=1000)
    assert (caught.value.code, caught.value.retryable) == ("file_not_found", False)
