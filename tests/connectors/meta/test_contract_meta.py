"""The connector contract for the two Meta connectors: settings, declared events, fixture coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.base import Connector
from connectors.meta.connector import MessengerConnector, WhatsAppConnector
from connectors.meta.messenger import _event_name
from conversation.types import ChannelKind
from tests.connectors.meta.conftest import body_of, messenger_account, signed_request, whatsapp_account
from tests.paths import LOCAL_FIXTURES, SHARED_FIXTURES

HERE = Path(__file__).parent
SHARED = {name: SHARED_FIXTURES / "payloads" / name for name in ("whatsapp", "messenger")}
LOCAL = LOCAL_FIXTURES / "meta"
COMMON_OPTIONAL = {"graph_base_url", "graph_api_version", "bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"}


def test_both_satisfy_the_connector_protocol() -> None:
    assert isinstance(WhatsAppConnector(), Connector)
    assert isinstance(MessengerConnector(), Connector)
    assert WhatsAppConnector.kind is ChannelKind.WHATSAPP
    assert MessengerConnector.kind is ChannelKind.MESSENGER


@pytest.mark.parametrize(
    ("connector", "required", "extra_optional"),
    [
        (WhatsAppConnector, {"access_token", "app_secret", "verify_token", "phone_number_id"}, set()),
        (MessengerConnector, {"access_token", "app_secret", "verify_token", "page_id"}, {"human_agent_tag"}),
    ],
)
def test_settings_match_contract_md(connector, required: set[str], extra_optional: set[str]) -> None:
    spec = connector.settings_spec
    assert spec.required == required
    assert spec.optional == COMMON_OPTIONAL | extra_optional
    assert spec.secrets == {"access_token", "app_secret", "verify_token", "agent_bot_secret"}
    complete = dict.fromkeys(required, "x")
    assert spec.validate(complete) == []
    assert spec.validate(complete | dict.fromkeys(COMMON_OPTIONAL | extra_optional, "y")) == []
    missing = sorted(required)[0]
    assert spec.validate({k: v for k, v in complete.items() if k != missing}) == [
        f"missing required settings: {missing}"
    ]
    assert spec.validate(complete | {"api_key": "x"}) == ["unknown settings: api_key"]


def test_supported_and_ignored_do_not_overlap() -> None:
    for connector in (WhatsAppConnector, MessengerConnector):
        assert not connector.supported_events & connector.ignored_events


# -- every ignored event parses to [] ----------------------------------------------------------------------------


def whatsapp_body_for(event: str) -> bytes:
    metadata = {"display_phone_number": "15555550199", "phone_number_id": "1122334455667"}
    value: dict = {"messaging_product": "whatsapp", "metadata": metadata}
    field = "messages"
    kind, _, name = event.partition(".")
    if kind == "messages":
        value["messages"] = [
            {"from": "15555550100", "id": "wamid.X", "timestamp": "1700000000", "type": name, name: {}}
        ]
    elif kind == "statuses":
        value["statuses"] = [
            {"id": "wamid.X", "status": name, "timestamp": "1700000000", "recipient_id": "15555550100"}
        ]
    elif event == "errors":
        value["errors"] = [{"code": 131000, "title": "Something went wrong"}]
    else:
        field, value = event, {"event": "SOMETHING"}
    return body_of(
        {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}]}
    )


def messenger_body_for(event: str) -> bytes:
    base = {"sender": {"id": "1254477777772919"}, "recipient": {"id": "111111"}, "timestamp": 1700000000000}
    if event == "standby":
        return body_of(
            {"object": "page", "entry": [{"id": "111111", "standby": [{**base, "message": {"mid": "m_1"}}]}]}
        )
    payload = {"message": {"mid": "m_1", "is_echo": True, "text": "x"}} if event == "message_echo" else {event: {}}
    return body_of({"object": "page", "entry": [{"id": "111111", "messaging": [{**base, **payload}]}]})


@pytest.mark.parametrize("event", sorted(WhatsAppConnector.ignored_events))
def test_whatsapp_ignored_events_parse_to_nothing(event: str) -> None:
    assert WhatsAppConnector().parse(signed_request(whatsapp_body_for(event)), whatsapp_account()).items == []


@pytest.mark.parametrize("event", sorted(MessengerConnector.ignored_events))
def test_messenger_ignored_events_parse_to_nothing(event: str) -> None:
    assert MessengerConnector().parse(signed_request(messenger_body_for(event)), messenger_account()).items == []


# -- every supported event has a real fixture ---------------------------------------------------------------------


def _bodies(folder: Path) -> list[dict]:
    bodies = []
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "object" in data:
            bodies.append(data)
        elif isinstance(data, dict):
            bodies += [v for v in data.values() if isinstance(v, dict) and "object" in v]
    return bodies


def test_every_supported_whatsapp_event_has_a_fixture() -> None:
    seen: set[str] = set()
    for body in _bodies(SHARED["whatsapp"]) + _bodies(LOCAL / "whatsapp"):
        for entry in body["entry"]:
            for change in entry["changes"]:
                value = change["value"]
                seen |= {f"messages.{m['type']}" for m in value.get("messages", [])}
                seen |= {f"statuses.{s['status']}" for s in value.get("statuses", [])}
    assert WhatsAppConnector.supported_events <= seen


def test_every_supported_messenger_event_has_a_fixture() -> None:
    seen = {
        _event_name(event)
        for body in _bodies(SHARED["messenger"]) + _bodies(LOCAL / "messenger")
        for entry in body["entry"]
        for event in entry.get("messaging", [])
    }
    assert MessengerConnector.supported_events <= seen


# -- every fixture file is used by a test --------------------------------------------------------------------------


def test_every_fixture_file_is_used() -> None:
    sources = "\n".join(p.read_text() for p in HERE.glob("test_*.py"))
    files = [*SHARED["whatsapp"].glob("*.json"), *SHARED["messenger"].glob("*.json"), *LOCAL.rglob("*.json")]
    unused = sorted(str(p) for p in files if p.name not in sources and p.stem not in sources)
    assert unused == []
