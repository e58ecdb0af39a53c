"""Intent rules: turn the cues found in a message into order_status, handoff or other, with a confidence.

Intent definitions (the labels of the fixtures follow these):

``order_status``
    The customer asks about the delivery of an order they placed: where it is, whether it has shipped,
    when it arrives, its status or tracking, or says it has not arrived yet. The message must refer to
    an order (an order number, "my order/parcel", "I ordered ...") unless it asks for tracking, and must
    ask for nothing else a person has to handle. A message that is only an order number ("#1001") is
    also ``order_status`` but with a low confidence: without the conversation it is a guess.

``handoff``
    Either the customer asks for a person (agent, human, colleague, call-back, "not a bot"), in any
    language and whatever else the message says; or the message is ambiguous in a way a status answer
    could get wrong: a delivery question mixed with a request or problem (cancel, refund, return,
    change address, damaged, wrong item), or a delivery question that does not say what it is about
    ("when will it arrive??", "has it shipped?").

``other``
    Everything else: pre-sale questions (stock, sizes, prices, shipping costs and times to a country,
    payment methods, shops), returns, refunds, cancellations, exchanges, address changes, invoices and
    complaints that do not ask about delivery status, account questions, greetings and thanks. The bot
    does not answer these; they wait for the team as usual.

Confidence is what the rule that fired is worth on its own (see ``RULES``), lowered a little for each
cue that was only recognised through a typo correction. ``classify.HANDOFF_BELOW`` is the threshold a
caller should apply before letting the bot answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from conversation.bot.cues import REFERENCE_CUES, Cue
from conversation.bot.matcher import CueHit, TextCues

Intent = Literal["order_status", "handoff", "other"]

# Cues that make a delivery question on their own, even without saying which order.
_STRONG_STATUS = (Cue.TRACK, Cue.SHIPPED, Cue.ONWAY)
# Cues that only make a delivery question about something that is an order ("where is my order" but
# not "where is your shop"; "late" but not "sorry I'm late").
_WEAK_STATUS = (Cue.WHERE, Cue.STATUS, Cue.WAIT, Cue.LATE)
# Event verbs ask about a delivery only when qualified: asked about its time, reported as not (yet)
# happened. Qualified like that they are strong; the specific verbs ("arrive", "sent") are also a
# question when the message asks something ("will it arrive in time?"), but then only about an order.
_TIME_QUALIFIERS = frozenset({Cue.WHEN, Cue.NEG, Cue.PENDING})
_EVENT_QUALIFIERS: Mapping[Cue, frozenset[Cue]] = {
    Cue.ARRIVE: _TIME_QUALIFIERS,
    Cue.SENT: _TIME_QUALIFIERS,
    Cue.RECEIVE: _TIME_QUALIFIERS,
    Cue.SEND: frozenset({Cue.WHEN}),  # "send me the invoice" is a request; "when will you send it" is not
}
_ASKED_EVENTS = (Cue.ARRIVE, Cue.SENT)
# A person-word ("someone", "mens", "persona") asks for a human only with one of these, or alone.
_PERSON_QUALIFIERS = (Cue.CONTACT, Cue.WANT, Cue.REAL)
_SHORT_MESSAGE = 3  # content words
_FUZZY_PENALTY = 0.05
_MAX_FUZZY_PENALTY = 0.15


@dataclass(frozen=True, slots=True)
class Evidence:
    """The facts the rules look at: the cues, whether an order number was found, whether it asks."""

    cues: TextCues
    has_order_number: bool
    is_question: bool

    def has(self, *cues: Cue) -> bool:
        """Whether any of ``cues`` was found."""
        return any(self.cues.has(cue) for cue in cues)

    def hits(self, *cues: Cue) -> tuple[CueHit, ...]:
        """The hits for any of ``cues``."""
        return tuple(hit for cue in cues for hit in self.cues.of(cue))

    @property
    def content_words(self) -> int:
        """Words that are neither function words, greetings, numbers nor order words."""
        return self.cues.content_words


def _event_hits(ev: Evidence) -> tuple[CueHit, ...]:
    return tuple(hit for verb, qualifiers in _EVENT_QUALIFIERS.items() if ev.has(*qualifiers)
                 for hit in ev.hits(verb))


def _strong_status_hits(ev: Evidence) -> tuple[CueHit, ...]:
    return ev.hits(*_STRONG_STATUS) + _event_hits(ev)


def _status_hits(ev: Evidence) -> tuple[CueHit, ...]:
    asked = ev.hits(*_ASKED_EVENTS) if ev.is_question else ()
    return _strong_status_hits(ev) + ev.hits(*_WEAK_STATUS) + asked


def _asks_about_an_order(ev: Evidence) -> bool:
    """A status cue and an order reference, in different words.

    One word cannot be both: "envío" (shipment) is not "where is my shipment", and "доставка" alone is
    not "when is my delivery".
    """
    status = _status_hits(ev)
    if not status:
        return False
    if ev.has_order_number:
        return True
    return any(not _overlap(s, r) for s in status for r in ev.hits(*REFERENCE_CUES))


def _overlap(a: CueHit, b: CueHit) -> bool:
    return a.start < b.end and b.start < a.end


def _negated(hit: CueHit, ev: Evidence) -> bool:
    """Whether a negation touches ``hit`` in its clause: "bel me niet", "don't call me", "no me llamen"."""
    return any(
        neg.clause == hit.clause and (0 <= hit.start - neg.end <= 1 or neg.start == hit.end)
        for neg in ev.hits(Cue.NEG)
    )


def _asks_for_human(ev: Evidence) -> bool:
    if ev.has(Cue.HUMAN) or any(not _negated(hit, ev) for hit in ev.hits(Cue.CALLBACK)):
        return True
    if ev.has(Cue.BOT) and ev.has(Cue.NEG, Cue.REAL, Cue.WANT, Cue.CONTACT):
        return True
    if ev.has(Cue.PERSON, Cue.BOT):
        qualified = any(not _negated(hit, ev) for hit in ev.hits(*_PERSON_QUALIFIERS))
        return qualified or ev.content_words <= _SHORT_MESSAGE
    return False


def _mixed(ev: Evidence) -> bool:
    return _asks_about_an_order(ev) and ev.has(Cue.ACTION, Cue.PROBLEM)


def _own_status(ev: Evidence) -> bool:
    own = ev.has_order_number or ev.has(Cue.ORDERED) or (ev.has(Cue.OWN) and ev.has(Cue.ORDER))
    return own and _asks_about_an_order(ev)


def _tracking_request(ev: Evidence) -> bool:
    return ev.has(Cue.TRACK)


def _other_topic(ev: Evidence) -> bool:
    return ev.has(Cue.ACTION, Cue.PROBLEM)


def _unspecified_delivery_question(ev: Evidence) -> bool:
    return bool(_strong_status_hits(ev))


def _only_an_order_number(ev: Evidence) -> bool:
    return ev.has_order_number and ev.content_words == 0


def _always(ev: Evidence) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule:
    """If ``applies``, the message has ``intent`` with ``confidence`` (before typo penalties)."""

    name: str
    applies: Callable[[Evidence], bool]
    intent: Intent
    confidence: float


# First match wins; the order is the policy: a request for a person beats everything, a mixed question
# is never answered with a status, and "other" topics beat a bare tracking word.
RULES: tuple[Rule, ...] = (
    Rule("asks for a person", _asks_for_human, "handoff", 0.95),
    Rule("delivery question mixed with a request or problem", _mixed, "handoff", 0.75),
    Rule("delivery question about their order", _own_status, "order_status", 0.9),
    Rule("delivery question about an order", _asks_about_an_order, "order_status", 0.7),
    Rule("another topic (return, refund, cancel, ...)", _other_topic, "other", 0.85),
    Rule("asks for tracking", _tracking_request, "order_status", 0.7),
    Rule("delivery question without saying about what", _unspecified_delivery_question, "handoff", 0.5),
    Rule("only an order number", _only_an_order_number, "order_status", 0.55),
    Rule("nothing the bot handles", _always, "other", 0.6),
)
_DEFAULT_RULE = RULES[-1]


@dataclass(frozen=True, slots=True)
class IntentDecision:
    """The outcome of the rules: intent, confidence and the rule that decided (for debugging)."""

    intent: Intent
    confidence: float
    rule: str


def decide_intent(ev: Evidence) -> IntentDecision:
    """Apply ``RULES`` to the evidence of one message."""
    rule = next(r for r in RULES if r.applies(ev))
    confidence = rule.confidence
    if rule is _DEFAULT_RULE:
        # "Other" by default is surer for a real sentence than for "ok" or a lone emoji.
        confidence = min(confidence, 0.3 + 0.1 * ev.content_words)
    exact = {hit.cue for hit in ev.cues.hits if not hit.fuzzy}
    fuzzy_only = {hit.cue for hit in ev.cues.hits if hit.fuzzy} - exact
    confidence -= min(_MAX_FUZZY_PENALTY, _FUZZY_PENALTY * len(fuzzy_only))
    return IntentDecision(rule.intent, round(max(0.0, min(1.0, confidence)), 3), rule.name)
