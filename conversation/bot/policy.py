"""What the order-status bot does with one customer message: answer, ask, or hand over (pure decisions).

The responder (conversation.bot.responder) loads the facts, this module decides, the responder writes.
Rules, in order:

1. A visitor asked to confirm an order (anonymous web chat) answers with that order's email or postcode:
   a match answers the order; anything else hands over (one try: guessing is not a way in).
2. Asking for a person hands over, whatever the confidence.
3. When the bot asked for an order number (or listed several orders), a message with a number answers it.
4. `other` hands over, unless the bot is waiting for a number (then the turn is unhelpful).
5. An `order_status` question below the shop's confidence threshold hands over.
6. A named order is answered only when it belongs to the conversation's customer and the sender's
   identity is verified; an unverified sender (anonymous web chat) is first asked to confirm the order's
   email or postcode, with the same words whether the order exists or not. An order that is not theirs
   gets the same "not found" as one that does not exist.
7. Without a number: exactly one recent order is answered, several are listed, none is said.
8. The second unhelpful turn ("not found", "no orders", a reply that does not answer the bot's question)
   hands over instead.

Handing over always sends the localised handoff text; the responder then marks the conversation for
humans and the bot never answers in it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conversation.addresses import normalize_email
from conversation.bot.classify import Classification
from conversation.bot.dates import format_date
from conversation.bot.settings import BotSettings

MAX_UNHELPFUL = 2
MAX_LISTED = 5
#: With fewer letters than this (a bare number, an email address, a postcode) a reply to the bot's
#: question keeps the language the conversation already has.
_FEW_LETTERS = 12
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']+")
_WORD = re.compile(r"[0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the bot may say about one order, and how it can be proven (never shown: email, postcode)."""

    number: str
    status: str
    owned: bool  # belongs to the conversation's customer
    placed_at: datetime | None = None
    carrier: str | None = None
    tracking_url: str | None = None
    eta: datetime | None = None
    email: str | None = None
    postcode: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One customer message and everything the decision needs.

    Attributes:
        text: the message.
        classification: what `classify` made of it (in the shop's languages).
        verified: the sender's identity is vouched for by its channel (phone, chat account, signed API),
            so the customer's own orders may be discussed; False for anonymous web chat.
        recent_orders: the customer's orders placed within the shop's `recent_days`, newest first.
        named_order: the order the message (or a pending confirmation) names, whoever owns it.
        state: the conversation's `bot_state`.
        now: the current time (aware).
    """

    text: str
    classification: Classification
    verified: bool
    recent_orders: Sequence[OrderFacts]
    named_order: OrderFacts | None
    state: dict[str, Any]
    now: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do: `reply` (None: stay silent), the new `bot_state`, and whether to hand over."""

    reply: str | None
    state: dict[str, Any]
    handoff: bool
    reason: str
    language: str
    order_number: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def wanted_number(classification: Classification, state: dict[str, Any]) -> str | None:
    """The order number the responder should look up for this turn."""
    pending = state.get("pending_verification") or {}
    return pending.get("number") or classification.order_number


def merge_burst(parts: Sequence[tuple[str, Classification]]) -> Classification:
    """One classification for several messages sent in a row (each classified on its own, oldest first).

    A request for a person anywhere wins; otherwise a status question anywhere makes it one, with the latest
    order number any of them gave ("where is my order?" + "1003"). The language is the latest message's
    that has words to go on.
    """
    if len(parts) == 1:
        return parts[0][1]
    found = [c for _, c in parts]
    handoff = [c for c in found if c.intent == "handoff"]
    if handoff:
        return handoff[-1]
    worded = [c for text, c in parts if _letters(text) >= _FEW_LETTERS]
    language = (worded or found)[-1].language
    number = next((c.order_number for c in reversed(found) if c.order_number), None)
    status = [c for c in found if c.intent == "order_status"]
    if status:
        return Classification("order_status", number, language, max(c.confidence for c in status))
    return Classification(found[-1].intent, number, language, found[-1].confidence)


def needs_recent_orders(classification: Classification, state: dict[str, Any]) -> bool:
    """Whether this turn may need the customer's recent orders (a status question without a number)."""
    return (
        classification.intent == "order_status"
        and not classification.order_number
        and not state.get("pending_verification")
    )


def display_number(number: str) -> str:
    """How the bot writes an order number: "#1001" for plain numbers, alphanumeric ones as they are."""
    return f"#{number}" if number.isdigit() else number


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in _EMAIL.sub(" ", text))


def _language(turn: Turn) -> str:
    """The reply language: the message's, unless it is a short answer to the bot's own question."""
    known = turn.state.get("language")
    waiting = turn.state.get("awaiting") or turn.state.get("pending_verification")
    if known and waiting and _letters(turn.text) < _FEW_LETTERS:
        return str(known)
    return turn.classification.language


def proves_ownership(text: str, order: OrderFacts | None) -> bool:
    """True when `text` gives the order's email address or its shipping postcode (exact, whole words)."""
    if order is None:
        return False
    if order.email:
        for candidate in _EMAIL.findall(text):
            if normalize_email(candidate.strip(".")) == order.email:
                return True
    postcode = "".join(_WORD.findall((order.postcode or "").upper()))
    if len(postcode) < 3:
        return False
    words = _WORD.findall(text.upper())
    # Whole words only ("1015 CJ", "1015CJ", "SW1A 1AA"): a long string of digits never contains a match.
    for size in (1, 2, 3):
        for start in range(len(words) - size + 1):
            if "".join(words[start : start + size]) == postcode:
                return True
    return False


class _Composer:
    """Builds the bot's replies from the shop's templates in one language."""

    def __init__(self, settings: BotSettings, language: str, now: datetime) -> None:
        self.settings = settings
        self.language = language
        self.today = now.date()

    def text(self, key: str, **fields: str) -> str:
        return self.settings.render(key, self.language, **fields)

    def status(self, order: OrderFacts) -> str:
        parts = [
            self.text(
                "order_status",
                number=display_number(order.number),
                status=self.settings.status_label(order.status, self.language),
            )
        ]
        if order.carrier and order.tracking_url:
            parts.append(
                self.text("order_status_carrier_tracking", carrier=order.carrier, tracking_url=order.tracking_url)
            )
        elif order.carrier:
            parts.append(self.text("order_status_carrier", carrier=order.carrier))
        elif order.tracking_url:
            parts.append(self.text("order_status_tracking", tracking_url=order.tracking_url))
        if order.eta and order.status not in ("delivered", "cancelled", "refunded"):
            parts.append(self.text("order_status_eta", eta=format_date(order.eta, self.language, self.today)))
        return " ".join(parts)

    def listing(self, orders: Sequence[OrderFacts]) -> str:
        lines = [
            self.text(
                "order_list_item",
                number=display_number(o.number),
                placed_on=format_date(o.placed_at, self.language, self.today) if o.placed_at else "",
                status=self.settings.status_label(o.status, self.language),
            )
            for o in orders[:MAX_LISTED]
        ]
        return self.text("several_orders", orders="\n".join(lines))


class _Turn:
    """One decision in progress: the state it builds and the replies it can give."""

    def __init__(self, turn: Turn, settings: BotSettings) -> None:
        self.turn = turn
        self.settings = settings
        self.language = _language(turn)
        self.say = _Composer(settings, self.language, turn.now)
        self.state = {k: v for k, v in turn.state.items() if k not in ("awaiting", "pending_verification")}
        self.state["language"] = self.language
        self.state["turns"] = int(turn.state.get("turns") or 0) + 1

    def done(self, reply: str, reason: str, number: str | None = None, **state: Any) -> Decision:
        self.state.update(state)
        return Decision(reply, self.state, False, reason, self.language, number)

    def answer(self, order: OrderFacts, reason: str = "answered") -> Decision:
        self.state["unhelpful"] = 0
        return self.done(self.say.status(order), reason, order.number)

    def handoff(self, reason: str, key: str = "handoff") -> Decision:
        return Decision(self.say.text(key), self.state, True, reason, self.language)

    def unhelpful(self, reply: str, reason: str, number: str | None = None, **state: Any) -> Decision:
        count = int(self.turn.state.get("unhelpful") or 0) + 1
        if count >= MAX_UNHELPFUL:
            self.state["unhelpful"] = count
            return self.handoff("unhelpful")
        return self.done(reply, reason, number, unhelpful=count, **state)


def _confirm_pending(t: _Turn) -> Decision:
    """Rule 1: the visitor's answer to "which email or postcode did you use?"."""
    turn = t.turn
    order = turn.named_order
    if turn.classification.intent == "handoff":
        return t.handoff("requested")
    if order is not None and proves_ownership(turn.text, order):
        verified = sorted({*turn.state.get("verified_orders", []), order.number})
        t.state["verified_orders"] = verified
        return t.answer(order, "answered_after_verification")
    return t.handoff("verification_failed", key="verification_failed")


def _named(t: _Turn, number: str) -> Decision:
    """Rule 6: a question about one order, by number."""
    turn = t.turn
    order = turn.named_order
    if not turn.verified:
        if order is not None and order.number in turn.state.get("verified_orders", []):
            return t.answer(order)
        # Same words whether the order exists or not: the reply must not tell a stranger which numbers exist.
        shown = display_number(order.number if order else number)
        return t.done(t.say.text("verify_ownership", number=shown), "asked_verification", number,
                      pending_verification={"number": order.number if order else number})  # fmt: skip
    if order is not None and order.owned:
        return t.answer(order)
    return t.unhelpful(
        t.say.text("order_not_found", number=display_number(number)), "order_not_found", number,
        awaiting="order_number",
    )  # fmt: skip


def _unnamed(t: _Turn) -> Decision:
    """Rule 7: "where is my order?" without a number."""
    turn = t.turn
    if not turn.verified:
        if turn.state.get("awaiting"):
            return t.unhelpful(t.say.text("ask_order_number"), "asked_again", awaiting="order_number")
        return t.done(t.say.text("ask_order_number"), "asked_order_number", awaiting="order_number")
    orders = list(turn.recent_orders)
    if len(orders) == 1:
        return t.answer(orders[0])
    if orders:
        return t.done(t.say.listing(orders), "listed_orders", awaiting="order_number")
    return t.unhelpful(t.say.text("no_orders_found"), "no_orders_found")


def decide(turn: Turn, settings: BotSettings) -> Decision:
    """The bot's move for one message (see the module docstring for the rules)."""
    t = _Turn(turn, settings)
    c = turn.classification
    if turn.state.get("pending_verification"):
        return _confirm_pending(t)
    if c.intent == "handoff":
        return t.handoff("requested")
    awaiting = bool(turn.state.get("awaiting"))
    if awaiting and c.order_number:
        return _named(t, c.order_number)
    if c.intent == "other":
        if awaiting:
            return t.unhelpful(t.say.text("ask_order_number"), "asked_again", awaiting="order_number")
        return t.handoff("other")
    if c.confidence < settings.confidence_threshold:
        return t.handoff("low_confidence")
    if c.order_number:
        return _named(t, c.order_number)
    return _unnamed(t)
