"""A labelled corpus for PII recall and precision: ticket sentences with every span known.

Each row mixes one to three PII values of the seven detected types (emails, US and
international phones, cards, SSNs, IBANs, IPv4 and IPv6 addresses, URLs) with the things a
detector must leave alone (dates, times, prices, order and invoice numbers, version strings,
tracking ids). Values are valid by construction (Luhn, mod-97, issuable SSNs, numbers that
``phonenumbers`` accepts), so a miss is a miss. Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import phonenumbers

from governance_pipeline.inputs.redaction import luhn_valid

NEGATIVES = [
    "on 2024-03-15",
    "at 14:22:01",
    "on 03/15/2024",
    "for $1,299.00",
    "for order #{n6}",
    "invoice INV-2026-{n5}",
    "since v{v}",
    "build {v}.{n3}",
    "tracking 1Z{n6}{n6}",
    "ticket {n5}",
    "ratio 3:2",
    "page 12 of 40",
]
TEMPLATES = [
    "Hi, my {a} is {x} and I was charged twice {neg}.",
    "Please update {a}: {x}. Also {b} {y}, thanks {neg}.",
    "Refund to {a} {x} {neg} please; contact {b} {y} or {c} {z}.",
    "The app crashed {neg} right after I entered {a} {x}.",
]
LABEL = {
    "EMAIL": "email",
    "PHONE": "phone",
    "CREDIT_CARD": "card",
    "US_SSN": "SSN",
    "IBAN": "IBAN",
    "IP_ADDRESS": "IP",
    "URL": "link",
}


@dataclass(frozen=True)
class Row:
    """One labelled text: spans are (entity, start, end)."""

    text: str
    spans: tuple[tuple[str, int, int], ...]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _phone(rng: random.Random) -> str:
    region = rng.choice(["US", "US", "US", "GB", "DE", "FR", "IN", "BR"])
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    while True:
        national = str(example.national_number)
        candidate = national[:3] + _digits(rng, len(national) - 3)
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            break
    if region == "US" and rng.random() < 0.6:
        fmt = phonenumbers.PhoneNumberFormat.NATIONAL
    else:
        fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    body = prefix + _digits(rng, length - len(prefix) - 1)
    digits = next(body + d for d in "0123456789" if luhn_valid(body + d))
    sep = rng.choice(["", " ", "-"])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    sep = rng.choice(["-", "-", " "])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def _iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("DE", _digits(rng, 18)),
            ("GB", "WEST" + _digits(rng, 14)),
            ("FR", _digits(rng, 23)),
            ("NL", "ABNA" + _digits(rng, 10)),
        ]
    )
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    iban = f"{country}{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(4)]
    return f"2001:db8:{groups[0]}::{':'.join(groups[1:])}"


def _url(rng: random.Random) -> str:
    host = rng.choice(["acme-shop", "help.example", "portal.mybank", "files.cloud"])
    path = rng.choice(["", "/reset?token=" + _digits(rng, 8), "/orders/" + _digits(rng, 6)])
    return rng.choice(["https://", "http://", "www."]) + host + ".com" + path


def _email(rng: random.Random) -> str:
    first = rng.choice(["jane", "li.wei", "o.brien", "marta", "k_smith"])
    return f"{first}{rng.randint(1, 999)}@{rng.choice(['example.com', 'mail.co.uk', 'web.de'])}"


MAKERS = {
    "EMAIL": _email,
    "PHONE": _phone,
    "CREDIT_CARD": _card,
    "US_SSN": _ssn,
    "IBAN": _iban,
    "IP_ADDRESS": _ip,
    "URL": _url,
}


def _negative(rng: random.Random) -> str:
    template = rng.choice(NEGATIVES)
    v = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    return template.format(n3=_digits(rng, 3), n5=_digits(rng, 5), n6=_digits(rng, 6), v=v)


def corpus(rows: int, seed: int = 11) -> list[Row]:
    """`rows` labelled texts."""
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        template = rng.choice(TEMPLATES)
        kinds = [rng.choice(list(MAKERS)) for _ in range(3)]
        values = {slot: MAKERS[k](rng) for slot, k in zip("xyz", kinds, strict=True)}
        labels = {slot: LABEL[k] for slot, k in zip("abc", kinds, strict=True)}
        text = template.format(neg=_negative(rng), **labels, **values)
        spans, cursor = [], 0
        for slot, kind in zip("xyz", kinds, strict=True):
            if "{" + slot + "}" in template:  # the slots come in order x, y, z
                start = text.index(values[slot], cursor)
                cursor = start + len(values[slot])
                spans.append((kind, start, cursor))
        out.append(Row(text, tuple(spans)))
    return out
