"""`SmsConnector.settings_spec`: exactly CONTRACT.md's sms keys plus our optional extras."""

from __future__ import annotations

from connectors.base import Connector, FetchesAttachments
from connectors.sms.connector import SmsConnector
from tests.connectors.sms.conftest import sms_settings

SPEC = SmsConnector.settings_spec


def test_contract_keys_are_required() -> None:
    assert SPEC.required == {"account_sid", "auth_token", "phone_number"}
    assert SPEC.validate(sms_settings()) == []
    assert SPEC.validate({"account_sid": "AC1"}) == ["missing required settings: auth_token, phone_number"]


def test_optional_extras_and_secrets() -> None:
    full = sms_settings(
        messaging_service_sid="MG1",
        api_base_url="http://127.0.0.1:1",
        status_callback_url="https://hub.example.com/webhooks/sms/7/status",
        webhook_signing_key="k",
        bot_enabled=True,
        bot={"name": "Ava"},
        agent_bot_url="https://bot.example.com",
        agent_bot_secret="s",
    )
    assert SPEC.validate(full) == []
    assert SPEC.validate(sms_settings(bot_token="x")) == ["unknown settings: bot_token"]
    assert SPEC.secrets == {"auth_token", "webhook_signing_key", "agent_bot_secret"}


def test_implements_the_protocols() -> None:
    connector = SmsConnector()
    assert isinstance(connector, Connector)
    assert isinstance(connector, FetchesAttachments)
