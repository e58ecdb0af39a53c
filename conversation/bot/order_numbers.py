"""Order-number extraction: numbers anchored on an order word, a '#', or a code shape, minus distractors."""

# Cyrillic order words and units are deliberate, not look-alikes of Latin letters.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum


class Anchor(IntEnum):
    """How a number was found; a lower value is more trustworthy and wins."""

    KEYWORD = 0  # "order 1001", "Bestellnummer: 1001", "заказ №1001"
    HASH = 1  # "#1001"
    MARKER = 2  # "Nr. 55612", "nº 1001" in a message that names an order elsewhere
    CODE = 3  # "ORD-55A1": letters, a hyphen and digits, anywhere in the text
    BARE = 4  # the whole message is one number ("1001"), e.g. a reply to "which order?"


@dataclass(frozen=True, slots=True)
class OrderReference:
    """An order number found in a message.

    ``number`` is normalised (no leading ``#``, upper case). ``start``/``end`` span the marker and the
    number in the original text but not the order word, so the intent matcher can blank them ("no",
    "nº", "nr" are not negations there) while still seeing the word "order".
    """

    number: str
    start: int
    end: int
    anchor: Anchor


# Nouns only: verbs like "ordered" or "bestellt" are followed by quantities ("I ordered 150 stickers").
_KEYWORDS = (
    "bestillingsnummer", "bestillingsnr", "auftragsnummer", "bestellnummer", "bestelnummer",
    "ordrenummer", "ordernummer", "auftragsnr", "bestelling", "bestilling", "bestellung", "bestell-nr",
    "bestellnr", "bestelnr", "encomenda", "commande", "purchase", "ordernr", "ordrenr", "auftrag",
    "pedido", "compra", "orders", "order", "ordre",
    "заказом", "заказа", "заказу", "заказе", "заказы", "заказ",
)
_KEYWORD = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, _KEYWORDS)) + r")(?!\w)\.?", re.IGNORECASE)
# Words that may stand between the order word and the number ("order number is", "commande n°",
# "número de pedido:" is handled by the keyword coming last).
_FILLER = re.compile(
    r"[\s:#.\-–—]*(?:n\s?[°º]|№|(?:nr|no|nro|num|number|nummer|número|numero|numéro|номер|is|ist|er|es|est"
    r"|é|id|ref)(?!\w))\.?",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[\s:#.\-–—]*#?\s?(?P<num>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)")
_MARKER = re.compile(r"(?<!\w)(?:n\s?[°º]|№|nr|no|nro)(?!\w)\.?\s?(?P<num>\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)",
                     re.IGNORECASE)
_HASH = re.compile(r"(?<![\w&#])#\s?(?P<num>[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)")
_CODE = re.compile(
    r"(?<![\w-])(?P<num>(?P<prefix>[A-Za-z]{1,5})-[A-Za-z0-9]*\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)(?![\w-])"
)
_BARE = re.compile(r"^\W*#?\s?(?P<num>\d{3,12})\W*$")

# What may follow a number that is not an order number: a decimal, date or time ("12.03", "10:30"),
# a currency or percentage, or a unit of quantity.
_NOT_AN_ORDER_AFTER = re.compile(
    r"(?:[.,/:]\d|\s?(?:%|€|\$|£|₽|r\$|kr\b|kr\.|eur\b|euros?\b|usd\b|dkk\b|sek\b|nok\b|руб|р\.|reais\b"
    r"|pcs\b|pieces?\b|stuks?\b|stk\b|stück\b|шт|unidades\b|unités\b|pares\b|pairs?\b|x\b))",
    re.IGNORECASE,
)
_CURRENCY_BEFORE = re.compile(r"(?:[€$£₽]|r\$)\s?$", re.IGNORECASE)
# Prefixes of codes that are products or identifiers, not orders.
_CODE_DENYLIST = frozenset({"SKU", "EAN", "ISBN", "ART", "ITEM", "MODEL", "COVID", "IBAN", "BIC", "UPC"})
# Country prefixes of European postcodes ("DK-8000", "A-1010 Wien", "D-10115"): without an order word,
# such a code is read as an address.
_POSTAL_PREFIXES = frozenset({"A", "B", "D", "F", "I", "L", "N", "P", "S", "CH", "DK", "NL", "FI", "PL", "CZ",
                              "SK", "HU", "SE", "NO", "DE", "AT", "BE", "FR", "IT", "LU", "PT", "ES", "E"})
_POSTAL_TAIL = re.compile(r"\d{4,5}")
_MIN_DIGITS = 3
_MAX_PLAIN_DIGITS = 12  # longer runs of bare digits are phone, tracking or card numbers
_MAX_LENGTH = 24  # the longest order numbers in use (Amazon's "112-4455667-8899001") are 19 characters
_MAX_FILLERS = 3


def _normalise(raw: str) -> str:
    return raw.lstrip("#").upper()


def _plausible(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` can be an order number given its shape and neighbours."""
    raw = text[start:end]
    digits = sum(ch.isdigit() for ch in raw)
    if digits < _MIN_DIGITS or len(raw.lstrip("#")) > _MAX_LENGTH:
        return False
    if raw.isdigit() and len(raw) > _MAX_PLAIN_DIGITS:
        return False
    if _NOT_AN_ORDER_AFTER.match(text, end):
        return False
    return not _CURRENCY_BEFORE.search(text, 0, start)


def _after_keyword(text: str, pos: int) -> re.Match[str] | None:
    """The number following an order word at ``pos``, skipping up to a few filler words."""
    for _ in range(_MAX_FILLERS + 1):
        number = _NUMBER.match(text, pos)
        if number and any(ch.isdigit() for ch in number["num"]):
            return number
        filler = _FILLER.match(text, pos)
        if not filler:
            return None
        pos = filler.end()
    return None


def _keyword_references(text: str) -> list[OrderReference]:
    found = []
    for keyword in _KEYWORD.finditer(text):
        number = _after_keyword(text, keyword.end())
        if number and _plausible(text, number.start("num"), number.end("num")):
            found.append(OrderReference(_normalise(number["num"]), keyword.end(), number.end("num"),
                                        Anchor.KEYWORD))
    return found


def _hash_references(text: str) -> list[OrderReference]:
    return [OrderReference(_normalise(m["num"]), m.start(), m.end(), Anchor.HASH)
            for m in _HASH.finditer(text) if _plausible(text, m.start("num"), m.end("num"))]


def _marker_references(text: str) -> list[OrderReference]:
    # "Nr. 12" alone is as likely a house or item number, so the marker only counts when the message
    # also names an order ("Wann kommt meine Bestellung? Nr. 55612").
    if not _KEYWORD.search(text):
        return []
    return [OrderReference(_normalise(m["num"]), m.start(), m.end(), Anchor.MARKER)
            for m in _MARKER.finditer(text) if _plausible(text, m.start("num"), m.end("num"))]


def _is_postcode(prefix: str, code: str) -> bool:
    return prefix in _POSTAL_PREFIXES and _POSTAL_TAIL.fullmatch(code.split("-", 1)[1]) is not None


def _code_references(text: str) -> list[OrderReference]:
    found = []
    for m in _CODE.finditer(text):
        prefix = m["prefix"].upper()
        if prefix in _CODE_DENYLIST or _is_postcode(prefix, m["num"]):
            continue
        if _plausible(text, m.start("num"), m.end("num")):
            found.append(OrderReference(_normalise(m["num"]), m.start(), m.end(), Anchor.CODE))
    return found


def _bare_reference(text: str) -> list[OrderReference]:
    m = _BARE.match(text)
    if m is None or not _plausible(text, m.start("num"), m.end("num")):
        return []
    return [OrderReference(m["num"], m.start("num"), m.end("num"), Anchor.BARE)]


def find_order_references(text: str) -> tuple[OrderReference, ...]:
    """Every plausible order number in ``text``, the most trustworthy first, then by position.

    Only numbers with an anchor count: an order word ("order", "bestelling", "Bestellnummer",
    "commande n°", "pedido nº", "ordre", "заказ №"), a ``#``, or a code shape (``A-2231``, ``ORD-55A1``).
    Free-standing digits are phone numbers, prices, postcodes, quantities or years far more often
    than order numbers, so they are ignored unless the whole message is a single number.
    """
    found = [*_keyword_references(text), *_hash_references(text), *_marker_references(text),
             *_code_references(text)]
    if not found:
        found = _bare_reference(text)
    unique: dict[str, OrderReference] = {}
    for ref in sorted(found, key=lambda r: (r.anchor, r.start)):
        unique.setdefault(ref.number, ref)
    return tuple(unique.values())


def extract_order_number(text: str) -> str | None:
    """The order number the customer most likely means, normalised, or ``None``."""
    refs = find_order_references(text)
    return refs[0].number if refs else None
