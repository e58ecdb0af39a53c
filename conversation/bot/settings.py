"""A shop's bot settings (the inbox setting `bot`): languages, name, threshold, and editable templates."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conversation.bot.classify import HANDOFF_BELOW
from conversation.bot.language import DEFAULT_LANGUAGES, normalise_languages
from conversation.bot.templates import FIELDS, TEMPLATES, render

DEFAULT_NAME = "Bot"
#: "Recent" orders: placed within this many days (a shop selling furniture may want more).
DEFAULT_RECENT_DAYS = 90
MAX_TEMPLATE_CHARS = 1000
MAX_NAME_CHARS = 100
_KEYS = frozenset({"languages", "default_language", "name", "templates", "confidence_threshold", "recent_days"})


@dataclass(frozen=True, slots=True)
class BotSettings:
    """What the built-in bot of one inbox works with (the defaults when the inbox sets nothing).

    Attributes:
        languages: the languages the shop answers in (ISO 639-1); detection is restricted to them.
        default_language: for messages too short to tell, and for replies in a language without templates.
        name: shown as the author of the bot's messages.
        templates: `{language: {template key: text}}` replacing the built-in wording (same `{fields}`).
        confidence_threshold: below it the bot hands over instead of answering.
        recent_days: how far back "your recent orders" reaches.
    """

    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    default_language: str = "en"
    name: str = DEFAULT_NAME
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    confidence_threshold: float = HANDOFF_BELOW
    recent_days: int = DEFAULT_RECENT_DAYS

    def render(self, key: str, language: str, **fields: str) -> str:
        """Template `key` in `language`: the shop's wording if it set one, else the built-in one.

        A language without built-in templates falls back to the shop's override in that language, then
        to the default language's wording, then to English.
        """
        custom = self.templates.get(language, {}).get(key)
        if custom is not None:
            return custom.format(**{k: fields.get(k, "") for k in _fields_of(custom)})
        if language not in TEMPLATES and language != self.default_language:
            return self.render(key, self.default_language, **fields)
        return render(key, language, **fields)

    def status_label(self, status: str, language: str) -> str:
        """The localised label of an order status."""
        key = f"status_{status}"
        return self.render(key, language) if key in FIELDS else status.replace("_", " ")


def _fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _language_problems(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return ["bot.languages must be a non-empty list of ISO 639-1 codes"]
    try:
        normalise_languages(value)
    except ValueError as exc:
        return [f"bot.languages: {exc}"]
    return []


def _template_problems(value: Any, languages: frozenset[str]) -> list[str]:
    if not isinstance(value, dict):
        return ["bot.templates must be an object {language: {key: text}}"]
    problems: list[str] = []
    for language, entries in value.items():
        if language not in languages:
            problems.append(f"bot.templates.{language}: not one of the enabled languages")
            continue
        if not isinstance(entries, dict):
            problems.append(f"bot.templates.{language} must be an object {{key: text}}")
            continue
        for key, text in entries.items():
            problems += _one_template_problems(f"bot.templates.{language}.{key}", key, text)
    return problems


def _one_template_problems(where: str, key: str, text: Any) -> list[str]:
    if key not in FIELDS:
        return [f"{where}: unknown template (known: {', '.join(FIELDS)})"]
    if not isinstance(text, str) or not text.strip():
        return [f"{where} must be non-empty text"]
    if len(text) > MAX_TEMPLATE_CHARS:
        return [f"{where} is longer than {MAX_TEMPLATE_CHARS} characters"]
    try:
        used = _fields_of(text)
    except ValueError as exc:
        return [f"{where}: {exc} (write {{{{ and }}}} for literal braces)"]
    unknown = sorted(used - FIELDS[key])
    if unknown:
        allowed = ", ".join(f"{{{f}}}" for f in sorted(FIELDS[key])) or "none"
        return [f"{where}: unknown field(s) {', '.join('{' + u + '}' for u in unknown)} (allowed: {allowed})"]
    return []


def _number_problems(value: dict[str, Any]) -> list[str]:
    problems = []
    threshold = value.get("confidence_threshold", HANDOFF_BELOW)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        problems.append("bot.confidence_threshold must be a number from 0 to 1")
    days = value.get("recent_days", DEFAULT_RECENT_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        problems.append("bot.recent_days must be a whole number of days from 1 to 3650")
    name = value.get("name", DEFAULT_NAME)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        problems.append(f"bot.name must be text of 1 to {MAX_NAME_CHARS} characters")
    return problems


def bot_settings_problems(value: Any) -> list[str]:
    """What is wrong with a `bot` settings object (empty when it is valid)."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["bot must be an object"]
    problems = [f"bot: unknown key(s): {', '.join(sorted(set(value) - _KEYS))}"] if set(value) - _KEYS else []
    language_problems = _language_problems(value.get("languages", list(DEFAULT_LANGUAGES)))
    problems += language_problems
    languages = frozenset(DEFAULT_LANGUAGES) if language_problems else normalise_languages(value.get("languages"))
    default = value.get("default_language", "en" if "en" in languages else sorted(languages)[0])
    if not language_problems and default not in languages:
        problems.append(f"bot.default_language {default!r} must be one of bot.languages")
    problems += _number_problems(value)
    problems += _template_problems(value.get("templates", {}), languages)
    return problems


def parse_bot_settings(value: Any) -> BotSettings:
    """The settings from a stored `bot` object (validated on write; anything invalid falls back to defaults)."""
    if not isinstance(value, dict) or bot_settings_problems(value):
        return BotSettings()
    languages = tuple(sorted(normalise_languages(value.get("languages"))))
    default = value.get("default_language") or ("en" if "en" in languages else languages[0])
    templates = {lang: dict(entries) for lang, entries in (value.get("templates") or {}).items()}
    return BotSettings(
        languages=languages,
        default_language=default,
        name=str(value.get("name") or DEFAULT_NAME).strip(),
        templates=templates,
        confidence_threshold=float(value.get("confidence_threshold", HANDOFF_BELOW)),
        recent_days=int(value.get("recent_days", DEFAULT_RECENT_DAYS)),
    )


def _url_problem(name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{name} must be an http(s) URL"
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{name} must be an http(s) URL"
    return None


def inbox_bot_problems(settings: Mapping[str, Any]) -> list[str]:
    """Problems with an inbox's bot options: `bot_enabled`, `bot`, `agent_bot_url`, `agent_bot_secret`."""
    problems: list[str] = []
    if "bot_enabled" in settings and not isinstance(settings["bot_enabled"], bool):
        problems.append("bot_enabled must be true or false")
    problems += bot_settings_problems(settings.get("bot"))
    url = settings.get("agent_bot_url")
    if url not in (None, ""):
        problem = _url_problem("agent_bot_url", url)
        if problem:
            problems.append(problem)
        secret = settings.get("agent_bot_secret")
        if not isinstance(secret, str) or len(secret) < 16:
            problems.append(
                "agent_bot_secret (at least 16 characters) is required with agent_bot_url: it signs webhooks"
            )
    return problems
