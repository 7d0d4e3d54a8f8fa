"""The second line of proof: a PII tripwire for model inputs that shares no code with the redactor.

The blocking no_pii check once scanned model inputs with the redactor's own detectors, so a
value the redactor missed was missed again and the check passed. This module is written apart
from them on purpose: broad shapes instead of validated formats, its own checksum, and nothing
imported from `governance_pipeline` (a test holds it to that). It looks at text that has been
redacted already, where none of these shapes should be left, so it can afford to be blunt:

| entity      | flagged when the redacted text still holds                                      |
|-------------|---------------------------------------------------------------------------------|
| PHONE       | 7+ digits in groups joined by spaces, dots, hyphens, slashes or parentheses;    |
|             | a ``+`` and 7+ digits; a bare run of 8+ digits                                  |
| US_SSN      | 9 digits as ``AAA-GG-SSSS`` or ``AAA GG SSSS``; a bare run of 9 digits          |
| CREDIT_CARD | 12-19 digits (single spaces or hyphens between groups) passing the Luhn check   |
| EMAIL       | an ``@`` between word characters                                                |
| IBAN        | two letters, two digits, 11-30 more letters or digits (groups of four allowed), |
|             | one case throughout                                                             |
| IP_ADDRESS  | four dot-separated numbers up to 255; hex groups with one ``::`` or 7 colons    |
| URL         | ``scheme://`` or ``www.``                                                       |

A phone's digit groups are not flagged when they are shaped as a type the spec does not claim
(an SSN, a Luhn-valid card: the spec lets those through), nor when they are a calendar date or
a date and time, a year range, a dotted version (a one-digit group, or after ``v``/``version``/
``build``), an amount grouped by thousands or beside a currency, part of a code glued to letters
(``INV-2026-01234``, ``0x80070005``), or right after a word naming an identifier (``order``,
``tracking no.``, ``SKU``, ``ISBN``, ``EAN``...): the numbers tickets are full of and phone
numbers never follow.
Placeholders and surrogates (``<PHONE_1>``, ``<NAME_1>``, ``<EMAIL_H_qkxb...>``) are blanked
before anything is looked for, so they never trip it, and nothing glues to them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["KINDS", "Suspect", "redact", "suspects"]

# What each kind of suspect stands for, by the entity type names the spec uses.
KINDS: dict[str, str] = {
    "PHONE": "phone-shaped digits",
    "US_SSN": "SSN-shaped digits",
    "CREDIT_CARD": "a Luhn-valid card-length number",
    "EMAIL": "an @ between words",
    "IBAN": "an IBAN-shaped token",
    "IP_ADDRESS": "an IP-shaped address",
    "URL": "a link",
}
_MARKER = "\x1f"  # what blanked placeholders and dates become: no digit, letter or separator
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*?_(?:\d{1,4}|[HT]_[a-z]{4,64})>")
# Digit groups joined by spaces, hyphens, slashes, parentheses or a dot (not a dot and a space:
# that ends a sentence).
_DIGITS = re.compile(r"\+?\(?\d+(?:(?:[ \t]?[-/][ \t]?|\)[ \t]?|[ \t]?\(|\.|[ \t])\(?\d+)*")
_NUMBER = re.compile(r"\d+")
_ANY_DIGIT = re.compile(r"\d")
_DATE = re.compile(
    r"(?<![\d.\-/])(\d{4}|\d{1,2})([-./])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?(?![\d]|[-./]\d)"
)
_YEARS = re.compile(r"(?<![\d.\-/])(?:19|20)\d\d ?[-–/] ?(?:(?:19|20)\d\d|\d\d)(?![\d]|[-./]\d)")
_VERSION = re.compile(r"(?i)(?:\bv|\b(?:version|ver|build|release|firmware|v\.)\s*:?\s*)$")
_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?")
_SSN = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_CARD = re.compile(r"\d+(?:[ -]\d+)*")
_EMAIL = re.compile(r"[\w.+'-]*\w@\w[\w.-]*")
# Two letters, two digits, then 11-30 letters or digits, compact or in groups of four; one case
# throughout (a mixed-case token is a key or a word, not an account).
_IBAN_BODY = (
    r"[{A}]{{2}}\d{{2}}(?:[{A}0-9]{{11,30}}|(?: [{A}0-9]{{4}}){{2,7}}(?: [{A}0-9]{{1,4}})?)"
)
_IBAN = re.compile(
    rf"(?<![^\W_])(?:{_IBAN_BODY.format(A='A-Z')}|{_IBAN_BODY.format(A='a-z')})(?![^\W_])"
)
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")  # the boundaries are checked after
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.\-]*://|www\.)\S+")
_ID_WORD = re.compile(
    r"(?i)\b(?:order|invoice|inv|ref|reference|tracking|parcel|shipment|consignment|sku|isbn"
    r"|ean|upc|gtin|serial|s/n|ticket|case|booking|reservation|confirmation|transaction|txn"
    r"|receipt|policy|claim|account|acct|article|item|part|model|batch|lot|version|build"
    r"|(?:customer|client|member|user)\s*(?:number|no\.?|nr\.?|#|id)|id)"
    r"(?:\s*(?:number|no\.?|nr\.?|#|id|code))?\W{0,3}$"
)
_EXTENSION = re.compile(r"(?i)(?:x|ext\.?)\s*\d{1,6}(?!\w)")
_CURRENCY = re.compile(r"[$€£¥₹₽₩₺]|\b(?:EUR|USD|GBP|CHF|JPY|INR|AUD|CAD|SEK|NOK|DKK|PLN|kr|zł)\b")


@dataclass(frozen=True)
class Suspect:
    """A span of text shaped like a value of `entity` (the spec's type name)."""

    entity: str
    start: int
    end: int


def suspects(text: str | None, entities: Collection[str]) -> list[Suspect]:
    """Every span of `text` shaped like PII of the `entities` (names such as ``"PHONE"``).

    Args:
        text: Redacted text (a model input value).
        entities: The entity type names the spec claims to redact.

    Returns:
        Suspects in order of their start; they may overlap.
    """
    if not text:
        return []
    plain = _PLACEHOLDER.sub(_blank, text) if "<" in text else text
    found: list[Suspect] = []
    if "EMAIL" in entities and "@" in plain:
        found += [Suspect("EMAIL", m.start(), m.end()) for m in _EMAIL.finditer(plain)]
    if "URL" in entities and ("://" in plain or "www." in plain.lower()):
        found += [Suspect("URL", m.start(), m.end()) for m in _URL.finditer(plain)]
    if "IBAN" in entities:
        found += [Suspect("IBAN", m.start(), m.end()) for m in _IBAN.finditer(plain)]
    if "IP_ADDRESS" in entities:
        found += _ips(plain)
    if _digits(plain) >= 7:
        numbers = _blank_ids(_blank_dates(plain))
        if "CREDIT_CARD" in entities:
            found += _cards(numbers)
        if "PHONE" in entities or "US_SSN" in entities:
            found += _digit_runs(numbers, entities)
    return sorted(found, key=lambda s: (s.start, s.end))


def _blank(m: re.Match[str]) -> str:
    return _MARKER * (m.end() - m.start())


def _digits(text: str) -> int:
    ascii_digits = sum(map(text.count, "0123456789"))
    return ascii_digits if text.isascii() else len(_ANY_DIGIT.findall(text))


def redact(text: str, entities: Collection[str]) -> tuple[str, int]:
    """`text` with every suspect replaced by ``<PII_n>``, and how many were replaced."""
    spans: list[tuple[int, int]] = []
    for s in suspects(text, entities):
        if spans and s.start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], s.end))
        else:
            spans.append((s.start, s.end))
    out, cursor = [], 0
    for n, (start, end) in enumerate(spans, 1):
        out += [text[cursor:start], f"<PII_{n}>"]
        cursor = end
    out.append(text[cursor:])
    return "".join(out), len(spans)


def _blank_dates(text: str) -> str:
    def blank(m: re.Match[str]) -> str:
        return _MARKER * len(m.group()) if _calendar(m) else m.group()

    text = _DATE.sub(blank, text)
    return _YEARS.sub(lambda m: _MARKER * len(m.group()), text)


def _blank_ids(text: str) -> str:
    """`text` with every digit run that follows an identifier's name blanked."""
    out = list(text)
    for m in _DIGITS.finditer(text):
        if _ID_WORD.search(text, max(0, m.start() - 28), m.start()):
            out[m.start() : m.end()] = _MARKER * (m.end() - m.start())
    return "".join(out)


def _calendar(m: re.Match[str]) -> bool:
    """Whether the matched numbers are a year, a month and a day in some order."""
    a, b, c = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if len(m.group(1)) == 4:
        return 1 <= b <= 12 and 1 <= c <= 31
    day_month = 1 <= a <= 31 and 1 <= b <= 12
    month_day = 1 <= a <= 12 and 1 <= b <= 31
    return day_month or month_day


def _digit_runs(text: str, entities: Collection[str]) -> list[Suspect]:
    out = []
    phone, ssn = "PHONE" in entities, "US_SSN" in entities
    for m in _DIGITS.finditer(text):
        start, end = m.start(), m.end()
        groups = list(_NUMBER.finditer(text, start, end))
        if _glued_after(text, end, groups[-1].group()):  # "... 0x80070005": not its "0"
            groups.pop()
            if not groups:
                continue
            end = groups[-1].end()
        if _glued_before(text, start):
            continue
        run = text[start:end]
        count = sum(len(g.group()) for g in groups)
        if count < 7:
            continue
        ssn_shaped = bool(_SSN.fullmatch(run))
        if ssn and (ssn_shaped or (len(groups) == 1 and count == 9)):
            out.append(Suspect("US_SSN", start, end))
        if not phone or _unclaimed_shape(run, ssn_shaped, entities):
            continue
        if run.startswith("+") or (len(groups) == 1 and count >= 8):
            out.append(Suspect("PHONE", start, end))
        elif len(groups) > 1 and not _not_a_phone(text, start, end, [g.group() for g in groups]):
            out.append(Suspect("PHONE", start, end))
    return out


def _unclaimed_shape(run: str, ssn_shaped: bool, entities: Collection[str]) -> bool:
    """Digits shaped as a type the spec does not claim (an SSN, a card): the spec lets them
    through, so they are no phone's leftovers either."""
    if ssn_shaped and "US_SSN" not in entities:
        return True
    if "CREDIT_CARD" in entities or run[:1] in "+0(":
        return False
    groups = [len(g) for g in _NUMBER.findall(run)]
    printed = (  # as cards are printed: bare, in fours, or 4-6-4 and 4-6-5
        len(groups) == 1
        or all(n == 4 for n in groups[:-1])
        or (len(groups) == 3 and groups[:2] == [4, 6])
    )
    compact = "".join(_NUMBER.findall(run))
    return printed and 12 <= len(compact) <= 19 and _luhn(compact)


def _not_a_phone(text: str, start: int, end: int, groups: list[str]) -> bool:
    """Grouped digits that are a version, an IP address or an amount."""
    run = text[start:end]
    if set(re.sub(r"\d", "", run)) == {"."}:
        if _VERSION.search(text[max(0, start - 12) : start]) or min(map(len, groups)) == 1:
            return True
        if len(groups) == 4 and all(int(g) <= 255 for g in groups):
            return True  # an IPv4 address: the IP check's business
    if _CURRENCY.search(text[max(0, start - 2) : start]) or _CURRENCY.match(
        text[end : end + 5].lstrip()
    ):
        return True
    return bool(_THOUSANDS.fullmatch(run))


def _glued_before(text: str, start: int) -> bool:
    """A letter right before, or a letter and a hyphen or underscore: part of a code."""
    if start == 0:
        return False
    before = text[start - 1]
    if before.isalpha() or before == "_":
        return True
    return before in "-_" and start > 1 and text[start - 2].isalpha()


def _glued_after(text: str, end: int, last: str) -> bool:
    """A letter right after the last group that does not start an extension (``x704``)."""
    if end >= len(text) or not (text[end].isalpha() or text[end] == "_"):
        return False
    return len(last) < 2 or not _EXTENSION.match(text, end)


def _cards(text: str) -> list[Suspect]:
    """Windows of whole digit groups, 12-19 digits, that pass the Luhn check (not after a +:
    that is a phone number, and flagged as one)."""
    out = []
    for m in _CARD.finditer(text):
        if m.end() - m.start() < 12 or (m.start() and text[m.start() - 1] == "+"):
            continue
        groups = [(g.start() + m.start(), g.end() + m.start(), g.group()) for g in
                  _NUMBER.finditer(m.group())]  # fmt: skip
        for i in range(len(groups)):
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j][2]
                if len(digits) > 19:
                    break
                if len(digits) >= 12 and _luhn(digits):
                    out.append(Suspect("CREDIT_CARD", groups[i][0], groups[j][1]))
    return out


def _luhn(digits: str) -> bool:
    values = [unicodedata.digit(ch) for ch in digits]
    total = 0
    for i, value in enumerate(reversed(values)):
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _ips(text: str) -> list[Suspect]:
    out = []
    if "." in text:
        for m in _IPV4.finditer(text):
            before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 2]
            if before.isdigit() or before == "." or after[:1].isdigit():
                continue
            if after[:1] == "." and after[1:].isdigit():
                continue
            octets = m.group().split(".")
            if all(int(o) <= 255 for o in octets) and not _VERSION.search(
                text[max(0, m.start() - 12) : m.start()]
            ):
                out.append(Suspect("IP_ADDRESS", m.start(), m.end()))
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            value = m.group()
            groups = [g for g in value.split(":") if g]
            shaped = value.count("::") == 1 or (value.count(":") == 7 and "::" not in value)
            if shaped and groups and any(ch.isdigit() for ch in value):
                out.append(Suspect("IP_ADDRESS", m.start(), m.end()))
    return out
