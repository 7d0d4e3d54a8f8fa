"""Tests for the independent check (``redaction.independent``), the no_pii check's second line.

The blocking no_pii check once scanned model inputs with the redactor's own detectors, so every
row in which the redactor missed a phone number passed: the miss was repeated, not caught. The
second line is only worth having if it shares no code with the redactor (a test reads its
imports), if it sees the shapes of every claimed type, those the redactor was never written for
included, and if it stays quiet on what redacted text is made of: placeholders, surrogates,
masks, and the dates, amounts and ids tickets are full of. A false alarm quarantines a row.
"""

from __future__ import annotations

import ast
from pathlib import Path

import phonenumbers
import pytest

from governance_pipeline.inputs.redaction import ALL_ENTITIES, independent
from governance_pipeline.inputs.redaction.independent import redact, suspects

CLAIMED = [e.value for e in ALL_ENTITIES]

FLAGGED = [
    ("PHONE", "call 07700 900123"),
    ("PHONE", "call +41 53 147 37 99"),
    ("PHONE", "call 196-655-3307x704"),
    ("PHONE", "ring 439 4166"),
    ("PHONE", "bare 612345678"),  # a Spanish mobile, no phone word: the redactor lets it be
    ("PHONE", "after <PHONE_1>234 5678"),  # a leftover next to a placeholder
    ("US_SSN", "SSN 123-45-6789"),
    ("CREDIT_CARD", "card 5018 1234 5673"),
    ("CREDIT_CARD", "card ٤١١١١١١١١١١١١١١١"),  # Arabic-Indic digits
    ("EMAIL", "mail jane.doe+x@mail.example.com"),
    ("EMAIL", "mail root@localhost"),
    ("IBAN", "IBAN GB82 WEST 1234 5698 7654 32"),
    ("IBAN", "iban fr1420041010050500013m02606"),
    ("IP_ADDRESS", "from 192.168.1.20"),
    ("IP_ADDRESS", "from 2001:db8::8a2e:370:7334"),
    ("URL", "see https://x.io/reset?t=1"),
    ("URL", "see www.acme.co.uk"),
]

CLEAN = [
    "Customer <EMAIL_1> called from <PHONE_1> about <CREDIT_CARD_12> and <NAME_1>",
    "<EMAIL_H_qkxbmtzrwlfdnyse> <PHONE_T_abcdefghijklmnop> <PII_3>",
    "card ****-****-****-1111, phone (***) ***-2671",
    "Ticket created 2024-03-15, updated 2024-03-16 14:22:01, due 15.03.2024 or 03/15/2024",
    "from 2019-2024, at 14:22:01, ratio 3:2, page 12 of 40",
    "Charged $1,299.00, 1.299.000 €, € 12 500 000 and 81 164 kr",
    "order #123456, INV-2026-01234, error 0x80070005, build 2.14.3.1024, v2.14.3",
    "tracking no. 2252617921, SKU 66-4317-50, ISBN 978-3-16-148410-0, EAN 4006381333931",
    "order 112-7654321-1234567, ref. 2024/12345, parcel 9400 1000 0000 0000 0000 00",
    "C++::std and a::b::c, ping @support",
    "",
]


@pytest.mark.parametrize(("entity", "text"), FLAGGED)
def test_flags_each_claimed_type(entity: str, text: str) -> None:
    assert entity in {s.entity for s in suspects(text, CLAIMED)}
    cleaned, n = redact(text, CLAIMED)
    assert n >= 1 and suspects(cleaned, CLAIMED) == []


@pytest.mark.parametrize("text", CLEAN)
def test_quiet_on_what_redacted_text_is_made_of(text: str) -> None:
    assert suspects(text, CLAIMED) == []


def test_only_claimed_types_are_flagged() -> None:
    text = "mail a@b.io, call 0865 241 9473"
    assert {s.entity for s in suspects(text, ["EMAIL"])} == {"EMAIL"}
    assert {s.entity for s in suspects(text, ["PHONE"])} == {"PHONE"}
    assert suspects(text, []) == []


@pytest.mark.parametrize("text", ["card 4111 1111 1111 1111", "SSN 123-45-6789"])
def test_what_the_spec_lets_through_is_no_phones_leftover(text: str) -> None:
    """A spec that claims phones but not cards (or SSNs) sends cards to the model on purpose:
    their digits must not quarantine the row as phone-shaped."""
    assert suspects(text, ["EMAIL", "PHONE"]) == []
    assert suspects(text, CLAIMED) != []


def test_every_regions_example_numbers_are_flagged() -> None:
    """What the redactor must catch, the second line sees: phonenumbers' example numbers of
    every region (7 digits or more), written internationally or nationally with separators."""
    fmt = phonenumbers.PhoneNumberFormat
    unseen = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if number is None:
            continue
        national = phonenumbers.format_number(number, fmt.NATIONAL)
        if sum(ch.isdigit() for ch in national) < 7:
            continue
        for written in (phonenumbers.format_number(number, fmt.INTERNATIONAL), national):
            if not suspects(f"my number is {written}.", ["PHONE"]):
                unseen.append((region, written))
    assert unseen == []


def test_shares_no_code_with_the_redactor() -> None:
    """It imports the standard library only: nothing of governance_pipeline, no phonenumbers."""
    tree = ast.parse(Path(independent.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"__future__", "re", "unicodedata", "dataclasses", "collections"}
