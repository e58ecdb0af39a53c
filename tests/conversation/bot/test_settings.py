"""The inbox's `bot` settings: every problem is named; valid settings parse and override templates."""

from __future__ import annotations

from typing import Any

import pytest

from conversation.bot.dates import format_date
from conversation.bot.settings import (
    BotSettings,
    bot_settings_problems,
    inbox_bot_problems,
    parse_bot_settings,
)
from conversation.bot.templates import render

VALID = {
    "languages": ["nl", "en", "de"],
    "default_language": "nl",
    "name": "Schoenen.nl assistent",
    "confidence_threshold": 0.7,
    "recent_days": 30,
    "templates": {
        "nl": {"handoff": "Een collega helpt je zo!", "order_status": "Bestelling {number}: {status}."},
        "en": {"status_shipped": "with the courier"},
    },
}


def test_valid_settings_have_no_problems_and_parse() -> None:
    assert bot_settings_problems(VALID) == []
    settings = parse_bot_settings(VALID)
    assert settings.languages == ("de", "en", "nl") and settings.default_language == "nl"
    assert settings.name == "Schoenen.nl assistent" and settings.recent_days == 30
    assert settings.render("handoff", "nl") == "Een collega helpt je zo!"
    assert settings.render("order_status", "nl", number="#1", status="onderweg") == "Bestelling #1: onderweg."
    assert settings.status_label("shipped", "en") == "with the courier"
    assert settings.render("handoff", "de") == render("handoff", "de")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("yes", "bot must be an object"),
        ({"language": ["en"]}, "bot: unknown key(s): language"),
        ({"languages": []}, "bot.languages must be a non-empty list"),
        ({"languages": ["en", "klingon"]}, "bot.languages: unknown language code 'klingon'"),
        ({"languages": ["en", "nl"], "default_language": "de"}, "bot.default_language 'de' must be one of"),
        ({"confidence_threshold": 2}, "bot.confidence_threshold must be a number from 0 to 1"),
        ({"confidence_threshold": True}, "bot.confidence_threshold"),
        ({"recent_days": 0}, "bot.recent_days must be a whole number"),
        ({"name": ""}, "bot.name must be text"),
        ({"templates": []}, "bot.templates must be an object"),
        ({"languages": ["en"], "templates": {"nl": {"handoff": "x"}}}, "bot.templates.nl: not one of the enabled"),
        ({"templates": {"en": {"greeting": "hi"}}}, "bot.templates.en.greeting: unknown template"),
        ({"templates": {"en": {"handoff": ""}}}, "bot.templates.en.handoff must be non-empty text"),
        ({"templates": {"en": {"handoff": "x" * 1001}}}, "longer than 1000 characters"),
        ({"templates": {"en": {"order_status": "Order {number} is {state}"}}}, "unknown field(s) {state}"),
        ({"templates": {"en": {"handoff": "Hi {number}"}}}, "(allowed: none)"),
        ({"templates": {"en": {"order_status": "Order {number"}}}, "bot.templates.en.order_status: "),
        ({"templates": {"en": {"order_status": "{number.__class__}"}}}, "unknown field(s)"),
    ],
)
def test_problems_are_named(value: Any, problem: str) -> None:
    problems = bot_settings_problems(value)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"bot_enabled": "yes"}, "bot_enabled must be true or false"),
        ({"agent_bot_url": "ftp://bot.example.com"}, "agent_bot_url must be an http(s) URL"),
        ({"agent_bot_url": "https://bot.example.com/hook"}, "agent_bot_secret (at least 16 characters) is required"),
        ({"agent_bot_url": "https://bot.example.com/hook", "agent_bot_secret": "short"}, "agent_bot_secret"),
        ({"bot": {"languages": "en"}}, "bot.languages"),
    ],
)
def test_inbox_bot_problems(settings: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in inbox_bot_problems(settings))


def test_inbox_bot_options_that_are_fine() -> None:
    assert inbox_bot_problems({}) == []
    assert inbox_bot_problems({"bot_enabled": True, "bot": VALID}) == []
    assert inbox_bot_problems({"agent_bot_url": "https://bot.example.com/hook", "agent_bot_secret": "s" * 16}) == []
    assert inbox_bot_problems({"agent_bot_url": ""}) == []


def test_invalid_stored_settings_fall_back_to_the_defaults() -> None:
    assert parse_bot_settings({"languages": "en"}) == BotSettings()
    assert parse_bot_settings(None) == BotSettings()


def test_a_language_without_built_in_templates_uses_the_default_language() -> None:
    settings = parse_bot_settings(
        {
            "languages": ["it", "en"],
            "default_language": "en",
            "templates": {"it": {"handoff": "Un collega ti risponderà a breve."}},
        }
    )
    assert settings.render("handoff", "it") == "Un collega ti risponderà a breve."
    assert settings.render("ask_order_number", "it") == render("ask_order_number", "en")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "6 March"),
        ("nl", "6 maart"),
        ("da", "6. marts"),
        ("de", "6. März"),
        ("ru", "6 марта"),
        ("es", "6 de marzo"),
        ("fr", "6 mars"),
        ("pt", "6 de março"),
        ("it", "2026-03-06"),
    ],
)
def test_dates_in_each_language(language: str, expected: str) -> None:
    from datetime import date

    assert format_date(date(2026, 3, 6), language, today=date(2026, 3, 1)) == expected
    assert format_date(date(2025, 12, 24), "en", today=date(2026, 3, 1)) == "24 December 2025"
