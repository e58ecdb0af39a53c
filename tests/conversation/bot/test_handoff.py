"""Requests for a person are recognised in every language, whatever else the message says."""

# The Russian requests are Cyrillic on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from conversation.bot.classify import classify

HANDOFF_REQUESTS = {
    "en": ["agent please", "Please let me talk to a real person", "can i speak to a human pls",
           "call me back", "I want a real person not a robot", "get me an agnet"],
    "nl": ["Ik wil graag een medewerker spreken", "MENS ALSJEBLIEFT", "kan iemand me bellen?",
           "geen bot, ik wil een mens spreken", "medewerkster graag"],
    "da": ["Jeg vil gerne tale med en medarbejder", "Jeg vil gerne tale med et menneske", "ring mig op",
           "kan jeg få en rigtig person"],
    "de": ["Ich möchte mit einem Mitarbeiter sprechen", "echter Mensch bitte", "Können Sie mich zurückrufen?",
           "ich will mit jemandem reden", "Mitarbeiterin bitte"],
    "ru": ["Соедините меня с оператором", "Позовите живого человека", "перезвоните мне",
           "не бот, а человек нужен", "позвать сотрудника"],
    "es": ["Quiero hablar con una persona", "páseme con un agente", "un humano por favor", "llámenme",
           "quiero un asesor"],
    "fr": ["Je voudrais parler à un conseiller", "un humain svp", "rappelez-moi",
           "je veux parler au service client", "pas de robot, une vraie personne"],
    "pt": ["Quero falar com um atendente", "quero um humano", "me liga por favor", "posso falar com alguém?",
           "não quero robô, quero uma pessoa de verdade"],
}


@pytest.mark.parametrize(
    ("language", "text"), [(lang, text) for lang, texts in HANDOFF_REQUESTS.items() for text in texts]
)
def test_handoff_in_every_language(language: str, text: str) -> None:
    result = classify(text)

    assert result.intent == "handoff"
    assert result.confidence >= 0.9


@pytest.mark.parametrize(
    "text",
    ["where is my order 1001? let me talk to a representative", "Wo ist meine Bestellung? Mitarbeiter bitte"],
)
def test_a_person_beats_an_order_question(text: str) -> None:
    assert classify(text).intent == "handoff"


def test_the_handoff_word_is_found_whatever_the_shop_default() -> None:
    # A Danish shop receiving a German request: the request must not depend on the language guess.
    assert classify("Mitarbeiter", default_language="da").intent == "handoff"


@pytest.mark.parametrize(
    "text",
    [
        "Ik heb nog steeds niks ontvangen van mijn bestelling, bel me niet maar mail aub",
        "please don't call me, just tell me where my order is",
    ],
)
def test_a_refused_call_is_not_a_request(text: str) -> None:
    assert classify(text).intent == "order_status"


@pytest.mark.parametrize(
    ("text", "order_number"),
    [
        ("my order 2290 hasn't arrived and I want a refund", "2290"),
        ("is bestelling 8120 al verzonden? anders wil ik annuleren", "8120"),
        ("заказ 2290 не пришёл, верните деньги", "2290"),
    ],
)
def test_a_delivery_question_mixed_with_a_request_goes_to_a_person(text: str, order_number: str) -> None:
    result = classify(text)

    assert (result.intent, result.order_number) == ("handoff", order_number)


@pytest.mark.parametrize("text", ["when will it arrive??", "has it shipped yet", "wann kommt es endlich?"])
def test_a_delivery_question_about_nothing_named_goes_to_a_person(text: str) -> None:
    assert classify(text).intent == "handoff"
