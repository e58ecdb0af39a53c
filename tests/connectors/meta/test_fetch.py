"""Downloading inbound media (WhatsApp by media id, Messenger by CDN URL) and Messenger profile look-ups."""

from __future__ import annotations

import pytest

from connectors.base import FetchesAttachments, ResolvesProfiles, SendFailed
from connectors.meta.connector import MessengerConnector, WhatsAppConnector
from conversation.types import Attachment, ExternalIdentity, InboundMessage
from tests.connectors.conftest import make_account
from tests.connectors.meta.conftest import shared_kind, signed_request, whatsapp_account
from tests.fakes.meta import DEFAULT_TOKEN, FakeGraph, recorded_response

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2048
PSID = "1254477777772919"


def test_both_connectors_implement_the_optional_protocols() -> None:
    assert isinstance(WhatsAppConnector(), FetchesAttachments)
    assert isinstance(MessengerConnector(), FetchesAttachments)
    assert isinstance(MessengerConnector(), ResolvesProfiles)


async def fetch_whatsapp(graph: FakeGraph, attachment: Attachment, max_bytes: int = 1_000_000) -> bytes:
    account = make_account("whatsapp", graph.whatsapp_settings())
    return await WhatsAppConnector(timeout=2).fetch_attachment(attachment, account, max_bytes)


async def test_whatsapp_media_from_a_parsed_message(graph: FakeGraph) -> None:
    [message] = (
        WhatsAppConnector()
        .parse(signed_request(shared_kind("whatsapp", "pywa_message.json", "image")), whatsapp_account())
        .items
    )
    assert isinstance(message, InboundMessage)
    graph.add_media("65463453", JPEG)
    assert await fetch_whatsapp(graph, message.attachments[0]) == JPEG
    info, download = graph.requests
    assert (info.method, info.path) == ("GET", "/v24.0/65463453")
    assert info.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert "appsecret_proof" in info.query
    assert (download.path, download.query["mid"]) == ("/whatsapp_business/attachments/", "65463453")
    assert download.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"  # lookaside needs the token


async def test_whatsapp_media_larger_than_allowed_by_its_declared_size(graph: FakeGraph) -> None:
    graph.add_media("111", JPEG)
    with pytest.raises(ValueError, match="2052 bytes"):
        await fetch_whatsapp(graph, Attachment("a.jpg", "image/jpeg", source_ref={"media_id": "111"}), max_bytes=1000)
    assert len(graph.requests) == 1  # not downloaded at all


async def test_whatsapp_media_larger_than_allowed_while_streaming(graph: FakeGraph) -> None:
    graph.add_media("222", JPEG)
    graph.chunked_downloads = True
    graph.fail_next(
        200, {"url": f"{graph.url}/whatsapp_business/attachments/?mid=222", "mime_type": "image/jpeg", "id": "222"}
    )
    with pytest.raises(ValueError, match="larger than"):
        await fetch_whatsapp(graph, Attachment("a.jpg", "image/jpeg", source_ref={"media_id": "222"}), max_bytes=1000)


async def test_whatsapp_media_streamed_without_length_within_the_limit(graph: FakeGraph) -> None:
    graph.add_media("333", JPEG)
    graph.chunked_downloads = True
    assert await fetch_whatsapp(graph, Attachment("a.jpg", "image/jpeg", source_ref={"media_id": "333"})) == JPEG


async def test_recorded_media_answer_is_understood_and_the_token_stays_home(graph: FakeGraph) -> None:
    """The recorded answer points at lookaside.fbsbx.com; here it is rewritten to a host that is not Meta's."""
    _, body = recorded_response("whatsapp_media_info")
    graph.add_media("1234567890", JPEG)
    foreign = body["url"].replace("https://lookaside.fbsbx.com", f"http://localhost:{graph.port}")
    graph.fail_next(200, {**body, "url": foreign})
    with pytest.raises(SendFailed) as caught:
        await fetch_whatsapp(graph, Attachment("a.jpg", "image/jpeg", source_ref={"media_id": "1234567890"}))
    assert "Authorization" not in graph.requests[1].headers
    assert caught.value.retryable is False


async def test_whatsapp_media_unknown_to_meta(graph: FakeGraph) -> None:
    with pytest.raises(SendFailed) as caught:
        await fetch_whatsapp(graph, Attachment("a.jpg", "image/jpeg", source_ref={"media_id": "999"}))
    assert (caught.value.code, caught.value.retryable) == ("100", False)
    assert "Object with ID '999' does not exist" in caught.value.reason


@pytest.mark.parametrize("ref", [{}, {"media_id": "../me"}, {"media_id": "1?fields=x"}])
async def test_whatsapp_attachment_without_a_usable_media_id(graph: FakeGraph, ref: dict) -> None:
    with pytest.raises(SendFailed):
        await fetch_whatsapp(graph, Attachment("a.jpg", "image/jpeg", source_ref=ref))
    assert graph.requests == []


async def fetch_messenger(graph: FakeGraph, url: str | None, max_bytes: int = 1_000_000) -> bytes:
    account = make_account("messenger", graph.messenger_settings())
    attachment = Attachment("photo.jpg", "image/jpeg", source_url=url, source_ref={"type": "image"})
    return await MessengerConnector(timeout=2).fetch_attachment(attachment, account, max_bytes)


async def test_messenger_attachment_from_the_cdn_without_token(graph: FakeGraph) -> None:
    url = graph.add_cdn_file("photo_123.jpg", JPEG)
    assert await fetch_messenger(graph, url) == JPEG
    [request] = graph.requests
    assert "Authorization" not in request.headers


async def test_messenger_attachment_too_large(graph: FakeGraph) -> None:
    url = graph.add_cdn_file("photo_123.jpg", JPEG)
    with pytest.raises(ValueError):
        await fetch_messenger(graph, url, max_bytes=100)


async def test_messenger_attachment_expired(graph: FakeGraph) -> None:
    with pytest.raises(SendFailed) as caught:
        await fetch_messenger(graph, f"{graph.url}/cdn/gone.jpg")
    assert (caught.value.code, caught.value.retryable) == ("http_404", False)


@pytest.mark.parametrize("url", [None, "file:///etc/passwd", "IMAGE_URL"])
async def test_messenger_attachment_without_a_http_url(graph: FakeGraph, url: str | None) -> None:
    with pytest.raises(SendFailed):
        await fetch_messenger(graph, url)


# -- profiles ---------------------------------------------------------------------------------------------------


async def resolve(graph: FakeGraph, identity: ExternalIdentity, timeout: float = 2.0) -> ExternalIdentity | None:
    account = make_account("messenger", graph.messenger_settings())
    return await MessengerConnector(timeout=timeout).fetch_profile(identity, account)


async def test_profile_gives_the_name_and_picture(graph: FakeGraph) -> None:
    graph.add_profile(PSID, "Peter", "Chang", "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=1")
    identity = await resolve(graph, ExternalIdentity(address=PSID))
    assert identity == ExternalIdentity(
        address=PSID, name="Peter Chang", avatar_url="https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=1"
    )
    [request] = graph.requests
    assert (request.method, request.path) == ("GET", f"/v24.0/{PSID}")
    assert request.query["fields"] == "first_name,last_name,profile_pic"
    assert request.headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"


async def test_recorded_profile_answer(graph: FakeGraph) -> None:
    graph.fail_with("messenger_profile_ok")
    identity = await resolve(graph, ExternalIdentity(address=PSID))
    assert identity is not None
    assert identity.name == "Peter Chang"


@pytest.mark.parametrize("fixture", ["error_profile_unsupported_get", "error_500_unknown"])
async def test_profile_unavailable_is_none(graph: FakeGraph, fixture: str) -> None:
    graph.fail_with(fixture)
    assert await resolve(graph, ExternalIdentity(address=PSID)) is None


async def test_profile_timeout_is_none(graph: FakeGraph) -> None:
    graph.delay_next(0.5)
    assert await resolve(graph, ExternalIdentity(address=PSID), timeout=0.1) is None


async def test_profile_of_a_strange_address_is_not_looked_up(graph: FakeGraph) -> None:
    assert await resolve(graph, ExternalIdentity(address="me/accounts")) is None
    assert graph.requests == []
