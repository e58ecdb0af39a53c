"""Language detection: lingua limited to the shop's languages, with sensible fallbacks on short texts."""

from __future__ import annotations

import pytest

from conversation.bot.classify import classify
from conversation.bot.language import DEFAULT_LANGUAGES, detect_language, normalise_languages
from conversation.bot.matcher import matcher_for

ALL = frozenset(DEFAULT_LANGUAGES)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Where is my order? I ordered it two weeks ago.", "en"),
        ("Waar blijft mijn pakket? Ik heb het vorige week besteld.", "nl"),
        ("Hvornår kommer min pakke? Jeg bestilte den i sidste uge.", "da"),
        ("Wann kommt mein Paket an? Ich habe letzte Woche bestellt.", "de"),
        ("Когда придёт моя посылка? Я заказал её на прошлой неделе.", "ru"),
        ("¿Cuándo llega mi paquete? Lo pedí la semana pasada.", "es"),
        ("Quand vais-je recevoir mon colis ? Je l'ai commandé la semaine dernière.", "fr"),
        ("Quando chega a minha encomenda? Comprei na semana passada.", "pt"),
    ],
)
def test_each_language(text: str, language: str) -> None:
    assert detect_language(text, ALL, "en").language == language


@pytest.mark.parametrize(
    ("text", "language"), [("hej", "da"), ("merci", "fr"), ("Danke", "de"), ("agent please", "en")]
)
def test_short_texts_use_lexicon_words(text: str, language: str) -> None:
    votes = matcher_for(ALL).match(text).votes

    assert detect_language(text, ALL, "nl", votes).language == language
    assert classify(text, default_language="nl").language == language


def test_a_short_text_in_a_script_only_one_language_uses() -> None:
    assert detect_language("ОПЕРАТОР", ALL, "en").language == "ru"


@pytest.mark.parametrize("text", ["", "👍", "1001", "ok", "?!", "asdf"])
def test_texts_without_language_fall_back_to_the_shop_default(text: str) -> None:
    guess = detect_language(text, ALL, "nl")

    assert guess.language == "nl"
    assert guess.confidence == 0.0


def test_only_enabled_languages_are_returned() -> None:
    result = classify("Wo ist meine Bestellung?", languages=["en", "nl"], default_language="en")

    assert result.language in {"en", "nl"}


def test_a_single_language_shop_needs_no_detection() -> None:
    assert detect_language("whatever the text", frozenset({"de"}), "de").language == "de"


def test_language_codes_are_normalised_and_checked() -> None:
    assert normalise_languages([" EN", "nl"]) == frozenset({"en", "nl"})
    assert normalise_languages(None) == ALL
    with pytest.raises(ValueError, match="xx"):
        normalise_languages(["en", "xx"])
