"""The bot's understanding of one message: language, intent and order number (the public entry point)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from conversation.bot.cues import Cue
from conversation.bot.intents import Evidence, decide_intent
from conversation.bot.language import normalise_languages, pick_language, score_languages
from conversation.bot.matcher import matcher_for
from conversation.bot.order_numbers import find_order_references

#: Recommended threshold: below it a caller should hand the conversation to a person instead of
#: letting the bot answer. At 0.6 the bot answers a clear delivery question about a named or "my"
#: order (0.9), a question about "the parcel" or a tracking request (0.7, minus 0.05 per typo-corrected
#: cue), and never a lone order number (0.55: only the caller knows whether it just asked for one) or a
#: delivery question that does not say what it is about (0.5).
HANDOFF_BELOW = 0.6

# Status and topic words count only in languages the message is plausibly written in (the Spanish
# "demora", a delay, is just "takes" in Portuguese); words asking for a person count in every language,
# because missing a handoff is the one mistake the bot must not make.
_PLAUSIBLE_SHARE = 0.5
_UNIVERSAL_CUES = frozenset({Cue.HUMAN, Cue.PERSON, Cue.CONTACT, Cue.CALLBACK, Cue.BOT, Cue.REAL, Cue.WANT})
_QUESTION_MARKS = ("?", "¿")
# Chat messages are short; a long text is an email whose request is at the top and whose rest is
# quotes and signatures. Reading only the start bounds the cost of any input.
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Classification:
    """What the bot makes of a message.

    Attributes:
        intent: ``order_status``, ``handoff`` or ``other`` (defined in :mod:`conversation.bot.intents`).
        order_number: the order number mentioned, normalised (no ``#``, upper case), or ``None``.
        language: ISO 639-1 code of the message's language, one of the enabled languages or the default.
        confidence: how much the intent can be trusted, in [0, 1]; compare with :data:`HANDOFF_BELOW`.
    """

    intent: Literal["order_status", "handoff", "other"]
    order_number: str | None
    language: str
    confidence: float


def classify(
    text: str, languages: Iterable[str] | None = None, default_language: str = "en"
) -> Classification:
    """Classify one customer message.

    Args:
        text: the message as the customer wrote it; only its first ``MAX_CHARS`` characters are read.
        languages: the shop's enabled languages (ISO 639-1); ``None`` means en, nl, da, de, ru, es, fr, pt.
        default_language: the shop's language, used when a message is too short to tell (should be
            one of ``languages``).

    Returns:
        The intent, order number, language and confidence.

    Raises:
        ValueError: if ``languages`` contains a code that is not an ISO 639-1 language.
    """
    enabled = normalise_languages(languages)
    text = text[:MAX_CHARS]
    refs = find_order_references(text)
    cues = matcher_for(enabled).match(_blank(text, [(ref.start, ref.end) for ref in refs]))
    scores = score_languages(text, enabled, default_language, cues.votes)
    language = pick_language(scores, default_language)
    best = max(scores.values(), default=0.0)
    plausible = frozenset(code for code, score in scores.items() if score >= _PLAUSIBLE_SHARE * best)
    evidence = Evidence(
        cues=cues.keeping(plausible | {language.language}, _UNIVERSAL_CUES),
        has_order_number=bool(refs),
        is_question=any(mark in text for mark in _QUESTION_MARKS),
    )
    decision = decide_intent(evidence)
    return Classification(
        intent=decision.intent,
        order_number=refs[0].number if refs else None,
        language=language.language,
        confidence=decision.confidence,
    )


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace the order-number spans with spaces: their "no", "nº" and "nr" are not words."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
