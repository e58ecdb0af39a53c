"""Slack request signing: https://docs.slack.dev/authentication/verifying-requests-from-slack/."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from connectors.base import InboxConfig, SignatureInvalid
from connectors.slack.connector import SlackConnector
from conversation.types import InboundMessage
from tests.connectors.conftest import make_raw_request
from tests.connectors.slack.conftest import (
    SIGNING_SECRET,
    shared_fixture,
    signed_request,
    slack_account,
    slack_signature,
)
from tests.fakes.slack import encode_body, message_envelope, signed_headers

NOW = 1_700_000_000
BODY = shared_fixture("bolt_event_callback_message.json")


@pytest.fixture(autouse=True)
def frozen_clock(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(datetime.fromtimestamp(NOW, UTC), tick=False)


def test_our_signer_reproduces_the_published_vector() -> None:
    vector = json.loads(shared_fixture("signing_vector.json"))
    body = shared_fixture(vector["body_file"])
    assert (
        slack_signature(vector["signing_secret"], vector["timestamp"], body) == vector["headers"]["X-Slack-Signature"]
    )


def test_published_vector_verifies_at_its_own_time(
    connector: SlackConnector, time_machine: time_machine.TimeMachineFixture
) -> None:
    vector = json.loads(shared_fixture("signing_vector.json"))
    body = shared_fixture(vector["body_file"])
    time_machine.move_to(datetime.fromtimestamp(int(vector["timestamp"]) + 60, UTC), tick=False)
    request = make_raw_request(body, headers=vector["headers"])
    connector.verify(request, slack_account(signing_secret=vector["signing_secret"]))


def test_published_vector_is_rejected_years_later(connector: SlackConnector) -> None:
    vector = json.loads(shared_fixture("signing_vector.json"))
    request = make_raw_request(shared_fixture(vector["body_file"]), headers=vector["headers"])
    with pytest.raises(SignatureInvalid, match="replay window"):
        connector.verify(request, slack_account(signing_secret=vector["signing_secret"]))


def test_valid_signature(connector: SlackConnector, account: InboxConfig) -> None:
    connector.verify(signed_request(BODY, timestamp=NOW), account)


def test_headers_are_case_insensitive(connector: SlackConnector, account: InboxConfig) -> None:
    signed = signed_request(BODY, timestamp=NOW)
    lowered = {k.lower(): v for k, v in signed.headers.items()}
    connector.verify(make_raw_request(BODY, headers=lowered), account)


def test_wrong_secret(connector: SlackConnector, account: InboxConfig) -> None:
    with pytest.raises(SignatureInvalid, match="does not match"):
        connector.verify(signed_request(BODY, secret="another-apps-secret", timestamp=NOW), account)


def test_tampered_body(connector: SlackConnector, account: InboxConfig) -> None:
    request = signed_request(BODY, timestamp=NOW)
    tampered = make_raw_request(BODY.replace(b"Hello World!", "Hello Wörld!".encode()), headers=dict(request.headers))
    with pytest.raises(SignatureInvalid):
        connector.verify(tampered, account)


def test_timestamp_is_part_of_the_signature(connector: SlackConnector, account: InboxConfig) -> None:
    headers = dict(signed_request(BODY, timestamp=NOW).headers)
    headers["x-slack-request-timestamp"] = str(NOW - 1)
    with pytest.raises(SignatureInvalid, match="does not match"):
        connector.verify(make_raw_request(BODY, headers=headers), account)


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_missing_header(connector: SlackConnector, account: InboxConfig, missing: str) -> None:
    headers = {k: v for k, v in signed_request(BODY, timestamp=NOW).headers.items() if k != missing.lower()}
    with pytest.raises(SignatureInvalid, match="missing or invalid"):
        connector.verify(make_raw_request(BODY, headers=headers), account)


@pytest.mark.parametrize("timestamp", ["", "abc", "1.5", "-1", "\u0661\u0667" + "\u0660" * 8, "9" * 40])
def test_garbage_timestamp(connector: SlackConnector, account: InboxConfig, timestamp: str) -> None:
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(SIGNING_SECRET, timestamp, BODY),
    }
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(BODY, headers=headers), account)


@pytest.mark.parametrize("signature", ["", "v0=", "v1=abc", "v0=zz", "v0=é" + "0" * 63])
def test_garbage_signature(connector: SlackConnector, account: InboxConfig, signature: str) -> None:
    headers = {"X-Slack-Request-Timestamp": str(NOW), "X-Slack-Signature": signature}
    with pytest.raises(SignatureInvalid):
        connector.verify(make_raw_request(BODY, headers=headers), account)


@pytest.mark.parametrize("age", [0, 299, 300, -300])
def test_within_replay_window(connector: SlackConnector, account: InboxConfig, age: int) -> None:
    connector.verify(signed_request(BODY, timestamp=NOW - age), account)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_outside_replay_window(connector: SlackConnector, account: InboxConfig, age: int) -> None:
    with pytest.raises(SignatureInvalid, match="replay window"):
        connector.verify(signed_request(BODY, timestamp=NOW - age), account)


def test_a_replay_becomes_invalid_as_the_clock_moves(
    connector: SlackConnector, account: InboxConfig, time_machine: time_machine.TimeMachineFixture
) -> None:
    request = signed_request(BODY, timestamp=NOW)
    connector.verify(request, account)
    time_machine.shift(301)
    with pytest.raises(SignatureInvalid, match="replay window"):
        connector.verify(request, account)


def test_url_is_not_signed_so_a_proxy_rewrite_does_not_matter(connector: SlackConnector, account: InboxConfig) -> None:
    headers = dict(signed_request(BODY, timestamp=NOW).headers)
    request = make_raw_request(BODY, url="http://10.0.0.5:8000/webhooks/slack/7?x=1", headers=headers)
    connector.verify(request, account)


def test_inbox_without_signing_secret_rejects_everything(connector: SlackConnector) -> None:
    with pytest.raises(SignatureInvalid, match="no signing_secret"):
        connector.verify(signed_request(BODY, timestamp=NOW), slack_account(signing_secret=""))


def test_fake_slack_helpers_build_a_delivery_the_connector_accepts(
    connector: SlackConnector, account: InboxConfig
) -> None:
    # The helpers end-to-end tests use to POST to /webhooks/slack/{inbox_id}.
    body = encode_body(message_envelope(text="where is 1001?", ts=f"{NOW}.000100", team_id="T1", user="U2"))
    request = make_raw_request(body, headers=signed_headers(SIGNING_SECRET, body))
    connector.verify(request, account)
    (message,) = connector.parse(request, account).items
    assert isinstance(message, InboundMessage)
    assert (message.external_message_id, message.sender.address, message.text) == (
        f"C0SUPPORT:{NOW}.000100",
        "T1:U2",
        "where is 1001?",
    )
