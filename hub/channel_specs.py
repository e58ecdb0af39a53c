"""Settings each inbox kind and integration kind takes: from its connector, else from CONTRACT.md."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.registry import ORDER_SOURCES, REGISTRY
from conversation.types import SettingsSpec

_BOT = frozenset({"bot_enabled", "bot", "agent_bot_url", "agent_bot_secret"})

#: Kinds whose connector has not landed yet still accept and store their CONTRACT.md settings.
_CONTRACT_SPECS: dict[str, SettingsSpec] = {
    "telegram": SettingsSpec(
        required=frozenset({"bot_token", "secret_token"}), optional=frozenset({"api_base_url"}) | _BOT,
        secrets=frozenset({"bot_token", "secret_token", "agent_bot_secret"}),
    ),
    "slack": SettingsSpec(
        required=frozenset({"bot_token", "signing_secret"}), optional=frozenset({"api_base_url"}) | _BOT,
        secrets=frozenset({"bot_token", "signing_secret", "agent_bot_secret"}),
    ),
    "whatsapp": SettingsSpec(
        required=frozenset({"access_token", "app_secret", "verify_token", "phone_number_id"}),
        optional=frozenset({"graph_base_url", "graph_api_version"}) | _BOT,
        secrets=frozenset({"access_token", "app_secret", "verify_token", "agent_bot_secret"}),
    ),
    "messenger": SettingsSpec(
        required=frozenset({"access_token", "app_secret", "verify_token", "page_id"}),
        optional=frozenset({"graph_base_url", "graph_api_version"}) | _BOT,
        secrets=frozenset({"access_token", "app_secret", "verify_token", "agent_bot_secret"}),
    ),
}  # fmt: skip

#: Integration kinds (order sources) and their settings, from the connectors themselves.
INTEGRATION_SPECS: dict[str, SettingsSpec] = {kind: source.settings_spec for kind, source in ORDER_SOURCES.items()}


def channel_specs() -> Mapping[str, SettingsSpec]:
    """Every inbox kind's settings spec, the connector's own where it has one."""
    specs = dict(_CONTRACT_SPECS)
    specs.update({kind: connector.settings_spec for kind, connector in REGISTRY.items()})
    return specs
