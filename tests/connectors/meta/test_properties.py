"""Property tests: whatever bytes or JSON arrive (after a valid signature), parse raises only our errors."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError, ParseResult
from connectors.meta.connector import MessengerConnector, WhatsAppConnector
from tests.connectors.conftest import load_json_fixture, make_raw_request
from tests.connectors.meta.conftest import messenger_account, whatsapp_account

CASES = [
    (WhatsAppConnector(), whatsapp_account(), "whatsapp_business_account"),
    (MessengerConnector(), messenger_account(), "page"),
]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "object", "entry", "id", "changes", "field", "value", "metadata", "phone_number_id", "contacts", "messages",
    "statuses", "type", "from", "timestamp", "text", "body", "image", "errors", "messaging", "sender",
    "recipient", "message", "mid", "delivery", "mids", "watermark", "read", "postback", "attachments", "payload",
    "url", "edit", "message_edit", "status", "context", "interactive", "location", "latitude", "longitude",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(
        ["messages", "text", "image", "1122334455667", "111111", "statuses", "read", "message", "1697043223"]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=30,
)


def parse_only_raises_our_errors(body: bytes) -> None:
    for connector, account, _ in CASES:
        try:
            result = connector.parse(make_raw_request(body), account)
        except ConnectorError:
            continue
        assert isinstance(result, ParseResult)


@SETTINGS
@given(st.binary(max_size=300))
@example(b'"\x80"')  # invalid UTF-8 inside a JSON string: msgspec raises UnicodeDecodeError
@example(b'{"object":"page","entry":[{"id":"111111","messaging":[{"sender":{"id":"\xff"}}]}]}')
def test_arbitrary_bytes(body: bytes) -> None:
    parse_only_raises_our_errors(body)


@SETTINGS
@given(json_values)
def test_arbitrary_json(value: object) -> None:
    parse_only_raises_our_errors(json.dumps(value).encode())


@SETTINGS
@given(st.data())
def test_arbitrary_entries_inside_a_real_envelope(data: st.DataObject) -> None:
    for connector, account, obj in CASES:
        entry = data.draw(json_values)
        body = json.dumps({"object": obj, "entry": [entry]}).encode()
        with contextlib.suppress(ConnectorError):
            connector.parse(make_raw_request(body), account)


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    for body in (b"[" * 200_000, b'{"object":"page","entry":[{"id":"111111","messaging":[' + b"[" * 100_000 + b"]]}]}"):
        parse_only_raises_our_errors(body)


def _mutations(value: object, path: tuple = ()) -> list[tuple]:
    """Every (path) to a leaf or container in a recorded payload."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _mutations(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _mutations(child, (*path, index))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)  # type: ignore[call-overload]
    copy[head] = _replace(copy[head], tuple(rest), new)
    return copy


RECORDED = [
    (WhatsAppConnector(), whatsapp_account(), payload)
    for name in ("pywa_message.json", "pywa_message_status.json", "pywa_callback_button.json")
    for payload in load_json_fixture("whatsapp", name).values()
] + [
    (MessengerConnector(), messenger_account(), load_json_fixture("messenger", name))
    for name in (
        "fbmessenger-api-hs_wsTextMessageRequest.json",
        "fbmessenger-api-hs_wsStructuredMessageRequest.json",
        "fbmessenger-api-hs_wsDeliveryRequest.json",
        "fbmessenger-api-hs_wsPostbackRequest.json",
    )
]


@SETTINGS
@given(st.data())
def test_recorded_payloads_with_one_field_replaced(data: st.DataObject) -> None:
    connector, account, payload = data.draw(st.sampled_from(RECORDED))
    path = data.draw(st.sampled_from(_mutations(payload)))
    mutated = _replace(payload, path, data.draw(json_values))
    with contextlib.suppress(ConnectorError):
        connector.parse(make_raw_request(json.dumps(mutated).encode()), account)
