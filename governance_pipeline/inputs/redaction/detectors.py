"""PII detectors: offline, pattern plus validation, tuned for precision on ticket text.

* ``EMAIL``: RFC 5322 style dot-atom local part, dotted domain, alphabetic or punycode TLD.
* ``PHONE``: numbers written the national or the international way, of any region, with or
  without an extension: by shape, and by the expected regions where a bare run of digits
  needs more evidence (see :mod:`governance_pipeline.redaction.phones`).
* ``CREDIT_CARD``: 12-19 digits, grouped by single spaces or hyphens as cards are printed,
  Luhn-valid, and of a length that a scheme issues from the range the number starts with
  (12 digits: Maestro only; 16: every scheme; never a leading 0).
* ``US_SSN``: ``AAA-GG-SSSS`` or ``AAA GG SSSS`` with issuable area, group and serial; nine
  bare digits only right after the words SSN or social security.
* ``IBAN``: country code, check digits, the country's registered length, mod-97 valid; spaces
  between groups allowed.
* ``IP_ADDRESS``: IPv4 dotted quads and IPv6 (validated by :mod:`ipaddress`); version strings
  such as ``v1.2.3.4``, ``2.14.3.1024`` or ``build 9.3.9.109`` are not addresses (nor phones).
* ``URL``: ``http(s)://`` or ``ftp://`` links and ``www.`` hosts; bare words with dots are not.

Overlaps are resolved so that each character belongs to at most one finding: the longer span
wins; on a tie, the order of :data:`TIE_PRIORITY`. Placeholders such as ``<EMAIL_1>`` and the
surrogates of the hash and tokenise operators are never detected.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from governance_pipeline.inputs.redaction.checksums import (
    IBAN_LENGTHS,
    iban_valid,
    luhn_valid,
    ssn_valid,
)
from governance_pipeline.inputs.redaction.phones import DEFAULT_PHONE_REGIONS, find_phones

if TYPE_CHECKING:  # ner.py imports this module: its findings are Findings too
    from governance_pipeline.inputs.redaction.ner import NerEntity

__all__ = [
    "ALL_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "Entity",
    "Finding",
    "TIE_PRIORITY",
    "detect",
    "find_pii",
]


class Entity(str, Enum):
    """PII entity types that can be detected and redacted."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CREDIT_CARD = "CREDIT_CARD"
    US_SSN = "US_SSN"
    IBAN = "IBAN"
    IP_ADDRESS = "IP_ADDRESS"
    URL = "URL"


@dataclass(frozen=True)
class Finding:
    """One detected PII span: ``text[start:end] == value``."""

    entity: Entity | NerEntity
    start: int
    end: int
    value: str


ALL_ENTITIES: tuple[Entity, ...] = tuple(Entity)
TIE_PRIORITY: dict[Entity | NerEntity, int] = {  # NER entities rank below all of these
    e: rank
    for rank, e in enumerate(
        reversed(
            [
                Entity.CREDIT_CARD,
                Entity.IBAN,
                Entity.US_SSN,
                Entity.EMAIL,
                Entity.URL,
                Entity.IP_ADDRESS,
                Entity.PHONE,
            ]
        )
    )
}

_MIN_CARD, _MAX_CARD = 12, 19
# Which issuer ranges (ISO/IEC 7812 IIN prefixes) issue cards of each length, from the schemes'
# published tables; 16 digits: every scheme (MII 7 is petroleum, 9 national: only Troy's 9792).
_MAESTRO = ("50", "56", "57", "58", "6")
_CARD_PREFIXES: dict[int, tuple[str, ...]] = {
    12: _MAESTRO,
    13: ("4", *_MAESTRO),
    14: ("30", "36", "38", "39", *_MAESTRO),
    15: ("1", "2014", "2149", "34", "37", *_MAESTRO),  # UATP, enRoute, Amex, Maestro
    16: ("2", "3", "4", "5", "6", "81", "82", "9792"),
    17: ("2", "3", "4", "5", "6", "81"),
    18: ("2", "3", "4", "5", "6", "81"),
    19: ("2", "3", "4", "5", "6", "81"),
}
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-.")  # and dots
_EMAIL_DOMAIN_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})(?![A-Za-z0-9-])",
    re.IGNORECASE,
)
_DIGIT_RUN_RE = re.compile(r"\d+(?:[ -]\d+)*")
_DIGIT_GROUP_RE = re.compile(r"\d+")
_NO_SEPARATORS = str.maketrans("", "", " \t().-/+")
_ANY_DIGIT_RE = re.compile(r"\d")
# Not inside a longer run of digit groups ("+591 800 17 1234" is a phone).
_SSN_RE = re.compile(r"(\d{3})([- ])(\d{2})\2(\d{4})")
_SSN_CONTEXT_RE = re.compile(
    r"(?i)\b(?:ssn|social security(?: number| no\.?)?)(?:\W+(?:is|was|number|no\.?|#)){0,2}"
    r"\W{0,5}(\d{9})\b"
)
_IBAN_START_RE = re.compile(r"([A-Za-z]{2})(\d{2})(?= ?[A-Za-z0-9])")
_IPV4_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6_RE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:][0-9A-Fa-f:.]*[0-9A-Fa-f:](?![\w])")
_URL_RE = re.compile(
    r"(?i)\b(?:(?:https?|ftp)://|www\.(?=[a-z0-9-]+\.[a-z]))[^\s<>\"'`{}|\\^\[\]]+"
)
_URL_TRAILING = ".,;:!?)'\""
# A dotted number right after one of these words is a version, not an address or a phone.
_VERSION_CONTEXT = re.compile(r"(?i)(?:\bv|\b(?:build|version|ver|release|firmware)[\s:]*)$")


def _is_version(text: str, start: int) -> bool:
    return bool(_VERSION_CONTEXT.search(text, max(0, start - 12), start))


def _email(text: str) -> Iterator[Finding]:
    """From each @, the dot-atom local part before it and the domain after it (looked for
    only around an @: a pattern tried at every letter of a text costs more than the rest)."""
    at, floor = text.find("@"), 0  # floor: where the last email ended
    while at >= 0:
        start = at
        while start > floor and text[start - 1] in _ATEXT:
            start -= 1
        local = text[start:at]
        if ".." in local:  # the dot-atom begins after the last double dot
            start = at - len(local.rsplit("..", 1)[1])
            local = text[start:at]
        while local.startswith("."):
            start, local = start + 1, local[1:]
        domain = _EMAIL_DOMAIN_RE.match(text, at + 1)
        if local and not local.endswith(".") and domain:
            yield Finding(Entity.EMAIL, start, domain.end(), text[start : domain.end()])
            floor = domain.end()
        at = text.find("@", max(at + 1, floor))


def _phone(text: str, regions: tuple[str, ...], taken: list[Finding]) -> Iterator[Finding]:
    """Phone numbers outside the spans already taken by the other detectors."""
    for start, end in find_phones(text, regions, [(f.start, f.end) for f in taken]):
        yield Finding(Entity.PHONE, start, end, text[start:end])


def _is_card(digits: str) -> bool:
    """Luhn-valid, of a length some scheme issues from the range the number starts with."""
    return digits.startswith(_CARD_PREFIXES[len(digits)]) and luhn_valid(digits)


# Numbers after these words are goods and parcels, never cards: "tracking 9400 1000 ...".
_NOT_A_CARD_BEFORE = re.compile(
    r"(?i)\b(?:tracking|parcel|shipment|consignment|isbn|ean|upc|gtin|sku|serial|imei)"
    r"\W{0,3}(?:number|no\.?|nr\.?|#)?\W{0,3}$"
)


def _card(text: str) -> Iterator[Finding]:
    """Longest Luhn-valid window of whole digit groups (12-19 digits) in each digit run, the
    groups printed as cards are (4-6 digits each but the last: not an ISBN's 978-3-16-...)."""
    for run in _DIGIT_RUN_RE.finditer(text):
        if len(run.group().translate(_NO_SEPARATORS)) < _MIN_CARD:
            continue
        before = text[run.start() - 1] if run.start() else " "
        after = text[run.end()] if run.end() < len(text) else " "
        if before == "+":  # "+9608001234567": a phone
            continue
        if before.isalpha() or before == "_" or after.isalpha() or after == "_":
            continue  # part of a code: "1Z569715569715"
        if _NOT_A_CARD_BEFORE.search(text, max(0, run.start() - 24), run.start()):
            continue
        groups = list(_DIGIT_GROUP_RE.finditer(text, run.start(), run.end()))
        # One long number grouped in fours (a parcel's 9400 1000 0000 ...) holds no card
        # after its first group.
        fours = len(groups) > 4 and all(len(g.group()) == 4 for g in groups[:-1])
        first = 0
        while first < len(groups):
            best: int | None = None
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last].group()
                if len(digits) > _MAX_CARD or (
                    last > first and not 4 <= len(groups[last - 1].group()) <= 6
                ):
                    break
                if len(digits) >= _MIN_CARD and _is_card(digits):
                    best = last
            if fours and sum(len(g.group()) for g in groups) > _MAX_CARD:
                if first == 0 and best is not None:
                    start, end = groups[0].start(), groups[best].end()
                    yield Finding(Entity.CREDIT_CARD, start, end, text[start:end])
                break
            if best is None:
                first += 1
                continue
            start, end = groups[first].start(), groups[best].end()
            yield Finding(Entity.CREDIT_CARD, start, end, text[start:end])
            first = best + 1


def _ssn(text: str) -> Iterator[Finding]:
    for m in _SSN_RE.finditer(text):
        if _inside_number(text, m.start(), m.end()):
            continue
        if ssn_valid(m.group(1) + m.group(3) + m.group(4)):
            yield Finding(Entity.US_SSN, m.start(), m.end(), m.group())
    for m in _SSN_CONTEXT_RE.finditer(text):
        if ssn_valid(m.group(1)):
            yield Finding(Entity.US_SSN, m.start(1), m.end(1), m.group(1))


def _inside_number(text: str, start: int, end: int) -> bool:
    """Whether `start:end` is part of a longer token or digit run ("+591 800 17 1234",
    "123-45-6789-0", "x123-45-6789")."""
    before = text[start - 1] if start else " "
    if before.isalnum() or before in "_+-":
        return True
    if before in " ./" and start > 1 and text[start - 2].isdigit():
        return True
    after = text[end] if end < len(text) else " "
    if after.isalnum() or after in "_-":
        return True
    return after in " ./" and text[end + 1 : end + 2].isdigit()


def _iban(text: str) -> Iterator[Finding]:
    """From each country code and check digits, read exactly the country's length of
    characters (single spaces allowed between them) and keep it if mod-97 holds."""
    for m in _IBAN_START_RE.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1).upper())
        if length is None or (m.start() and text[m.start() - 1].isalnum()):
            continue
        chars, i = [m.group(1), m.group(2)], m.end()
        count = 4
        while count < length and i < len(text):
            if text[i].isascii() and text[i].isalnum():
                chars.append(text[i])
                count += 1
            elif not (text[i] == " " and i + 1 < len(text) and text[i + 1].isalnum()):
                break
            i += 1
        at_boundary = i >= len(text) or not text[i].isalnum()
        if count == length and at_boundary and iban_valid("".join(chars)):
            yield Finding(Entity.IBAN, m.start(), i, text[m.start() : i])


def _ipv4(text: str, m: re.Match[str]) -> bool:
    """Four octets of 0-255 without leading zeros, not inside a longer dotted number."""
    before = text[m.start() - 1] if m.start() else " "
    after = text[m.end() : m.end() + 2]
    if before.isalnum() or before in "_." or after[:1].isalnum() or after[:1] == "_":
        return False
    if after[:1] == "." and after[1:2].isdigit():
        return False
    return all(o == str(int(o)) and int(o) <= 255 for o in m.group().split("."))


def _ip(text: str) -> Iterator[Finding]:
    if "." in text:
        for m in _IPV4_RE.finditer(text):
            if _ipv4(text, m) and not _is_version(text, m.start()):
                yield Finding(Entity.IP_ADDRESS, m.start(), m.end(), m.group())
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6_RE.finditer(text):
            value = m.group()  # a full address has 7 colons; a shortened one has "::"
            if value == "::" or ("::" not in value and value.count(":") != 7):
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield Finding(Entity.IP_ADDRESS, m.start(), m.end(), value)


def _url(text: str) -> Iterator[Finding]:
    if "://" in text or "www." in text.lower():
        m = _URL_RE.search(text)
        while m:
            value = m.group().rstrip(_URL_TRAILING)
            if value.count("(") < value.count(")"):  # "(see http://x.io/a)" keeps no paren
                value = value[: value.rfind(")")]
            if "." in value:
                yield Finding(Entity.URL, m.start(), m.start() + len(value), value)
            # what was cut off may hold the next link: "https://a.io/)https://b.io/"
            m = _URL_RE.search(text, m.start() + max(1, len(value)))


_DETECTORS: dict[Entity, Callable[[str], Iterator[Finding]]] = {
    Entity.EMAIL: _email,
    Entity.CREDIT_CARD: _card,
    Entity.US_SSN: _ssn,
    Entity.IBAN: _iban,
    Entity.IP_ADDRESS: _ip,
    Entity.URL: _url,
}
_NOT_PHONES = tuple(e for e in Entity if e is not Entity.PHONE)
_NEEDS_DIGITS = {Entity.PHONE: 5, Entity.CREDIT_CARD: 12, Entity.US_SSN: 9, Entity.IBAN: 2}


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep non-overlapping findings (longest first, ties by priority), sorted by start."""
    ranked = sorted(
        findings, key=lambda f: (-(f.end - f.start), -TIE_PRIORITY.get(f.entity, -1), f.start)
    )
    kept: list[Finding] = []
    for f in ranked:
        if all(f.end <= k.start or k.end <= f.start for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def _digit_count(text: str) -> int:
    ascii_digits = sum(map(text.count, "0123456789"))
    return ascii_digits if text.isascii() else len(_ANY_DIGIT_RE.findall(text))


def detect(
    text: str,
    entities: Iterable[Entity] = ALL_ENTITIES,
    *,
    regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
) -> list[Finding]:
    """Detect PII in ``text``.

    Args:
        text: The text to scan.
        entities: Entity types to look for.
        regions: Regions whose bare national numbers (digits without separators or ``+CC``)
            are read as phones; written-out numbers are found whatever their region.

    Returns:
        Non-overlapping findings sorted by start (longer span first, then
        :data:`TIE_PRIORITY`).
    """
    if not text:
        return []
    digits = _digit_count(text)
    found: list[Finding] = []
    wanted = set(entities)
    for entity in _DETECTORS:
        if entity in wanted and digits >= _NEEDS_DIGITS.get(entity, 0):
            found.extend(_DETECTORS[entity](text))
    if Entity.PHONE in wanted and digits >= _NEEDS_DIGITS[Entity.PHONE]:
        taken = [f for f in found if f.entity in _NOT_PHONES]
        found.extend(_phone(text, tuple(regions), taken))
    return resolve_overlaps(found) if len(found) > 1 else found


def find_pii(
    text: str | None,
    entities: Iterable[Entity] = ALL_ENTITIES,
    *,
    regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
) -> list[Entity]:
    """List the distinct entity types detectable in ``text`` (``None`` holds none).

    Used to prove that model inputs and outputs are PII-free.

    Returns:
        Distinct entity types found, in :class:`Entity` declaration order.
    """
    if text is None:
        return []
    present = {f.entity for f in detect(text, entities, regions=regions)}
    return [e for e in Entity if e in present]
