"""Tests for card numbers of every scheme (``redaction.detectors``, CREDIT_CARD).

Maestro issues cards of 12 to 19 digits, and the detector once looked only from 13, so a
12-digit card went to the model whole. Widening the window must not cost precision: one random
digit string in ten passes Luhn, so a 12-digit order number, an ISBN-13 or a parcel number
must not become a card. What keeps them apart is what the schemes publish: which issuer ranges
issue which lengths (12 digits: Maestro only), that no range starts with 0, and how cards are
printed (groups of four to six digits, not an ISBN's 978-3-16-...).
"""

from __future__ import annotations

import pytest

from governance_pipeline.inputs.redaction import Entity, Redactor, detect, luhn_valid

# (scheme, an issuer prefix, the lengths it issues), from the schemes' published tables
SCHEMES = [
    ("Visa", "4", [13, 16, 19]),
    ("Mastercard", "51", [16]),
    ("Mastercard 2-series", "2221", [16]),
    ("American Express", "37", [15]),
    ("Discover", "6011", [16, 19]),
    ("JCB", "3528", [16, 19]),
    ("Diners Club", "36", [14]),
    ("UnionPay", "62", [16, 19]),
    ("Maestro", "5018", [12, 13, 15, 16, 19]),
    ("Maestro", "6759", [12, 19]),
    ("RuPay", "6521", [16]),
    ("Mir", "2200", [16]),
    ("Troy", "9792", [16]),
    ("UATP", "1", [15]),
]


def luhn(prefix: str, length: int) -> str:
    """A Luhn-valid number of `length` digits starting with `prefix`."""
    body = (prefix + "3141592653589793238")[: length - 1]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def grouped(digits: str, sep: str) -> str:
    if len(digits) == 15:  # Amex and UATP print 4-6-5
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


CARDS = [
    (f"{name} {length}", grouped(luhn(prefix, length), sep))
    for name, prefix, lengths in SCHEMES
    for length in lengths
    for sep in ("", " ", "-")
]


@pytest.mark.parametrize(("name", "card"), CARDS, ids=[c[0] + repr(c[1]) for c in CARDS])
def test_every_scheme_and_length_is_found(name: str, card: str) -> None:
    text = f"I paid with {card}, please refund"
    start = text.index(card)
    assert [(f.entity, f.start, f.end) for f in detect(text)] == [
        (Entity.CREDIT_CARD, start, start + len(card))
    ]
    assert Redactor().redact_text(text)[0] == "I paid with <CREDIT_CARD_1>, please refund"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"order {luhn('4', 12)}", "12 Luhn-valid digits outside Maestro's ranges"),
        (f"order {luhn('3', 13)}", "13 digits starting 3: no scheme issues them"),
        (f"ref {luhn('0', 16)}", "no issuer range starts with 0"),
        (f"ref {luhn('7', 16)}", "7 is petroleum's industry digit, not a card scheme's"),
        ("see 978-3-16-148410-2 p. 4", "Luhn-valid, but printed as an ISBN, not as a card"),
        (f"order 112-{luhn('4', 16)[:7]}-{luhn('4', 16)[7:]}", "an order number's grouping"),
        ("parcel 9400 2000 0000 0002 1234 56", "Luhn-valid inside a parcel number in fours"),
        ("tracking 9400 1000 0000 0005 0000 00", "Luhn-valid at its start, named a parcel"),
        (f"code 1Z{luhn('4', 16)}", "glued to letters: part of a code"),
        (f"call +{luhn('9', 13)}", "after a + it is a phone"),
    ],
)
def test_luhn_valid_numbers_that_are_not_cards(text: str, why: str) -> None:
    assert Entity.CREDIT_CARD not in [f.entity for f in detect(text)], why


def test_a_card_followed_by_its_expiry_year_is_still_found() -> None:
    card = grouped(luhn("4", 16), " ")
    assert detect(f"card {card} 2027")[0].value == card
