"""`send`, `fetch_attachment` and `register_webhook`: the real python-telegram-bot against FakeTelegram."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import InboxConfig, SendFailed
from connectors.telegram.client import api_urls, register_webhook
from connectors.telegram.connector import TelegramConnector, split_text
from conversation.types import Attachment, ChannelKind, DeliveryStatus, ExternalIdentity, OutboundMessage
from tests.connectors.conftest import make_account
from tests.connectors.telegram.conftest import BOT_TOKEN, INBOX_ID, SECRET_TOKEN, WEBHOOK_URL, telegram_settings
from tests.fakes.base import free_port
from tests.fakes.telegram import FakeTelegram, telegram_error

CHAT = 408258968
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def reply(text: str = "Your order 1001 ships today.", **fields: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "message_id": 17,
        "conversation_id": 3,
        "channel_kind": ChannelKind.TELEGRAM,
        "inbox_id": INBOX_ID,
        "recipient": ExternalIdentity(address=str(CHAT)),
        "text": text,
        "external_thread_ref": str(CHAT),
        **fields,
    }
    return OutboundMessage(**values)


async def send_failure(connector: TelegramConnector, account: InboxConfig, message: OutboundMessage) -> SendFailed:
    with pytest.raises(SendFailed) as caught:
        await connector.send(message, account)
    return caught.value


# -- the request Telegram receives -------------------------------------------------------------------------
async def test_text_reply(connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig) -> None:
    receipt = await connector.send(reply(), live_account)

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", f"/bot{BOT_TOKEN}/sendMessage")  # the token is the auth
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"  # PTB sends forms
    assert request.form == {"chat_id": str(CHAT), "text": "Your order 1001 ships today."}
    assert fake.calls_to("getMe") == []  # the bot is not initialize()d: no extra round trip per reply
    sent = fake.sent[-1]
    assert receipt.external_message_id == f"{CHAT}:{sent['message_id']}"
    assert receipt.external_thread_ref == str(CHAT)
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.raw["messages"][0]["text"] == "Your order 1001 ships today."


async def test_reply_to_a_customer_message(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    await connector.send(reply(in_reply_to_external_id=f"{CHAT}:154"), live_account)
    [call] = fake.calls_to("sendMessage")
    # The customer may have deleted their message: the answer goes out anyway.
    assert call.params["reply_parameters"] == {"message_id": 154, "allow_sending_without_reply": True}


@pytest.mark.parametrize("in_reply_to", ["999:154", "not-an-id", f"{CHAT}:", f"{CHAT}:١٢"])
async def test_no_reply_reference_outside_the_chat_or_malformed(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig, in_reply_to: str
) -> None:
    await connector.send(reply(in_reply_to_external_id=in_reply_to), live_account)
    assert "reply_parameters" not in fake.calls_to("sendMessage")[0].params


async def test_the_thread_ref_wins_over_the_recipient(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    """In a group the thread is the group chat; the recipient is the customer who wrote there."""
    receipt = await connector.send(reply(external_thread_ref="-1001293752024"), live_account)
    assert fake.calls_to("sendMessage")[0].params["chat_id"] == "-1001293752024"
    assert receipt.external_message_id.startswith("-1001293752024:")


async def test_recipient_address_when_there_is_no_thread_ref(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    await connector.send(reply(external_thread_ref=None), live_account)
    assert fake.calls_to("sendMessage")[0].params["chat_id"] == str(CHAT)


async def test_long_text_is_split(connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig) -> None:
    paragraph = "Thanks for waiting. " * 100  # 2000 characters
    text = "\n".join([paragraph] * 3)  # 6002 characters: two messages
    receipt = await connector.send(reply(text, in_reply_to_external_id=f"{CHAT}:154"), live_account)
    calls = fake.calls_to("sendMessage")
    assert len(calls) == 2
    assert "".join(call.params["text"] for call in calls) == text
    assert all(len(call.params["text"]) <= 4096 for call in calls)
    assert calls[0].params["text"].endswith("\n")  # split at a line break
    assert "reply_parameters" in calls[0].params and "reply_parameters" not in calls[1].params
    assert receipt.external_message_id == f"{CHAT}:{fake.sent[0]['message_id']}"
    assert len(receipt.raw["messages"]) == 2


async def test_photo_with_a_short_text_is_one_message(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    photo = Attachment(filename="label.png", content_type="image/png", content=PNG)
    receipt = await connector.send(reply("Your label", attachments=(photo,)), live_account)

    [request] = fake.requests
    assert request.path == f"/bot{BOT_TOKEN}/sendPhoto"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    [call] = fake.calls
    assert call.params == {"chat_id": str(CHAT), "caption": "Your label"}
    assert call.files["photo"].filename == "label.png"
    assert call.files["photo"].content == PNG
    assert receipt.external_message_id == f"{CHAT}:{fake.sent[0]['message_id']}"


async def test_document_upload(connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig) -> None:
    invoice = Attachment(filename="invoice-1001.pdf", content_type="application/pdf", content=PDF)
    await connector.send(reply("", attachments=(invoice,)), live_account)
    [call] = fake.calls
    assert call.method == "sendDocument"
    assert call.params == {"chat_id": str(CHAT)}
    assert (call.files["document"].filename, call.files["document"].content) == ("invoice-1001.pdf", PDF)


async def test_a_photo_telegram_refuses_goes_as_a_document(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    fake.fail_next(*telegram_error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS"))
    photo = Attachment(filename="panorama.jpg", content_type="image/jpeg", content=PNG)
    await connector.send(reply("Panorama", attachments=(photo,)), live_account)
    assert [call.method for call in fake.calls] == ["sendPhoto", "sendDocument"]
    assert fake.calls[1].params["caption"] == "Panorama"
    assert fake.calls[1].files["document"].content == PNG


async def test_long_text_then_files(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    text = "Details follow. " * 80  # over the 1024-character caption limit
    files = (
        Attachment(filename="a.png", content_type="image/png", content=PNG),
        Attachment(filename="b.pdf", content_type="application/pdf", content=PDF),
    )
    await connector.send(reply(text, attachments=files), live_account)
    assert [call.method for call in fake.calls] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert all("caption" not in call.params for call in fake.calls[1:])


async def test_a_file_by_url_is_fetched_by_telegram(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    remote = Attachment(
        filename="faq.pdf", content_type="application/pdf", source_url="https://shop.example.com/faq.pdf"
    )
    await connector.send(reply("", attachments=(remote,)), live_account)
    [call] = fake.calls
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params["document"] == "https://shop.example.com/faq.pdf"


@pytest.mark.parametrize("source_url", [None, "/etc/passwd", "file:///etc/passwd"])
async def test_an_attachment_without_content_is_refused_before_sending(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig, source_url: str | None
) -> None:
    """PTB would upload a local path given as a string: only bytes and http(s) URLs are passed on."""
    empty = Attachment(filename="passwd", content_type="text/plain", source_url=source_url)
    failure = await send_failure(connector, live_account, reply("", attachments=(empty,)))
    assert (failure.retryable, failure.code) == (False, "no_content")
    assert fake.requests == []


@pytest.mark.parametrize("text", ["", "   \n  "])
async def test_nothing_to_send(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig, text: str
) -> None:
    failure = await send_failure(connector, live_account, reply(text))
    assert (failure.retryable, failure.code) == (False, "empty")
    assert fake.requests == []


@pytest.mark.parametrize("ref", ["+15555550100", "someone@example.com", "@ab", ""])
async def test_not_a_chat_id(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig, ref: str
) -> None:
    message = reply(external_thread_ref=ref or None, recipient=ExternalIdentity(address=ref))
    failure = await send_failure(connector, live_account, message)
    assert (failure.retryable, failure.code) == (False, "bad_recipient")
    assert fake.requests == []


async def test_channel_username_is_a_chat_id(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    receipt = await connector.send(reply(external_thread_ref="@shop_news"), live_account)
    assert fake.calls[0].params["chat_id"] == "@shop_news"
    assert receipt.external_thread_ref == str(fake.sent[0]["chat"]["id"])  # Telegram's numeric id


async def test_a_failure_after_a_first_part_is_permanent(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    """Retrying would send the first part twice: the agent sees what happened instead."""
    text = "Long answer. " * 100  # too long for a caption: the text goes first, on its own
    empty_file = Attachment(filename="empty.txt", content_type="text/plain", content=b"")
    failure = await send_failure(connector, live_account, reply(text, attachments=(empty_file,)))
    assert [call.method for call in fake.calls] == ["sendMessage", "sendDocument"]
    assert failure.retryable is False
    assert failure.code == "400"
    assert failure.reason == "only 1 of 2 parts were sent: File must be non-empty"


# -- error mapping -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "description", "parameters", "retryable", "code", "reason"),
    [
        (403, "Forbidden: bot was blocked by the user", {}, False, "403", "Forbidden: bot was blocked by the user"),
        (400, "Bad Request: chat not found", {}, False, "400", "Chat not found"),
        (401, "Unauthorized", {}, False, "invalid_token", "Unauthorized"),
        (404, "Not Found", {}, False, "invalid_token", "Not Found"),  # Telegram's answer to a malformed token
        (
            409,
            "Conflict: terminated by other getUpdates request",
            {},
            False,
            "409",
            "Conflict: terminated by other getUpdates request",
        ),
        (
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": -1001555296434},
            False,
            "chat_migrated",
            "Group migrated to supergroup. New chat id: -1001555296434",
        ),
        (
            429,
            "Too Many Requests: retry after 5",
            {"retry_after": 5},
            True,
            "429",
            "Flood control exceeded. Retry in 5 seconds",
        ),
        (429, "Too Many Requests", {}, True, "network", "Too Many Requests"),
        (500, "Internal Server Error", {}, True, "network", "Internal Server Error"),
        (502, "Bad Gateway", {}, True, "network", "Bad Gateway"),
    ],
)
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB's RetryAfter
async def test_bot_api_errors(
    connector: TelegramConnector,
    fake: FakeTelegram,
    live_account: InboxConfig,
    status: int,
    description: str,
    parameters: dict[str, Any],
    retryable: bool,
    code: str,
    reason: str,
) -> None:
    fake.fail_next(*telegram_error(status, description, **parameters))
    failure = await send_failure(connector, live_account, reply())
    assert (failure.retryable, failure.code, failure.reason) == (retryable, code, reason)


async def test_real_chat_errors_from_the_fake(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    fake.blocked_chats.add(CHAT)
    blocked = await send_failure(connector, live_account, reply())
    fake.missing_chats.add(CHAT + 1)
    missing = await send_failure(connector, live_account, reply(external_thread_ref=str(CHAT + 1)))
    assert (blocked.retryable, blocked.code) == (False, "403")
    assert (missing.retryable, missing.code, missing.reason) == (False, "400", "Chat not found")


async def test_a_wrong_token_is_permanent(connector: TelegramConnector, fake: FakeTelegram) -> None:
    account = make_account("telegram", telegram_settings(bot_token="1:wrong", api_base_url=fake.url))
    failure = await send_failure(connector, account, reply())
    assert (failure.retryable, failure.code, failure.reason) == (False, "invalid_token", "Unauthorized")


async def test_a_timeout_is_retryable(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    fake.delay_next(0.8)  # the connector's timeout is 0.5 s in these tests
    failure = await send_failure(connector, live_account, reply())
    assert (failure.retryable, failure.code) == (True, "timeout")


async def test_an_unreachable_api_is_retryable(connector: TelegramConnector) -> None:
    account = make_account("telegram", telegram_settings(api_base_url=f"http://127.0.0.1:{free_port()}"))
    failure = await send_failure(connector, account, reply())
    assert (failure.retryable, failure.code) == (True, "network")
    assert "ConnectError" in failure.reason


async def test_an_unreadable_answer_is_retryable(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    fake.fail_next(200, "<html>proxy login</html>")
    failure = await send_failure(connector, live_account, reply())
    assert (failure.retryable, failure.code) == (True, "telegram")


async def test_an_inbox_without_bot_token(connector: TelegramConnector) -> None:
    account = make_account("telegram", {"secret_token": SECRET_TOKEN})
    failure = await send_failure(connector, account, reply())
    assert (failure.retryable, failure.code) == (False, "invalid_settings")


# -- attachments from customers ------------------------------------------------------------------------------
def inbound_file(file_id: str = "AgACAgQAAxkBAAIN", size: int | None = None) -> Attachment:
    return Attachment(filename="photo_1.jpg", content_type="image/jpeg", size=size, source_ref={"file_id": file_id})


async def test_fetch_attachment(connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig) -> None:
    fake.add_file("AgACAgQAAxkBAAIN", b"jpeg-bytes", file_path="photos/file_7.jpg")
    content = await connector.fetch_attachment(inbound_file(size=10), live_account, max_bytes=10)
    assert content == b"jpeg-bytes"
    get_file, download = fake.requests
    assert (get_file.method, get_file.path, get_file.form) == (
        "POST",
        f"/bot{BOT_TOKEN}/getFile",
        {"file_id": "AgACAgQAAxkBAAIN"},
    )
    assert (download.method, download.path) == ("GET", f"/file/bot{BOT_TOKEN}/photos/file_7.jpg")


async def test_fetch_from_a_separate_file_server(connector: TelegramConnector, fake: FakeTelegram) -> None:
    """A local Bot API server may serve files elsewhere: `api_file_base_url`."""
    with FakeTelegram(token=BOT_TOKEN) as files:
        files.add_file("X1", b"abc", file_path="documents/file_0.pdf")
        fake.add_file("X1", b"-", file_path="documents/file_0.pdf")
        account = make_account("telegram", telegram_settings(api_base_url=fake.url, api_file_base_url=files.url))
        assert await connector.fetch_attachment(inbound_file("X1"), account, max_bytes=100) == b"abc"
        assert [r.path for r in fake.requests] == [f"/bot{BOT_TOKEN}/getFile"]
        assert [r.path for r in files.requests] == [f"/file/bot{BOT_TOKEN}/documents/file_0.pdf"]


async def test_too_large_by_the_size_in_the_update(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    with pytest.raises(ValueError, match="more than the 100 allowed"):
        await connector.fetch_attachment(inbound_file(size=101), live_account, max_bytes=100)
    assert fake.requests == []


async def test_too_large_by_the_size_getfile_reports(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    fake.add_file("AgACAgQAAxkBAAIN", b"x" * 101)
    with pytest.raises(ValueError, match="101 bytes"):
        await connector.fetch_attachment(inbound_file(), live_account, max_bytes=100)
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests] == ["getFile"]  # never downloaded


async def test_too_large_by_the_bytes_received(
    connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig
) -> None:
    fake.add_file("AgACAgQAAxkBAAIN", b"x" * 101, reported_size=50)
    with pytest.raises(ValueError, match="101 bytes"):
        await connector.fetch_attachment(inbound_file(), live_account, max_bytes=100)


async def test_fetch_errors(connector: TelegramConnector, fake: FakeTelegram, live_account: InboxConfig) -> None:
    with pytest.raises(SendFailed) as unknown:
        await connector.fetch_attachment(inbound_file("nope"), live_account, max_bytes=100)
    assert (unknown.value.retryable, unknown.value.code, unknown.value.reason) == (False, "400", "Invalid file_id")
    with pytest.raises(SendFailed) as no_id:
        await connector.fetch_attachment(Attachment(filename="x", content_type="image/jpeg"), live_account, 100)
    assert (no_id.value.retryable, no_id.value.code) == (False, "no_file_id")
    fake.add_file("big", b"x" * (20 * 1024 * 1024 + 1))
    with pytest.raises(SendFailed, match="File is too big"):
        await connector.fetch_attachment(inbound_file("big"), live_account, max_bytes=10**9)
    fake.add_file("F", b"abc", file_path="documents/f.txt")
    fake.delay_next(0.8)
    with pytest.raises(SendFailed) as slow:
        await connector.fetch_attachment(inbound_file("F"), live_account, max_bytes=100)
    assert (slow.value.retryable, slow.value.code) == (True, "timeout")


# -- setWebhook ------------------------------------------------------------------------------------------------
async def test_register_webhook(fake: FakeTelegram, live_account: InboxConfig) -> None:
    await register_webhook(live_account, WEBHOOK_URL)
    [call] = fake.calls
    assert call.method == "setWebhook"
    assert call.params == {
        "url": WEBHOOK_URL,
        "secret_token": SECRET_TOKEN,
        "allowed_updates": ["message", "edited_message"],
    }
    assert fake.webhook is not None and fake.webhook["url"] == WEBHOOK_URL


async def test_register_webhook_refused(fake: FakeTelegram, live_account: InboxConfig) -> None:
    with pytest.raises(SendFailed) as caught:
        await register_webhook(live_account, "http://127.0.0.1:8000/webhooks/telegram/5")
    assert caught.value.retryable is False
    assert caught.value.reason == "Bad webhook: an https url must be provided for webhook"


@pytest.mark.parametrize("secret", [None, "", "has space", "x" * 257, "ünï"])
async def test_register_webhook_needs_a_valid_secret(fake: FakeTelegram, secret: str | None) -> None:
    account = make_account("telegram", telegram_settings(secret_token=secret, api_base_url=fake.url))
    with pytest.raises(SendFailed, match="secret_token must be") as caught:
        await register_webhook(account, WEBHOOK_URL)
    assert caught.value.code == "invalid_settings"
    assert fake.requests == []


# -- settings and helpers -------------------------------------------------------------------------------------
def test_settings_spec() -> None:
    spec = TelegramConnector.settings_spec
    assert spec.required == {"bot_token", "secret_token"}
    assert {"bot_token", "secret_token", "agent_bot_secret"} == spec.secrets
    assert spec.validate(telegram_settings()) == []
    assert spec.validate(telegram_settings(api_base_url="http://127.0.0.1:8081", bot_enabled=True)) == []
    assert spec.validate({"bot_token": BOT_TOKEN}) == ["missing required settings: secret_token"]
    assert spec.validate(telegram_settings(chat_id=1)) == ["unknown settings: chat_id"]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"secret_token": "with space"}, "secret_token must be 1-256 characters"),
        ({"secret_token": "x" * 257}, "secret_token must be 1-256 characters"),
        ({"secret_token": 42}, "secret_token must be 1-256 characters"),
        ({"bot_token": "not-a-token"}, "bot_token does not look like a token"),
        ({"bot_token": "123:abc/def"}, "bot_token does not look like a token"),
        ({"api_base_url": "api.telegram.org"}, "api_base_url must be an http(s) URL"),
    ],
)
def test_settings_formats(overrides: dict[str, Any], problem: str) -> None:
    [found] = TelegramConnector.settings_spec.validate(telegram_settings(**overrides))
    assert found.startswith(problem)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot")),
        ({"api_base_url": "http://127.0.0.1:8081/"}, ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")),
        (
            {"api_base_url": "http://127.0.0.1:8081/bot"},
            ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ),
        (
            {"api_base_url": "http://a:1", "api_file_base_url": "http://b:2/file/bot"},
            ("http://a:1/bot", "http://b:2/file/bot"),
        ),
    ],
)
def test_api_urls(settings: dict[str, str], expected: tuple[str, str]) -> None:
    assert api_urls(settings) == expected


@given(st.text(alphabet=st.sampled_from(["a", "é", "😀", " ", "\n", "b"]), max_size=300), st.integers(5, 40))
def test_split_text_keeps_everything_within_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(part.encode("utf-16-le")) // 2 <= limit for part in parts)
    assert all(part.strip() for part in parts)
    # Only blank stretches may be dropped: every other character survives, in order. (A hard cut inside a
    # word followed by a dropped blank part joins two words when the parts are glued back together.)
    assert "".join("".join(parts).split()) == "".join(text.split())
