"""Labelled corpora for PII recall and precision: ticket sentences with every span known.

`corpus` is the first, written in the formats the detectors were built for; it scores what they
promise. `public_corpus` is the second, written from public formats the detectors were not
written against (see its docstring); it scores what they meet.

In the first, each row mixes one to three PII values of the seven detected types (emails, US and
international phones, cards, SSNs, IBANs, IPv4 and IPv6 addresses, URLs) with the things a
detector must leave alone (dates, times, prices, order and invoice numbers, version strings,
tracking ids). Values are valid by construction (Luhn, mod-97, issuable SSNs, numbers that
``phonenumbers`` accepts), so a miss is a miss. Deterministic for a seed.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from typing import Any

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
    """One labelled text: spans are (entity, start, end); `names` are the row's known names
    (its `customer_name`), whose occurrences are labelled NAME."""

    text: str
    spans: tuple[tuple[str, int, int], ...]
    names: tuple[str, ...] = ()


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


# --- the second corpus: public formats ---------------------------------------------------------
#
# Phone numbers: phonenumbers' example numbers of every region and type (mobile, fixed line,
# toll free), their last digits varied while the number stays valid, written the national way
# (as phonenumbers formats it, with its separators swapped for hyphens or dots, or bare) or the
# international way (+CC, E.164, 00 CC), some with an extension. Cards: the issuer ranges and
# lengths of every scheme (ISO/IEC 7812 IIN tables as published by the schemes), Luhn-valid,
# grouped the way each scheme prints them or bare. Names: people of many locales (Faker), found
# in the text whole, as a first or last name, possessive, with a middle initial, hyphenated, or
# as a title and surname; and customers whose name is an everyday word (Will Long) beside
# sentences using those words. Negatives: dates, times, amounts and ids of many countries.

PUBLIC_TEMPLATES = [
    "Hello, {x} {neg}. Regards, {name}",
    "{name} here: {x}, and also {y} {neg}.",
    "Bonjour, {x}. Merci d'avance {neg}. {name}",
    "Hallo, {x} {neg}; {y}. Viele Grüße, {name}",
    "Hola, {x} y {y}, gracias {neg}.",
    "Dear support, {name} writing {neg}. {x}; {y}; {z}",
    "Following up {neg}: {x}. {name}",
    "As I said before ({neg}), {x}.",
]
# How each kind is introduced; about a third of the phones come without a phone word.
PUBLIC_LEADS = {
    "PHONE": [
        "call me on ",
        "my mobile is ",
        "Tel.: ",
        "ruf mich an: ",
        "mon numéro: ",
        "mi número es ",
        "whatsapp ",
        "you can reach me at ",
        "",
        "the best way is ",
        "i'm at ",
    ],
    "CREDIT_CARD": ["my card ", "card no. ", "Karte ", "carte bancaire ", "tarjeta ", "paid with "],
    "EMAIL": ["email me at ", "Mail: ", "courriel ", "write to ", ""],
    "US_SSN": ["my SSN is ", "SSN: ", "social security number "],
    "IBAN": ["IBAN ", "my account is ", "IBAN: ", "refund to "],
    "IP_ADDRESS": ["my IP was ", "from ", "IP address ", "connecting from "],
    "URL": ["see ", "the link ", "page ", "I used "],
}
PUBLIC_NEGATIVES = [
    "on {d}.{m}.{Y}",
    "on {Y}-{m}-{d}",
    "on {m}/{d}/{Y}",
    "at {Y}-{m}-{d}T{H}:{M}:00Z",
    "since {d}/{m}/{Y} {H}:{M}",
    "from {Y} to {Y2}",
    "in {Y}-{Y2}",
    "for €{n3},{n2}",
    "for {n1}.{n3},{n2} €",
    "for CHF {n1}'{n3}.{n2}",
    "for {n2} {n3} kr",
    "for £{n1},{n3}.{n2}",
    "order #{n6}",
    "order 11{n1}-{n7}-{n7}",
    "order no. {n8}",
    "invoice INV-{Y}-{n5}",
    "ref. {Y}/{n5}",
    "tracking 1Z{n3}AA1{n8}",
    "tracking no. {n10}",
    "parcel 9400 1{n3} {n4} {n4} {n4} {n4} {n2}",
    "EAN {n13}",
    "ISBN 978-3-{n2}-{n6}-{n1}",
    "version {n1}.{n2}.{n1}",
    "build {n1}.{n2}.{n1}.{n4}",
    "error 0x{h8}",
    "HTTP 503",
    "postcode {n5}",
    "room {n3}",
    "qty {n2}",
    "page {n2} of {n3}",
    "ticket {n6}",
    "commit {h7}",
    "SKU {n2}-{n4}-{n2}",
    "customer id {n7}",
    "at {H}:{M}",
]
EVERYDAY_NAMES = ["Will Long", "Rose Hill", "Mark Price", "Grace Young", "Bill Page", "May Stone"]
EVERYDAY_SENTENCES = [
    "I will be long gone by then",
    "the price will mark the end of it",
    "prices rose and the hill was steep",
    "may I ask for grace, we are young",
    "the page shows a bill of stone",
]
_PHONE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
)
# (scheme, IIN prefixes, lengths, grouping of 16 / other lengths) from the schemes' tables.
CARD_SCHEMES = [
    ("Visa", ["4"], [13, 16, 19]),
    ("Mastercard", ["51", "52", "53", "54", "55", "2221", "2500", "2720"], [16]),
    ("American Express", ["34", "37"], [15]),
    ("Discover", ["6011", "644", "649", "65"], [16, 17, 18, 19]),
    ("JCB", ["3528", "3550", "3589"], [16, 17, 18, 19]),
    ("Diners Club", ["300", "305", "36", "38", "39"], [14, 16, 19]),
    ("UnionPay", ["62", "81"], [16, 17, 18, 19]),
    ("Maestro", ["5018", "5020", "5038", "5893", "6304", "6759", "6761", "6763"], [12, 13, 16, 19]),
    ("RuPay", ["60", "652", "81", "82", "508"], [16]),
    ("Mir", ["2200", "2204"], [16, 17, 18, 19]),
    ("Troy", ["9792"], [16]),
    ("Verve", ["506099", "506198", "650002", "650027"], [16, 18, 19]),
    ("UATP", ["1"], [15]),
    ("Dankort", ["5019"], [16]),
    ("Hipercard", ["606282"], [16]),
    ("Elo", ["401178", "431274", "504175", "636368"], [16]),
    ("InterPayment", ["636"], [16, 17, 18, 19]),
]
# BBAN structures from SWIFT's IBAN registry: n digits, a upper-case letters, c letters or digits.
IBAN_FORMATS = {
    "AT": "16n", "BE": "12n", "CH": "5n,12c", "CZ": "20n", "DE": "18n", "DK": "14n",
    "ES": "20n", "FI": "14n", "FR": "10n,11c,2n", "GB": "4a,14n", "GR": "7n,16c",
    "HU": "24n", "IE": "4a,14n", "IT": "1a,10n,12c", "LU": "3n,13c", "NL": "4a,10n",
    "NO": "11n", "PL": "24n", "PT": "21n", "RO": "4a,16c", "SE": "20n", "SI": "15n",
    "SK": "20n", "TR": "5n,1n,16c", "BR": "23n,1a,1c", "SA": "2n,18c", "AE": "3n,16n",
    "IL": "19n", "MT": "4a,5n,18c", "PK": "4a,16c", "UA": "6n,19c", "QA": "4a,21c",
}  # fmt: skip
_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR",
            "sv_SE", "tr_TR", "en_IN", "de_CH", "da_DK", "cs_CZ", "ro_RO"]  # fmt: skip


def _public_phone(rng: random.Random) -> str:
    while True:
        region = rng.choice(sorted(phonenumbers.SUPPORTED_REGIONS))
        example = phonenumbers.example_number_for_type(region, rng.choice(_PHONE_TYPES))
        if example is not None:
            break
    number = example
    national = str(example.national_number)
    for _ in range(20):  # vary the last digits, keeping the number valid
        keep = max(1, len(national) - 4)
        candidate = national[:keep] + _digits(rng, len(national) - keep)
        varied = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(varied):
            number = varied
            break
    fmt = phonenumbers.PhoneNumberFormat
    style = rng.random()
    if style < 0.30:
        text = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    elif style < 0.38:
        text = phonenumbers.format_number(number, fmt.E164)
    elif style < 0.43:
        text = "00" + phonenumbers.format_number(number, fmt.INTERNATIONAL)[1:]
    elif style < 0.75:
        text = phonenumbers.format_number(number, fmt.NATIONAL)
    elif style < 0.85:
        national_text = phonenumbers.format_number(number, fmt.NATIONAL)
        text = national_text.replace(" ", rng.choice(["-", "."]))
    else:
        national_text = phonenumbers.format_number(number, fmt.NATIONAL)
        text = "".join(ch for ch in national_text if ch.isdigit())
    if rng.random() < 0.07:
        text += rng.choice([" ext. ", " x", "x", " ext "]) + str(rng.randint(1, 9999))
    return text


def _public_card(rng: random.Random) -> str:
    scheme, prefixes, lengths = rng.choice(CARD_SCHEMES)
    prefix, length = rng.choice(prefixes), rng.choice(lengths)
    body = prefix + _digits(rng, length - len(prefix) - 1)
    digits = next(body + d for d in "0123456789" if luhn_valid(body + d))
    style = rng.random()
    if style < 0.3:
        return digits
    sep = rng.choice([" ", "-"])
    if scheme == "American Express" or (scheme == "UATP" and style < 0.6):
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    if scheme == "Diners Club" and length == 14:
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _public_email(rng: random.Random, fake: Any) -> str:
    style = rng.random()
    if style < 0.7:
        return fake.email()
    user = fake.user_name()
    if style < 0.85:
        return f"{user}+{rng.choice(['billing', 'shop', '2024'])}@{fake.free_email_domain()}"
    return f"{user.capitalize()}.{rng.randint(1, 99)}@{fake.domain_name(2)}".replace("..", ".")


def _public_ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    return rng.choice(
        [
            f"{area:03d}-{group:02d}-{serial:04d}",
            f"{area:03d} {group:02d} {serial:04d}",
            f"{area:03d}{group:02d}{serial:04d}",
        ]
    )


def _public_iban(rng: random.Random) -> str:
    country = rng.choice(sorted(IBAN_FORMATS))
    bban = ""
    for part in IBAN_FORMATS[country].split(","):
        count, kind = int(part[:-1]), part[-1]
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}.get(
            kind, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        )
        bban += "".join(rng.choice(alphabet) for _ in range(count))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    iban = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban.lower() if rng.random() < 0.05 else iban


def _public_ip(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if style < 0.6:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4)) + f":{rng.randint(80, 65535)}"
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if style < 0.8:
        return ":".join(groups)
    return f"{groups[0]}:{groups[1]}::{groups[6]}:{groups[7]}"


def _public_url(rng: random.Random, fake: Any) -> str:
    host = fake.domain_name(rng.choice([1, 2]))
    path = rng.choice(
        ["", "/", f"/account/{rng.randint(1, 99999)}", f"/reset?token={_digits(rng, 12)}&u=me",
         "/orders#details", f":{rng.randint(1024, 9999)}/api/v1/items", "/fr/aide/contact"]
    )  # fmt: skip
    return rng.choice(["https://", "http://", "https://www.", "www."]) + host + path


def _public_name(rng: random.Random, fake: Any) -> tuple[str, str]:
    """A customer's name and how the text writes it."""
    if rng.random() < 0.1:
        full = rng.choice(EVERYDAY_NAMES)
        first, last = full.split()
    else:
        first, last = fake.first_name(), fake.last_name()
        full = f"{first} {last}"
    initial = rng.choice("ABCDEFGHJKLMNPRSTW")
    written = rng.choice(
        [
            full,
            first,
            last,
            f"{first}'s",
            f"{full}'s",
            f"{first} {initial}. {last}",
            f"{first[0]}. {last}",
            f"{last}-{fake.last_name()}",
            f"Mr. {last}" if rng.random() < 0.5 else f"Ms. {last}",
            full.upper(),
        ]
    )
    return full, written


def public_negative(rng: random.Random) -> str:
    """A date, time, amount or id of the second corpus: what a detector must leave alone."""
    template = rng.choice(PUBLIC_NEGATIVES)
    year = rng.randint(1990, 2030)
    fixed = {
        "d": f"{rng.randint(1, 28):02d}",
        "m": f"{rng.randint(1, 12):02d}",
        "Y": str(year),
        "Y2": str(year + rng.randint(1, 5)),
        "H": f"{rng.randint(0, 23):02d}",
        "M": f"{rng.randint(0, 59):02d}",
    }

    def fill(m: re.Match[str]) -> str:  # every {nK} and {hK} drawn afresh
        name = m.group(1)
        if name in fixed:
            return fixed[name]
        count = int(name[1:])
        if name[0] == "h":
            alphabet = "0123456789abcdef" if count == 7 else "0123456789ABCDEF"
            return "".join(rng.choice(alphabet) for _ in range(count))
        return str(rng.randint(1, 9)) + _digits(rng, count - 1)

    return re.sub(r"\{(\w+)\}", fill, template)


def public_corpus(rows: int, seed: int = 23) -> list[Row]:
    """`rows` labelled texts in public formats (see the comment above `PUBLIC_TEMPLATES`)."""
    from faker import Faker  # a dependency of the demo data generator

    rng = random.Random(seed)
    fakes = {}
    for locale in _LOCALES:
        fakes[locale] = Faker(locale)
        fakes[locale].seed_instance(seed)
    makers: dict[str, Any] = {
        "PHONE": lambda fake: _public_phone(rng),
        "CREDIT_CARD": lambda fake: _public_card(rng),
        "EMAIL": lambda fake: _public_email(rng, fake),
        "US_SSN": lambda fake: _public_ssn(rng),
        "IBAN": lambda fake: _public_iban(rng),
        "IP_ADDRESS": lambda fake: _public_ip(rng),
        "URL": lambda fake: _public_url(rng, fake),
    }
    weights = {"PHONE": 4, "CREDIT_CARD": 2, "EMAIL": 2, "US_SSN": 1, "IBAN": 1, "IP_ADDRESS": 1,
               "URL": 1}  # fmt: skip
    kinds_pool = [k for k, w in weights.items() for _ in range(w)]
    out = []
    for _ in range(rows):
        fake = fakes[rng.choice(_LOCALES)]
        full, written = _public_name(rng, fake)
        template = rng.choice(PUBLIC_TEMPLATES)
        pieces: dict[str, tuple[str, str, str]] = {}  # slot -> (kind, lead, value)
        for slot in "xyz":
            kind = rng.choice(kinds_pool)
            pieces[slot] = (kind, rng.choice(PUBLIC_LEADS[kind]), makers[kind](fake))
        neg = public_negative(rng)
        if full in EVERYDAY_NAMES and rng.random() < 0.5:
            neg += ", " + rng.choice(EVERYDAY_SENTENCES)
        text, spans = "", []
        for literal, field, _, _ in string.Formatter().parse(template):
            text += literal
            if field is None:
                continue
            if field == "name":
                spans.append(("NAME", len(text), len(text) + len(written)))
                text += written
            elif field == "neg":
                text += neg
            else:
                kind, lead, value = pieces[field]
                text += lead
                spans.append((kind, len(text), len(text) + len(value)))
                text += value
        out.append(Row(text, tuple(spans), (full,)))
    return out
