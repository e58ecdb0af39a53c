"""X-Hub-Signature-256 verification and the GET hub.challenge handshake, for both Meta connectors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from connectors.base import HandshakeReply, MalformedPayload, SignatureInvalid
from connectors.meta.connector import MessengerConnector, WhatsAppConnector
from tests.connectors.conftest import load_fixture, load_json_fixture, make_raw_request
from tests.connectors.meta.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    WEBHOOK_URL,
    messenger_account,
    sign,
    signed_request,
    whatsapp_account,
)

CONNECTORS = [
    pytest.param(WhatsAppConnector(), whatsapp_account(), id="whatsapp"),
    pytest.param(MessengerConnector(), messenger_account(), id="messenger"),
]


# -- the signer itself against published and recorded vectors ---------------------------------------------


@pytest.mark.parametrize("provider", ["whatsapp", "messenger"])
def test_signer_matches_githubs_published_vector(provider: str) -> None:
    vector = load_json_fixture(provider, "signature_vectors.json")["published_vector"]
    assert vector["secret"] == "It's a Secret to Everybody"
    assert sign(vector["secret"], vector["payload"].encode()) == vector["signature_header"]


@pytest.mark.parametrize(
    ("provider", "name"),
    [("whatsapp", "text_message_body_compact.json"), ("messenger", "fbmessenger-api-hs_wsTextMessageRequest.json")],
)
def test_signer_matches_the_recorded_vectors(provider: str, name: str) -> None:
    vectors = load_json_fixture(provider, "signature_vectors.json")["locally_computed"]
    assert sign(vectors["app_secret"], load_fixture(provider, name)) == vectors["X-Hub-Signature-256"][name]


# -- verify ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_published_vector_verifies(connector, account) -> None:
    vector = load_json_fixture("whatsapp", "signature_vectors.json")["published_vector"]
    request = make_raw_request(vector["payload"].encode(), headers={"X-Hub-Signature-256": vector["signature_header"]})
    connector.verify(request, replace(account, settings={**account.settings, "app_secret": vector["secret"]}))


def test_recorded_whatsapp_vector_verifies() -> None:
    vectors = load_json_fixture("whatsapp", "signature_vectors.json")["locally_computed"]
    body = load_fixture("whatsapp", "text_message_body_compact.json")
    header = vectors["X-Hub-Signature-256"]["text_message_body_compact.json"]
    request = make_raw_request(body, url=WEBHOOK_URL, headers={"x-hub-signature-256": header})
    WhatsAppConnector().verify(request, whatsapp_account())


def test_recorded_messenger_vector_verifies() -> None:
    vectors = load_json_fixture("messenger", "signature_vectors.json")["locally_computed"]
    body = load_fixture("messenger", "fbmessenger-api-hs_wsTextMessageRequest.json")
    header = vectors["X-Hub-Signature-256"]["fbmessenger-api-hs_wsTextMessageRequest.json"]
    request = make_raw_request(body, url=WEBHOOK_URL, headers={"X-Hub-Signature-256": header})
    MessengerConnector().verify(request, messenger_account())


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_valid_signature_passes(connector, account) -> None:
    connector.verify(signed_request(b'{"object":"page","entry":[]}'), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_upper_case_hex_is_accepted(connector, account) -> None:
    body = b'{"entry":[]}'
    header = "sha256=" + sign(APP_SECRET, body).removeprefix("sha256=").upper()
    connector.verify(make_raw_request(body, headers={"X-Hub-Signature-256": header}), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_wrong_secret_is_rejected(connector, account) -> None:
    with pytest.raises(SignatureInvalid):
        connector.verify(signed_request(b'{"entry":[]}', secret="not-the-app-secret"), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_missing_header_is_rejected(connector, account) -> None:
    with pytest.raises(SignatureInvalid, match="missing"):
        connector.verify(make_raw_request(b'{"entry":[]}'), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_tampered_body_is_rejected(connector, account) -> None:
    request = signed_request(b'{"entry":[],"amount":1}')
    tampered = make_raw_request(b'{"entry":[],"amount":9}', headers=dict(request.headers))
    with pytest.raises(SignatureInvalid, match="does not match"):
        connector.verify(tampered, account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "1881761eadaaefd959b5a8a980e4c186311a8548f7778f8be9a09f13c8804174",  # no prefix
        "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",  # the legacy X-Hub-Signature scheme
        "sha256=zz",
    ],
)
def test_malformed_headers_are_rejected(connector, account, header: str) -> None:
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(b"{}", headers={"X-Hub-Signature-256": header}), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_legacy_sha1_header_alone_is_not_enough(connector, account) -> None:
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(b"{}", headers={"X-Hub-Signature": "sha1=abc"}), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_inbox_without_app_secret_rejects_everything(connector, account) -> None:
    unconfigured = replace(account, settings={**account.settings, "app_secret": ""})
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(b"{}", headers={"X-Hub-Signature-256": sign("", b"{}")}), unconfigured)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_replayed_delivery_still_verifies(connector, account) -> None:
    """Meta signs no timestamp, so there is no replay window: redeliveries are deduplicated by message id."""
    request = signed_request(b'{"entry":[]}')
    connector.verify(request, account)
    connector.verify(request, account)


# -- the GET handshake -------------------------------------------------------------------------------------


def handshake_request(token: str = VERIFY_TOKEN, mode: str = "subscribe", challenge: str = "1158201444"):
    query = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
    url = WEBHOOK_URL + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return make_raw_request(b"", method="GET", url=url, query=query)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_get_handshake_passes_verify_without_signature(connector, account) -> None:
    connector.verify(handshake_request(), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_handshake_echoes_the_challenge_as_plain_text(connector, account) -> None:
    result = connector.parse(handshake_request(), account)
    assert result.items == []
    assert result.reply == HandshakeReply(status_code=200, body="1158201444", content_type="text/plain")


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_handshake_reads_the_query_from_the_url_when_not_parsed(connector, account) -> None:
    url = WEBHOOK_URL + f"?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=CHALLENGE_ACCEPTED"
    result = connector.parse(make_raw_request(b"", method="GET", url=url), account)
    assert result.reply is not None
    assert result.reply.body == "CHALLENGE_ACCEPTED"


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
@pytest.mark.parametrize("token", ["wrong", "", "verify-me ", "VERIFY-ME"])
def test_handshake_with_a_wrong_token_is_a_bad_signature(connector, account, token: str) -> None:
    with pytest.raises(SignatureInvalid):
        connector.parse(handshake_request(token=token), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_handshake_without_any_parameter_is_a_bad_signature(connector, account) -> None:
    with pytest.raises(SignatureInvalid):
        connector.parse(make_raw_request(b"", method="GET", url=WEBHOOK_URL), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_handshake_with_another_mode_is_malformed(connector, account) -> None:
    with pytest.raises(MalformedPayload, match=r"hub\.mode"):
        connector.parse(handshake_request(mode="unsubscribe"), account)


@pytest.mark.parametrize(("connector", "account"), CONNECTORS)
def test_handshake_without_challenge_is_malformed(connector, account) -> None:
    with pytest.raises(MalformedPayload, match=r"hub\.challenge"):
        connector.parse(handshake_request(challenge=""), account)


def test_a_signed_post_is_never_a_handshake() -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    result = WhatsAppConnector().parse(signed_request(body), whatsapp_account())
    assert result.reply is None
