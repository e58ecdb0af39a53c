"""`SmsConnector.verify`: X-Twilio-Signature over the public URL and every form parameter."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest

from connectors.base import InboxConfig, RawRequest, SignatureInvalid
from connectors.sms.connector import SmsConnector
from tests.connectors.conftest import load_fixture, make_account, make_raw_request
from tests.connectors.sms.conftest import (
    AUTH_TOKEN,
    STATUS_URL,
    WEBHOOK_URL,
    load_twilio,
    sms_settings,
    twilio_request,
)
from tests.fakes.twilio import twilio_signature

VECTORS = json.loads(load_fixture("twilio", "signature_vectors.json"))
FORM_BODIES = [
    "inbound_sms_received.txt",
    "whatsapp_inbound_text.txt",
    "whatsapp_inbound_media_image.txt",
    "whatsapp_inbound_location.txt",
    "whatsapp_status_sent.txt",
    "whatsapp_status_delivered.txt",
    "status_undelivered__sms_30003.txt",
    "message__mms_two_media.txt",
]


@pytest.fixture
def vector_account() -> InboxConfig:
    """The inbox of Twilio's published vectors (Auth Token `12345`)."""
    return make_account("sms", sms_settings(auth_token=VECTORS["auth_token"]))


# -- the published vectors (twilio-python tests/unit/test_request_validator.py) -------------------------
def test_the_test_signer_reproduces_the_published_vectors() -> None:
    token = VECTORS["auth_token"]
    post = VECTORS["form_post"]
    assert twilio_signature(token, post["url"], post["params"]) == post["expected_signature"]
    dup = VECTORS["form_post_duplicate_keys"]
    assert twilio_signature(token, dup["url"], [tuple(p) for p in dup["params_multi"]]) == dup["expected_signature"]
    ports = VECTORS["port_variants"]
    with_443 = post["url"].replace(".com", ".com:443")
    assert twilio_signature(token, with_443, post["params"]) == ports["https_with_port_443_signature"]
    http_80 = post["url"].replace(".com", ".com:80").replace("https", "http")
    assert twilio_signature(token, http_80, post["params"]) == ports["http_url_with_port_80_signature"]
    http_1234 = post["url"].replace(".com", ".com:1234").replace("https", "http")
    assert twilio_signature(token, http_1234, post["params"]) == ports["http_url_with_port_1234_signature"]
    body = VECTORS["json_body"]
    assert twilio_signature(token, body["url"]) == body["expected_signature"]


def test_published_form_vector(connector: SmsConnector, vector_account: InboxConfig) -> None:
    post = VECTORS["form_post"]
    body = urlencode(post["params"]).encode()
    request = make_raw_request(body, url=post["url"], headers={"X-Twilio-Signature": post["expected_signature"]})
    connector.verify(request, vector_account)


def test_published_duplicate_keys_vector(connector: SmsConnector, vector_account: InboxConfig) -> None:
    dup = VECTORS["form_post_duplicate_keys"]
    body = urlencode([tuple(p) for p in dup["params_multi"]]).encode()
    request = make_raw_request(body, url=dup["url"], headers={"X-Twilio-Signature": dup["expected_signature"]})
    connector.verify(request, vector_account)


def test_duplicate_keys_all_count(connector: SmsConnector, vector_account: InboxConfig) -> None:
    dup = VECTORS["form_post_duplicate_keys"]
    body = urlencode([tuple(p) for p in dup["params_multi"][:-1]]).encode()  # one Digits value dropped
    request = make_raw_request(body, url=dup["url"], headers={"X-Twilio-Signature": dup["expected_signature"]})
    with pytest.raises(SignatureInvalid):
        connector.verify(request, vector_account)


@pytest.mark.parametrize(
    ("url_change", "signature_key"),
    [
        # Twilio signed with the default port, our URL has none.
        (lambda u: u, "https_with_port_443_signature"),
        (lambda u: u.replace("https", "http"), "http_url_with_port_80_signature"),
        # Twilio signed with an explicit port.
        (lambda u: u.replace(".com", ".com:1234").replace("https", "http"), "http_url_with_port_1234_signature"),
    ],
)
def test_published_port_vectors(
    connector: SmsConnector, vector_account: InboxConfig, url_change: object, signature_key: str
) -> None:
    post = VECTORS["form_post"]
    url = url_change(post["url"])  # type: ignore[operator]
    signature = VECTORS["port_variants"][signature_key]
    request = make_raw_request(urlencode(post["params"]).encode(), url=url, headers={"X-Twilio-Signature": signature})
    connector.verify(request, vector_account)


def test_port_on_our_url_is_ignored_when_twilio_signed_without_it(
    connector: SmsConnector, vector_account: InboxConfig
) -> None:
    post = VECTORS["form_post"]
    url = post["url"].replace(".com", ".com:1234")
    headers = {"X-Twilio-Signature": post["expected_signature"]}
    connector.verify(make_raw_request(urlencode(post["params"]).encode(), url=url, headers=headers), vector_account)


def test_published_json_body_vector(connector: SmsConnector, vector_account: InboxConfig) -> None:
    body = VECTORS["json_body"]
    request = make_raw_request(
        body["body"].encode(),
        url=body["url"],
        headers={"X-Twilio-Signature": body["expected_signature"], "Content-Type": "application/json"},
    )
    connector.verify(request, vector_account)


def test_json_body_tampered(connector: SmsConnector, vector_account: InboxConfig) -> None:
    body = VECTORS["json_body"]
    request = make_raw_request(
        body["body"].replace("true", "false").encode(),
        url=body["url"],
        headers={"X-Twilio-Signature": body["expected_signature"]},
    )
    with pytest.raises(SignatureInvalid):
        connector.verify(request, vector_account)


# -- recorded bodies ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FORM_BODIES)
def test_valid_signature_on_recorded_bodies(connector: SmsConnector, account: InboxConfig, name: str) -> None:
    connector.verify(twilio_request(load_twilio(name)), account)


def test_status_url_is_signed_separately(connector: SmsConnector, account: InboxConfig) -> None:
    body = load_twilio("whatsapp_status_delivered.txt")
    connector.verify(twilio_request(body, url=STATUS_URL), account)
    signed_for_other_path = twilio_request(body, url=WEBHOOK_URL)
    moved = make_raw_request(body, url=STATUS_URL, headers=dict(signed_for_other_path.headers))
    with pytest.raises(SignatureInvalid):
        connector.verify(moved, account)


def test_wrong_auth_token(connector: SmsConnector, account: InboxConfig) -> None:
    request = twilio_request(load_twilio("inbound_sms_received.txt"), token="another-token")
    with pytest.raises(SignatureInvalid):
        connector.verify(request, account)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_or_empty_header(connector: SmsConnector, account: InboxConfig, header: str | None) -> None:
    headers = {} if header is None else {"X-Twilio-Signature": header}
    request = make_raw_request(load_twilio("inbound_sms_received.txt"), url=WEBHOOK_URL, headers=headers)
    with pytest.raises(SignatureInvalid, match="missing"):
        connector.verify(request, account)


def test_garbage_header(connector: SmsConnector, account: InboxConfig) -> None:
    headers = {"X-Twilio-Signature": "ünïcode-garbage=="}
    request = make_raw_request(load_twilio("inbound_sms_received.txt"), url=WEBHOOK_URL, headers=headers)
    with pytest.raises(SignatureInvalid):
        connector.verify(request, account)


def test_tampered_body(connector: SmsConnector, account: InboxConfig) -> None:
    body = load_twilio("inbound_sms_received.txt")
    signed = twilio_request(body)
    tampered = body.replace(b"Body=twilio-go+testing%21", b"Body=refund+me")
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(tampered, url=WEBHOOK_URL, headers=dict(signed.headers)), account)


def test_added_parameter(connector: SmsConnector, account: InboxConfig) -> None:
    body = load_twilio("inbound_sms_received.txt")
    signed = twilio_request(body)
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(body + b"&Extra=1", url=WEBHOOK_URL, headers=dict(signed.headers)), account)


@pytest.mark.parametrize(
    "seen_url",
    [
        "http://hub.example.com/webhooks/sms/7",  # proxy terminated TLS and the hub did not rebuild the scheme
        "https://internal:8000/webhooks/sms/7",  # the hub used its bind address instead of the public host
        "https://hub.example.com/webhooks/sms/8",  # another inbox's URL
        "https://hub.example.com/webhooks/sms/7?x=1",  # query string changed
    ],
)
def test_url_must_be_the_public_url_twilio_called(connector: SmsConnector, account: InboxConfig, seen_url: str) -> None:
    body = load_twilio("inbound_sms_received.txt")
    signed = twilio_request(body)
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(body, url=seen_url, headers=dict(signed.headers)), account)


def test_query_string_is_part_of_the_signed_url(connector: SmsConnector, account: InboxConfig) -> None:
    url = WEBHOOK_URL + "?channel=whatsapp&b=2"
    connector.verify(twilio_request(load_twilio("whatsapp_inbound_text.txt"), url=url), account)


def test_no_replay_window(connector: SmsConnector, account: InboxConfig) -> None:
    """Twilio signs no timestamp: a replayed request verifies, and MessageSid makes ingest idempotent."""
    request = twilio_request(load_twilio("inbound_sms_received.txt"))
    connector.verify(request, account)
    connector.verify(request, account)


# -- SharedKey signing (Webhook Rules, public beta) -------------------------------------------------------
def _shared_key_request(body: bytes, key: str, algorithm: str) -> RawRequest:
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    signature = twilio_signature(key, WEBHOOK_URL, pairs, sha256=algorithm == "HMAC_SHA256")
    return make_raw_request(
        body,
        url=WEBHOOK_URL,
        headers={
            "X-Twilio-Signature": signature,
            "X-Twilio-Webhooks-Signature-Settings": f"key=webhooks_sharedkey_1,algorithm={algorithm}",
        },
    )


@pytest.mark.parametrize("algorithm", ["HMAC_SHA256", "HMAC_SHA1"])
def test_shared_key_signature(connector: SmsConnector, algorithm: str) -> None:
    account = make_account("sms", sms_settings(webhook_signing_key="shared-secret"))
    request = _shared_key_request(load_twilio("inbound_sms_received.txt"), "shared-secret", algorithm)
    connector.verify(request, account)


def test_shared_key_signature_without_configured_key(connector: SmsConnector, account: InboxConfig) -> None:
    request = _shared_key_request(load_twilio("inbound_sms_received.txt"), AUTH_TOKEN, "HMAC_SHA256")
    with pytest.raises(SignatureInvalid, match="webhook_signing_key"):
        connector.verify(request, account)


def test_shared_key_unknown_algorithm(connector: SmsConnector) -> None:
    account = make_account("sms", sms_settings(webhook_signing_key="shared-secret"))
    request = _shared_key_request(load_twilio("inbound_sms_received.txt"), "shared-secret", "HMAC_MD5")
    with pytest.raises(SignatureInvalid, match="unsupported"):
        connector.verify(request, account)
