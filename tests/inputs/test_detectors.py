"""Tests for the detectors added for scale: US_SSN, IBAN, IP_ADDRESS and URL.

Each detector is held to both failure directions. A miss sends a customer's bank account or
social security number to a model; a false positive erases what the model needs to triage a
ticket: order and invoice numbers, dates, times, prices, version strings and file names.
Checksums (IBAN mod-97, the SSA's never-issued SSN ranges) are what separate the two, so a
value one digit off must not be found.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance_pipeline.inputs.redaction import (
    Entity,
    Redactor,
    detect,
    find_pii,
    iban_valid,
    ssn_valid,
)

FOUND = [
    ("My SSN is 123-45-6789, please update.", Entity.US_SSN, "123-45-6789"),
    ("ssn: 123 45 6789", Entity.US_SSN, "123 45 6789"),
    ("social security number 123456789 on file", Entity.US_SSN, "123456789"),
    (
        "Refund to IBAN GB82 WEST 1234 5698 7654 32 please",
        Entity.IBAN,
        "GB82 WEST 1234 5698 7654 32",
    ),
    ("IBAN: DE89370400440532013000.", Entity.IBAN, "DE89370400440532013000"),
    ("iban fr1420041010050500013m02606 ok", Entity.IBAN, "fr1420041010050500013m02606"),
    ("login from 192.168.1.20 failed", Entity.IP_ADDRESS, "192.168.1.20"),
    ("blocked 10.0.0.1.", Entity.IP_ADDRESS, "10.0.0.1"),
    ("server 10.0.0.1 build", Entity.IP_ADDRESS, "10.0.0.1"),
    ("ipv6 2001:db8::8a2e:370:7334 seen", Entity.IP_ADDRESS, "2001:db8::8a2e:370:7334"),
    ("link-local fe80::1%eth0", Entity.IP_ADDRESS, "fe80::1"),
    ("mapped ::ffff:192.0.2.128 here", Entity.IP_ADDRESS, "::ffff:192.0.2.128"),
    (
        "reset at https://example.com/reset?token=abc123.",
        Entity.URL,
        "https://example.com/reset?token=abc123",
    ),
    ("or www.acme.co.uk/help).", Entity.URL, "www.acme.co.uk/help"),
    ("(see http://x.io/a)", Entity.URL, "http://x.io/a"),
    ("ftp://files.example.org/dump.csv", Entity.URL, "ftp://files.example.org/dump.csv"),
]


@pytest.mark.parametrize(("text", "entity", "value"), FOUND)
def test_detects_entity(text: str, entity: Entity, value: str) -> None:
    start = text.index(value)
    assert [(f.entity, f.start, f.end, f.value) for f in detect(text)] == [
        (entity, start, start + len(value), value)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "id 123456789 is an order",  # nine bare digits without the word SSN
        "SSN 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567, 123-45-0000",  # never issued
        "call 123-45-6789-0 ext",  # part of a longer id
        "bad iban GB82 WEST 1234 5698 7654 33",  # check digits do not hold
        "GB82 WEST 1234 5698 7654",  # too short for GB
        "XX82 WEST 1234 5698 7654 32",  # no such country
        "v1.2.3.4 and 2.14.3.1024 and 999.1.1.1 and 1.2.3",
        "build 9.3.9.109, version: 1.2.3.4, firmware 10.0.3.12, release 3.10.9.864",
        "time 14:22:01 and 12:30, ratio 3:2:1",
        "C++::std and a::b::c",
        "file index.html, e.g. done, v2.14.3, acme.com is down",
        "Charged $1,299.00 on 2024-03-15, order #10234, invoice INV-2026-01234",
        "Crashes since v2.14.3, was fine on v2.13.9 build 2.14.3.1024",
        "<IBAN_1> <US_SSN_2> <IP_ADDRESS_3> <URL_4> <EMAIL_T_qkxbmtzrwlfdnyse>",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert detect(text) == []


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("GB82WEST12345698765432", True),
        ("gb82west12345698765432", True),
        ("DE89370400440532013000", True),
        ("GB82WEST12345698765433", False),
        ("GB82WEST1234569876543", False),
        ("ZZ82WEST12345698765432", False),
        ("GB8XWEST12345698765432", False),
        ("", False),
    ],
)
def test_iban_checksum(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("123456789", True),
        ("000123456", False),
        ("666123456", False),
        ("900123456", False),
        ("123006789", False),
        ("123450000", False),
        ("12345678", False),
    ],
)
def test_ssn_rules(digits: str, valid: bool) -> None:
    assert ssn_valid(digits) is valid


def test_redacted_row_numbers_each_new_type() -> None:
    row = {
        "body": "SSN 123-45-6789, IBAN DE89 3704 0044 0532 0130 00, from 10.1.2.3, "
        "see https://acme.io/t/1 and again 10.1.2.3"
    }
    redacted, counts = Redactor().redact_row(row)
    assert redacted == {
        "body": "SSN <US_SSN_1>, IBAN <IBAN_1>, from <IP_ADDRESS_1>, see <URL_1> and again "
        "<IP_ADDRESS_1>"
    }
    assert counts == {"US_SSN": 1, "IBAN": 1, "IP_ADDRESS": 2, "URL": 1}


def _iban(country: str, bban: str) -> str:
    """A valid IBAN: the check digits that make mod-97 equal 1."""
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


ibans = st.builds(_iban, st.just("DE"), st.text("0123456789", min_size=18, max_size=18)) | (
    st.builds(
        _iban,
        st.just("NL"),
        st.builds(
            lambda b, d: b + d,
            st.sampled_from(["ABNA", "INGB"]),
            st.text("0123456789", min_size=10, max_size=10),
        ),
    )
)
ssns = st.builds(
    lambda a, g, s, sep: f"{a:03d}{sep}{g:02d}{sep}{s:04d}",
    st.integers(1, 899).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
    st.sampled_from(["-", " "]),
)
# "::" (the unspecified address) is no one's address, and is not looked for
ips = st.ip_addresses().map(str).filter(lambda ip: ipaddress.ip_address(ip).packed.strip(b"\0"))
urls = st.builds(
    lambda scheme, host, path: f"{scheme}{host}.com/{path}",
    st.sampled_from(["https://", "http://", "www."]),
    st.text("abcdefghij", min_size=1, max_size=8),
    st.text("abc123/_-", max_size=10),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["order #10234", "on 2024-03-15", "v2.14.3", "\n"]),
            ibans | ssns | ips | urls,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_generated_values_are_found_and_never_survive(pairs: list[tuple[str, str]]) -> None:
    text = " | ".join(f"{noise} | {value} |" for noise, value in pairs)
    redacted, counts = Redactor().redact_text(text)
    assert redacted is not None
    for _, value in pairs:
        assert value not in redacted
    assert find_pii(redacted) == []
