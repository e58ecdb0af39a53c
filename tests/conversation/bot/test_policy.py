"""The bot's decisions, message by message, on real classifications (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conversation.bot.classify import classify
from conversation.bot.policy import Decision, OrderFacts, Turn, decide, proves_ownership, wanted_number
from conversation.bot.settings import BotSettings
from conversation.bot.templates import render

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
SHIPPED = OrderFacts(
    number="1002",
    status="shipped",
    owned=True,
    placed_at=NOW - timedelta(days=2),
    carrier="PostNL",
    tracking_url="https://jouw.postnl.nl/track/3SABCD",
    eta=datetime(2026, 3, 6, tzinfo=UTC),
    email="ada@example.com",
    postcode="1015 CJ",
)
PAID = OrderFacts(number="1003", status="paid", owned=True, placed_at=NOW - timedelta(days=1))
STRANGERS = OrderFacts(
    number="2001", status="shipped", owned=False, carrier="DHL", email="bob@example.com", postcode="40202"
)
SETTINGS = BotSettings()


class Chat:
    """A conversation with the bot: each `say` decides on the state the previous turn left."""

    def __init__(
        self,
        *,
        verified: bool = True,
        orders: tuple[OrderFacts, ...] = (),
        settings: BotSettings = SETTINGS,
        known: tuple[OrderFacts, ...] = (),
    ) -> None:
        self.verified = verified
        self.orders = orders
        self.known = {o.number: o for o in (*orders, *known)}
        self.settings = settings
        self.state: dict[str, Any] = {}

    def say(self, text: str) -> Decision:
        c = classify(text, self.settings.languages, self.settings.default_language)
        number = wanted_number(c, self.state)
        turn = Turn(text, c, self.verified, self.orders, self.known.get(number or ""), dict(self.state), NOW)
        decision = decide(turn, self.settings)
        self.state = decision.state
        return decision


def test_one_recent_order_is_answered_with_carrier_tracking_and_eta() -> None:
    decision = Chat(orders=(SHIPPED,)).say("hi where is my order??")
    assert not decision.handoff and decision.reason == "answered" and decision.order_number == "1002"
    assert decision.reply == (
        "Here's the latest on your order #1002: on its way. It was sent with PostNL, and you can follow it "
        "here: https://jouw.postnl.nl/track/3SABCD Expected delivery: 6 March."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("waar blijft mijn bestelling", "Je bestelling #1002 is onderweg."),
        ("wo bleibt meine bestellung??", "Deine Bestellung #1002 ist unterwegs."),
        ("где мой заказ", "Статус заказа #1002: в пути."),
        ("donde esta mi pedido", "Tu pedido #1002 está en camino."),
    ],
)
def test_the_answer_is_in_the_customers_language(text: str, expected: str) -> None:
    decision = Chat(orders=(SHIPPED,)).say(text)
    assert decision.reply is not None and decision.reply.startswith(expected)
    assert decision.language == decision.state["language"]


def test_dates_follow_the_language() -> None:
    assert "Voraussichtliche Zustellung: 6. März." in (Chat(orders=(SHIPPED,)).say("wo ist mein paket").reply or "")


def test_several_orders_are_listed_and_the_number_answers() -> None:
    chat = Chat(orders=(PAID, SHIPPED))
    listed = chat.say("where is my order")
    assert listed.reason == "listed_orders" and chat.state["awaiting"] == "order_number"
    assert "• #1003 (3 March): paid and being prepared" in (listed.reply or "")
    assert "• #1002 (2 March): on its way" in (listed.reply or "")
    # A bare number is not confident on its own, but it answers the bot's question.
    answer = chat.say("1002")
    assert answer.reason == "answered" and (answer.reply or "").startswith("Here's the latest on your order #1002")
    assert "awaiting" not in chat.state


def test_no_orders_then_the_second_unhelpful_turn_hands_over() -> None:
    chat = Chat()
    first = chat.say("where is my order")
    assert first.reason == "no_orders_found" and not first.handoff
    assert first.reply == render("no_orders_found", "en")
    second = chat.say("where is my package??")
    assert second.handoff and second.reason == "unhelpful" and second.reply == render("handoff", "en")


def test_someone_elses_order_gets_the_same_words_as_a_missing_one() -> None:
    theirs = Chat(known=(STRANGERS,)).say("where is my order 2001?")
    missing = Chat().say("where is my order 2001?")
    assert theirs.reply == missing.reply == render("order_not_found", "en", number="#2001")
    assert "DHL" not in (theirs.reply or "") and theirs.reason == "order_not_found"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("can I talk to a human", "en"),
        ("ik wil een medewerker spreken", "nl"),
        ("оператор!", "ru"),
        ("Mitarbeiter bitte", "de"),
    ],
)
def test_asking_for_a_person_hands_over_in_that_language(text: str, language: str) -> None:
    decision = Chat(orders=(SHIPPED,)).say(text)
    assert decision.handoff and decision.reason == "requested"
    assert decision.reply == render("handoff", language)


def test_other_questions_hand_over() -> None:
    decision = Chat(orders=(SHIPPED,)).say("do you have these shoes in size 44?")
    assert decision.handoff and decision.reason == "other"


def test_a_lone_number_without_context_is_too_unsure() -> None:
    decision = Chat(orders=(SHIPPED,)).say("#1002")
    assert decision.handoff and decision.reason == "low_confidence"


def test_a_shop_threshold_of_zero_answers_lone_numbers() -> None:
    decision = Chat(orders=(SHIPPED,), settings=BotSettings(confidence_threshold=0.0)).say("#1002")
    assert decision.reason == "answered"


def test_waiting_for_a_number_other_answers_count_as_unhelpful() -> None:
    chat = Chat(orders=(PAID, SHIPPED))
    chat.say("where is my order")
    again = chat.say("the blue one")
    assert again.reason == "asked_again" and again.reply == render("ask_order_number", "en")
    assert chat.say("the shoes!").handoff


def test_a_short_answer_keeps_the_conversation_language() -> None:
    chat = Chat(orders=(PAID, SHIPPED))
    assert chat.say("waar is mijn bestelling").language == "nl"
    answer = chat.say("1003")
    assert answer.language == "nl" and (answer.reply or "").startswith("Je bestelling #1003 is betaald")


# --- anonymous web chat: prove the order first ----------------------------------------------------------


def test_anonymous_visitors_must_confirm_email_or_postcode() -> None:
    chat = Chat(verified=False, known=(SHIPPED,))
    asked = chat.say("where is my order 1002?")
    assert asked.reason == "asked_verification" and chat.state["pending_verification"] == {"number": "1002"}
    assert asked.reply == render("verify_ownership", "en", number="#1002")
    assert "PostNL" not in (asked.reply or "")
    answered = chat.say("ada@EXAMPLE.com")
    assert answered.reason == "answered_after_verification" and "PostNL" in (answered.reply or "")
    assert chat.state["verified_orders"] == ["1002"] and "pending_verification" not in chat.state
    # Once proven, the same order is answered again without asking.
    assert chat.say("and where is order 1002 now?").reason == "answered"


def test_the_postcode_works_too_with_any_spacing() -> None:
    chat = Chat(verified=False, known=(SHIPPED,))
    chat.say("waar is bestelling 1002")
    decision = chat.say("1015cj")
    assert decision.reason == "answered_after_verification" and decision.language == "nl"


def test_existing_and_missing_orders_get_the_same_question() -> None:
    existing = Chat(verified=False, known=(STRANGERS,)).say("where is order 2001")
    missing = Chat(verified=False).say("where is order 2001")
    assert existing.reply == missing.reply and existing.state == missing.state


def test_a_wrong_answer_hands_over_without_disclosing() -> None:
    chat = Chat(verified=False, known=(STRANGERS,))
    chat.say("where is order 2001")
    decision = chat.say("ada@example.com")
    assert decision.handoff and decision.reason == "verification_failed"
    assert decision.reply == render("verification_failed", "en")


def test_an_unverified_question_without_number_asks_for_it() -> None:
    chat = Chat(verified=False, orders=(SHIPPED,))
    decision = chat.say("where is my order")
    assert decision.reason == "asked_order_number" and "PostNL" not in (decision.reply or "")
    assert chat.say("1002").reason == "asked_verification"


@pytest.mark.parametrize(
    ("text", "proven"),
    [
        ("it's 1015 CJ", True),
        ("1015-cj", True),
        ("postcode 1015cj thanks", True),
        ("ada@example.com.", True),
        ("my email is Ada@Example.com", True),
        ("1015", False),
        ("10151015CJ1015", False),  # digits strung together never contain a match
        ("ada@example.org", False),
        ("", False),
    ],
)
def test_proves_ownership(text: str, proven: bool) -> None:
    assert proves_ownership(text, SHIPPED) is proven


def test_a_four_digit_postcode_is_matched_as_a_whole_word_only() -> None:
    order = OrderFacts(number="1", status="paid", owned=False, postcode="2100")
    assert proves_ownership("2100", order)
    assert not proves_ownership("0123456789" * 1000, order)
    assert not proves_ownership("21002100", order)


def test_shop_templates_override_the_defaults() -> None:
    settings = BotSettings(templates={"nl": {"handoff": "Een collega van Schoenen.nl helpt je zo!"}})
    decision = Chat(settings=settings).say("ik wil een medewerker")
    assert decision.reply == "Een collega van Schoenen.nl helpt je zo!"
    assert Chat(settings=settings).say("agent please").reply == render("handoff", "en")


def _burst(*texts: str) -> Any:
    from conversation.bot.policy import merge_burst

    return merge_burst([(t, classify(t)) for t in texts])


def test_messages_in_a_row_are_read_together() -> None:
    merged = _burst("waar is mijn bestelling?", "1003")
    assert (merged.intent, merged.order_number, merged.language) == ("order_status", "1003", "nl")
    assert merged.confidence == classify("waar is mijn bestelling?").confidence
    assert _burst("where is order 1002?", "mens graag").intent == "handoff"
    assert _burst("hi", "thanks").intent == "other"
    assert _burst("where is my order") == classify("where is my order")
