"""Text folding and word tokens shared by the bot's matchers (accents stripped, case folded)."""

from __future__ import annotations

import re
import unicodedata

# Letters and digits only: apostrophes, hyphens and emoji split words ("hasn't" -> "hasn", "t"), which
# is why the lexicons list contracted forms by their first part.
_WORD = re.compile(r"[^\W_]+")
# Punctuation that ends a clause: a phrase never spans it, and negation does not reach across it.
_CLAUSE_BREAK = re.compile(r"[.,;:!?¿¡()\[\]\n]+")


def fold(text: str) -> str:
    """Fold text for matching: strip accents and fold case.

    Shoppers type "ou est ma commande", "donde esta", "hvornar" as often as the accented forms, so both
    the lexicons and the messages are compared without accents. NFKD also turns "№" into "No" and
    "nº" into "no"; classify blanks order-number spans before matching so these never read as "no".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def tokenize(text: str) -> tuple[str, ...]:
    """Split folded text into word tokens (letters and digits)."""
    return tuple(_WORD.findall(fold(text)))


def tokenize_clauses(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Word tokens of ``text`` and, for each, the index of the clause it belongs to."""
    tokens: list[str] = []
    clauses: list[int] = []
    for index, clause in enumerate(_CLAUSE_BREAK.split(text)):
        words = tokenize(clause)
        tokens.extend(words)
        clauses.extend([index] * len(words))
    return tuple(tokens), tuple(clauses)
