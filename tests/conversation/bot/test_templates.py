"""Reply templates: every key renders in every language with exactly its documented fields."""

from __future__ import annotations

import string

import pytest

from conversation.bot.classify import classify
from conversation.bot.templates import (
    FIELDS,
    LANGUAGES,
    ORDER_STATUSES,
    TEMPLATE_KEYS,
    TEMPLATES,
    render,
    render_order_status,
    status_label,
)

SAMPLE_FIELDS = {
    "number": "1001",
    "status": "shipped",
    "carrier": "PostNL",
    "tracking_url": "https://track.example.com/1001",
    "eta": "14 Nov",
    "orders": "• 1001\n• 1002",
    "placed_on": "3 Nov",
}


def test_all_eight_languages_have_templates() -> None:
    assert set(LANGUAGES) == {"en", "nl", "da", "de", "ru", "es", "fr", "pt"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_key(language: str) -> None:
    assert set(TEMPLATES[language]) == set(TEMPLATE_KEYS)


@pytest.mark.parametrize(("language", "key"), [(lang, key) for lang in LANGUAGES for key in TEMPLATE_KEYS])
def test_template_uses_exactly_its_fields(language: str, key: str) -> None:
    used = {name for _, name, _, _ in string.Formatter().parse(TEMPLATES[language][key]) if name}

    assert used == FIELDS[key]


@pytest.mark.parametrize(("language", "key"), [(lang, key) for lang in LANGUAGES for key in TEMPLATE_KEYS])
def test_template_renders(language: str, key: str) -> None:
    fields = {name: SAMPLE_FIELDS[name] for name in FIELDS[key]}
    text = render(key, language, **fields)

    assert text.strip()
    assert "{" not in text
    for value in fields.values():
        assert value in text


def test_a_missing_field_is_an_error() -> None:
    with pytest.raises(KeyError):
        render("order_not_found", "en")


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        render("nope", "en")


def test_unknown_language_falls_back_to_english() -> None:
    assert render("handoff", "it") == render("handoff", "en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_status_has_a_label(language: str) -> None:
    labels = [status_label(status, language) for status in ORDER_STATUSES]

    assert all(labels)
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "present",
    [(), ("carrier",), ("tracking_url",), ("eta",), ("carrier", "tracking_url"), ("carrier", "eta"),
     ("tracking_url", "eta"), ("carrier", "tracking_url", "eta")],
)
def test_order_status_answer_leaves_out_what_is_missing(language: str, present: tuple[str, ...]) -> None:
    optional = {name: SAMPLE_FIELDS[name] for name in present}
    text = render_order_status(language, number="1001", status="shipped", **optional)

    assert "1001" in text
    assert status_label("shipped", language) in text
    for name in ("carrier", "tracking_url", "eta"):
        assert (SAMPLE_FIELDS[name] in text) == (name in present)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_word_offered_for_a_person_is_understood(language: str) -> None:
    # "Type X and a colleague will help": the customer's X must come back as a handoff.
    reply = render("order_not_found", language, number="1001")
    word = next(w for w in reply.replace("«", '"').replace("»", '"').replace("„", '"').replace("“", '"')
                .split('"')[1::2])

    assert classify(word.strip(), default_language=language).intent == "handoff"
