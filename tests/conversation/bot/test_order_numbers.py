"""Order-number extraction: every supported format, and the numbers that are not order numbers."""

from __future__ import annotations

import pytest

from conversation.bot.order_numbers import Anchor, extract_order_number, find_order_references


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi, what's the status of order #1001", "1001"),
        ("#1001", "1001"),
        ("order 1001", "1001"),
        ("Order 2043 please", "2043"),
        ("order no. 1001", "1001"),
        ("order no 1001", "1001"),
        ("order number is 1001", "1001"),
        ("order nr 1001", "1001"),
        ("order: 1001", "1001"),
        ("bestelling 1001", "1001"),
        ("Bestelnummer: 7781", "7781"),
        ("ordernummer 88102", "88102"),
        ("Bestellnummer 1001", "1001"),
        ("Bestell-Nr. 3381", "3381"),
        ("Bestellung Nr. 5590", "5590"),
        ("Auftragsnummer 20931", "20931"),
        ("commande n°1001", "1001"),
        ("commande n° 1001", "1001"),
        ("N° de commande 30452", "30452"),
        ("commande numéro 77810", "77810"),
        ("pedido 1001", "1001"),
        ("pedido nº 6612", "6612"),
        ("número de pedido: 40021", "40021"),
        ("encomenda nº 30991", "30991"),
        ("ordre 1001", "1001"),
        ("ordre nr. 4412", "4412"),
        ("Ordrenummer 5521", "5521"),
        ("bestillingsnummer 7720", "7720"),
        ("заказ №1001", "1001"),
        ("заказ № 30017", "30017"),
        ("номер заказа 5590", "5590"),
        ("по заказу 3381", "3381"),
        ("order A-2231", "A-2231"),
        ("tracking link for ORD-55A1 please", "ORD-55A1"),
        ("ord-9a12 status??", "ORD-9A12"),
        ("order 112-4455667-8899001 is late", "112-4455667-8899001"),
        ("Wann kommt meine Bestellung? Nr. 55612", "55612"),
        ("1001", "1001"),
    ],
)
def test_formats(text: str, expected: str) -> None:
    assert extract_order_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "call me on +31 6 12345678",  # phone
        "my number is 0612345678",
        "+7 916 123-45-67",
        "it cost €89.99",  # prices
        "49,99 €",
        "€1001",
        "order 1001.50",
        "ordered on 12/03/2024",  # dates
        "Bestellung vom 12.03.2024",
        "заказ от 12.03",
        "pedido el 12/03",
        "my postcode is 1012 AB",  # postcodes
        "SW1A 1AA",
        "CEP 01310-100",
        "Har I en butik i Odense, DK-5000?",
        "Habt ihr einen Laden in A-1010 Wien?",
        "I ordered 2 pairs",  # quantities
        "I ordered 150 stickers",
        "order 100 pcs",
        "order 10 days ago",
        "since 2023",  # years
        "my order in 2024",
        "Ist Artikel SKU-4471 wieder verfügbar?",  # product codes
        "COVID-19 delays?",
        "tracking 1Z999AA10123456784",  # tracking number, not an order number
        "size 42",
        "Hauptstraße Nr. 123",  # a number marker without an order word
        "pedido no llegó",  # "no" is a negation, not "number"
        "A-1" * 20,  # longer than any order number
        "order 1234567890123",  # a run of 13 digits is a card, phone or tracking number
        "",
    ],
)
def test_distractors(text: str) -> None:
    assert extract_order_number(text) is None


def test_the_order_word_wins_over_other_numbers() -> None:
    refs = find_order_references("ORD-9A12 or rather order 5521, see #7788")

    assert [ref.number for ref in refs] == ["5521", "7788", "ORD-9A12"]
    assert refs[0].anchor is Anchor.KEYWORD


def test_span_covers_the_marker_but_not_the_order_word() -> None:
    text = "Bestellung Nr. 5590 ist verspätet"
    (ref,) = find_order_references(text)

    assert text[ref.start : ref.end].strip() == "Nr. 5590"
