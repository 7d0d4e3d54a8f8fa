"""Phone numbers of an international customer base, found by shape first and by region second.

Customers write their numbers the national way (``07700 900123``, ``0865 241 9473``,
``05.06.52.16.25``, ``06-82237745``, ``0412 345 678``, ``439 4166``) or the international way
(``+41 53 147 37 99``, ``0049 30 901820``, ``011 44 20 7946 0958``), with or without extensions
(``196-655-3307x704``). Validating each against one region at ``Leniency.VALID`` misses most of
them: a number from another country, an unassigned range or a local number is not "valid". So a
number is recognised by how it is written, and ``phonenumbers`` is asked only where the writing
alone is not evidence enough:

* ``+CC``, ``00 CC`` or ``011 CC`` then 7 to 15 digits, ``CC`` an assigned country code: a phone
  (when more digits follow than a number can have, its leading groups are).
* Two or more digit groups, 7 to 14 digits, separated the way phone numbers are (spaces, dots,
  hyphens, slashes, parentheses around the first group): a phone (the lenient catch), unless
  the groups are shaped like something else: a date or a year range, a version or an ISBN (a
  one-digit group between dots or hyphens, or after ``v``/``version``/``build``), an SSN
  (``AAA-GG-SSSS``), a card (four groups of four), an amount (``1.299.000``, a currency sign or
  code beside it), or a token glued to letters (``INV-2026-01234``, ``1Z999AA1``).
* One bare group of 7 to 14 digits is an order number as often as a phone, and every such
  string is a valid number in some region (random 9-digit strings validate in some region 100%
  of the time). It is a phone only with evidence: it is valid in one of the expected regions
  (the spec's ``redaction.phone_regions``) *and* written with that region's trunk prefix
  (``0612345678``) or as a NANP number (``4155552671``), or a phone word comes just before it.
* After a phone word (``call me on``, ``Tel.:``, ``ruf mich an``, ``mi número es``) 5 digits
  are enough, in any grouping: the short numbers of small regions (``Tel.: 31234``).
* Digits right after a word naming an identifier (``order``, ``tracking no.``, ``SKU``,
  ``invoice``, ``customer id``...) are that identifier, never a phone.
* A run of more than 14 digits is split into pieces of whole groups that each validate in an
  expected region with such evidence (two numbers in a row, a number and a year); otherwise it
  is not a phone. So is what is left of a run beside a card or another value.

Spans already taken by the other detectors are cut out of a run first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber

__all__ = ["DEFAULT_PHONE_REGIONS", "find_phones", "unknown_regions"]

# A broad default: the customer bases of most international businesses. Bare digit runs are
# read against these; written-out numbers (groups, +CC) are found whatever their region.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = (
    # the Americas
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE",
    # Europe
    "GB", "IE", "DE", "AT", "CH", "LI", "FR", "BE", "NL", "LU", "IT", "ES", "PT", "DK", "SE",
    "NO", "FI", "IS", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "HR", "SI", "EE", "LV", "LT",
    "CY", "MT", "RS", "UA", "TR",
    # Middle East and Africa
    "IL", "AE", "SA", "EG", "ZA", "NG", "KE", "MA",
    # Asia and Oceania
    "IN", "PK", "CN", "HK", "TW", "JP", "KR", "SG", "MY", "TH", "PH", "ID", "VN", "AU", "NZ",
)  # fmt: skip

_MIN_DIGITS = 7
_MIN_WORDED = 5  # after a phone word ("call me on 31234"): the short numbers of small regions
_MAX_NATIONAL = 14  # national significant number plus trunk prefix (DE 0800 1234567890)
_MAX_INTERNATIONAL = 15  # E.164, after the + or 00
_COUNTRY_CODES = frozenset(str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)

# Where a phone could be: an optional + or (, then digit groups, each separated from the next
# by a space, a dot, a hyphen, a slash or parentheses ("(415) 555-2671", "089/1234567",
# "0412 - 345 - 678"); a spaced slash separates two items ("415-555-2671 / 4111..."), a dot
# and a space two sentences ("ref 1Z999AA1. 0865 241 9473").
_SEPARATOR = r"(?:\)[ \t]?[.\-/]?[ \t]?\(?|[ \t]?-[ \t]?\(?|\.\(?|/\(?|[ \t]\(?)"
_RUN = re.compile(rf"[+(]?\d+(?:{_SEPARATOR}\d+)*\)?")
_GROUP = re.compile(r"\d+")
_NOT_BEFORE = frozenset("#$€£¥₹₽¢₩₺_")
_EXTENSION = re.compile(r"[ \t]*(?:x|ext\.?|extn\.?|extension|#)[ \t]*\d{1,6}(?!\w)", re.I)
_DATE = re.compile(
    r"(?<![\d.\-/])(?:"
    r"(?:1[89]|20)\d\d([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"  # 2024-03-15
    r"|(?:0?[1-9]|[12]\d|3[01])([-/.])(?:0?[1-9]|1[0-2])\2(?:(?:1[89]|20)\d\d|\d\d)"  # 15.03.2024
    r"|(?:0?[1-9]|1[0-2])([-/.])(?:0?[1-9]|[12]\d|3[01])\3(?:(?:1[89]|20)\d\d|\d\d)"  # 03/15/24
    r"|(?:1[89]|20)\d\d[ \t]?[-/–][ \t]?(?:(?:1[89]|20)\d\d|\d\d)"  # 2019-2024, 2024/25
    r")(?:[ T]\d{1,2}:\d\d(?::\d\d)?)?(?!\d|[-/.]\d)"
)
_VERSION_BEFORE = re.compile(r"(?i)(?:\bv|\b(?:build|version|ver|release|firmware)[\s:]*)$")
_CURRENCY = "$€£¥₹₽¢₩₺"
_CURRENCY_AFTER = re.compile(
    r"[ \t]?(?:[$€£¥₹₽¢₩₺]|(?:EUR|USD|GBP|CHF|JPY|SEK|NOK|DKK|PLN|CZK|HUF|RON|kr|zł|Kč|Ft|lei)\b)"
)
# An amount grouped by thousands: "1.299.000", "12.500.000,00" (not "612.345.678": a count of
# hundreds of millions is rarer in a ticket than a phone written with dots).
_THOUSANDS = re.compile(r"[1-9]\d?(?:[.,']\d{3})+(?:[.,]\d{1,2})?")
_NANP_WRITTEN = re.compile(r"(?:1[ .\-]?)?(?:\(\d{3}\) ?|\d{3}[ .\-])\d{3}[ .\-]\d{4}")
_SSN_SHAPE = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_WORD = re.compile(r"\w+")
_PLACEHOLDER = re.compile(r"<[^<>\s]*>")
_CLAUSE_END = re.compile(r"[|;!?\n]|\.\s")
# Stems of phone words in a few languages: "call me at", "Tel.:", "ruf mich an", "mi número".
_PHONE_STEMS = (
    "phone", "tel", "mobile", "mob", "cell", "call", "ring", "whats", "fax", "sms", "text",
    "reach", "contact", "kontakt", "dial", "handy", "portable", "móvil", "movil", "celular",
    "numéro", "número", "nummer", "number", "ruf", "anruf", "appel", "llam", "chiam",
)  # fmt: skip
# Digits right after a word naming an identifier are that identifier: "order 14-08567-12345",
# "tracking no. 2252617921", "SKU 66-4317-50".
_ID_WORDS = frozenset(
    "order invoice inv tracking parcel shipment consignment serial ticket case ref reference "
    "account acct sku isbn ean upc gtin booking reservation confirmation transaction receipt "
    "policy item part model batch lot version build".split()
)
_ID_SUFFIXES = frozenset(["number", "no", "nr", "id", "code"])
_ID_HOLDERS = _ID_WORDS | {"customer", "member", "client"}


def unknown_regions(regions: Iterable[str]) -> list[str]:
    """The codes among `regions` that ``phonenumbers`` does not know (e.g. ``UK`` for ``GB``)."""
    return [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]


def find_phones(
    text: str, regions: Sequence[str], taken: Iterable[tuple[int, int]] = ()
) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers in `text` (see the module docstring for the rules).

    Args:
        text: The text to scan.
        regions: Expected regions (ISO 3166 codes as ``phonenumbers`` spells them).
        taken: Spans already found as other entities; a phone never overlaps one.
    """
    taken = sorted(taken)
    regions = tuple(regions)
    for run in _RUN.finditer(text):
        start, end = run.start(), run.end()
        if end - start < _MIN_WORDED:
            continue
        before = text[start - 1] if start else " "
        if before in _NOT_BEFORE or before.isalpha():  # "#10234", "$129.00", "A1234567"
            continue
        if sum(map(run.group().count, "0123456789")) < _MIN_WORDED and (
            run.group().isascii() or sum(ch.isdigit() for ch in run.group()) < _MIN_WORDED
        ):
            continue
        if _id_before(text, start):
            continue
        cut = any(lo < end and start < hi for lo, hi in taken)
        dates = [(m.start(), m.end()) for m in _DATE.finditer(text, start, end)]
        barriers = sorted([*taken, *dates]) if dates else taken
        for lo, hi in _cut(text, start, end, barriers):
            yield from _judge(text, lo, hi, regions, cut=cut)


def _cut(
    text: str, start: int, end: int, barriers: list[tuple[int, int]]
) -> Iterator[tuple[int, int]]:
    """The pieces of the run `start:end` outside the barriers, trimmed to digits (keeping a
    leading + or an opening parenthesis)."""
    cursor = start
    for lo, hi in barriers:
        if hi <= cursor or lo >= end:
            continue
        if lo > cursor:
            yield from _trimmed(text, cursor, lo)
        cursor = max(cursor, hi)
    if cursor < end:
        yield from _trimmed(text, cursor, end)


def _trimmed(text: str, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    while lo < hi and not (text[lo].isdigit() or text[lo] in "+("):
        lo += 1
    while hi > lo and not text[hi - 1].isdigit():
        hi -= 1
    if text[lo:hi].count("(") > text[lo:hi].count(")") and text[hi : hi + 1] == ")":
        hi += 1
    if hi > lo:
        yield lo, hi


def _judge(
    text: str, lo: int, hi: int, regions: tuple[str, ...], *, cut: bool = False
) -> Iterator[tuple[int, int]]:
    """The phones in the piece `text[lo:hi]`; `cut` when the piece is what is left of a digit
    run beside a card or another value: then only a number with evidence counts."""
    piece = text[lo:hi]
    if _glued(text, lo, hi) or _after_currency(text, lo, hi):
        return
    groups = [(m.start() + lo, m.end() + lo, m.group()) for m in _GROUP.finditer(piece)]
    digits = "".join(g for _, _, g in groups)
    if len(digits) < _MIN_WORDED:
        return
    ext = _EXTENSION.match(text, hi)
    end = ext.end() if ext else hi
    plus = piece.lstrip("(").startswith("+")
    dialled = digits.startswith("00") and (
        (len(groups[0][2]) <= 5 and len(groups) > 1) or (len(groups) == 1 and digits[2:3] != "0")
    )  # "00 44 20 ...", "0044 20 ...", "00442079460958"
    if plus or dialled:
        yield from _international_run(text, lo, end, groups, plus, regions)
        return
    if groups[0][2] == "011" and len(groups) > 1:
        if _international(digits[3:]):
            yield lo, end
        return
    if len(digits) > _MAX_NATIONAL:
        yield from _split(text, groups, regions)
        return
    if len(digits) >= _MIN_DIGITS:
        if len(groups) == 1:
            found = _valid_with_evidence(digits, regions)
        elif cut:  # beside a card: "(201) 555-0123 4111 ...", not a parcel number's tail
            found = _valid_with_evidence(digits, regions, written=piece)
        else:
            found = _phone_shaped(text, lo, piece, extension=ext is not None)
        if found:
            yield lo, end
            return
    if _phone_word_before(text, lo):  # "call me on 31234", "Tel.: 0800 123 4 56"
        if len(groups) == 1 or _phone_shaped(text, lo, piece, extension=True, worded=True):
            yield lo, end


def _international_run(
    text: str,
    lo: int,
    end: int,
    groups: list[tuple[int, int, str]],
    plus: bool,
    regions: tuple[str, ...],
) -> Iterator[tuple[int, int]]:
    """A +CC or 00 CC number; when more digits follow than a number can have, the longest
    leading groups that make one, and the rest judged on its own."""
    digits = "".join(g for _, _, g in groups)
    national = digits if plus else digits[2:]
    if _international(national):
        yield lo, end
        return
    count = 0 if plus else -2
    for i, (_, _, group) in enumerate(groups):
        count += len(group)
        if count > _MAX_INTERNATIONAL:
            if i == 0:
                return
            head = "".join(g for _, _, g in groups[:i])
            if _international(head if plus else head[2:]):
                yield lo, groups[i - 1][1]
                yield from _judge(text, groups[i][0], end, regions)
            return


def _international(digits: str) -> bool:
    return _MIN_DIGITS <= len(digits) <= _MAX_INTERNATIONAL and any(
        digits[:n] in _COUNTRY_CODES for n in (1, 2, 3)
    )


def _glued(text: str, lo: int, hi: int) -> bool:
    """Whether the piece is part of a word-like token: `INV-2026-01234`, `1Z999`, `v2.1`."""
    before = text[lo - 1] if lo > 0 else " "
    if before.isalnum() or before == "_":
        return True
    if before in "-/._" and lo > 1 and (text[lo - 2].isalnum() or text[lo - 2] == "_"):
        return True
    if before == "," and lo > 1 and text[lo - 2].isdigit():  # "$1,299.00"
        return True
    after = text[hi] if hi < len(text) else " "
    if after.isalnum() or after == "_":
        return not _EXTENSION.match(text, hi)
    nxt = text[hi + 1] if hi + 1 < len(text) else " "
    return after in "-/_" and (nxt.isalnum() or nxt == "_")


def _after_currency(text: str, lo: int, hi: int) -> bool:
    """An amount: a currency sign before ("€ 12 500"), or a sign or code after ("81 164 kr")."""
    head = text[max(0, lo - 2) : lo].strip()
    return (bool(head) and head[-1] in _CURRENCY) or bool(_CURRENCY_AFTER.match(text, hi))


def _phone_shaped(text: str, lo: int, piece: str, *, extension: bool, worded: bool = False) -> bool:
    """The lenient catch: grouped digits that read as a phone number and as nothing else
    (`worded`: after a phone word, an amount's or a card's grouping is a phone's too)."""
    body = piece.replace("(0)", " ")  # "+44 (0)20 ..." keeps no one-digit group
    groups = _GROUP.findall(body)
    if len(groups) < 2:
        return False
    # one-digit groups inside: "21 23 4 56789", "8 (71234) 5 67 89"; with hyphens only after
    # a phone word ("Tel.: 21-23-4-51260"), with dots never (versions, IP addresses)
    loose = not re.search(r"[.\-/]", body) or (worded and not re.search(r"[./]", body))
    if any(len(g) == 1 for g in groups[1:]) and not (loose and len(groups[-1]) > 1):
        return False  # ISBNs, versions, IPs, codes: "978-3-16-148410-0", "2.14.3.1024"
    if _SSN_SHAPE.fullmatch(piece) and not extension:  # left to the SSN detector
        return False
    if worded:
        return True
    card_like = len(groups) >= 3 and all(len(g) == 4 for g in groups[:3])
    if card_like and groups[0][0] != "0":  # a card's grouping (no card starts with 0)
        return False
    if "." in piece:
        if _VERSION_BEFORE.search(text, max(0, lo - 12), lo) or _THOUSANDS.fullmatch(piece):
            return False
    return True


def _words_before(text: str, lo: int) -> list[str]:
    """The last few words of the clause before `lo`, lower-cased, placeholders (<PHONE_1>)
    left out."""
    head = text[max(0, lo - 40) : lo]
    if ">" in head:
        head = _PLACEHOLDER.sub(" ", head)
    head = _CLAUSE_END.split(head)[-1]
    return _WORD.findall(head.lower())[-5:]


def _id_before(text: str, lo: int) -> bool:
    """Whether the digits at `lo` follow a word naming an identifier: "order 14-08567-12345",
    "tracking no. 2252617921", "customer id 1234567" (not "customer 0412 345 678")."""
    head = text[max(0, lo - 32) : lo].lower()
    tail = head.rstrip(" \t.:#-/")
    if len(head) - len(tail) > 4:
        return False
    words = _WORD.findall(tail)[-2:]
    if not words or not tail.endswith(words[-1]):
        return False
    if words[-1] in _ID_SUFFIXES:
        return len(words) == 2 and words[0] in _ID_HOLDERS
    return words[-1] in _ID_WORDS


def _phone_word_before(text: str, lo: int) -> bool:
    """Whether a phone word comes just before ("call me at", "Tel.:", "mi número es"), with
    at most three short words between, and no identifier's name."""
    if _id_before(text, lo):
        return False
    words = _words_before(text, lo)
    for i in range(len(words) - 1, max(-1, len(words) - 5), -1):
        word = words[i]
        if any(word.startswith(stem) and len(word) - len(stem) <= 3 for stem in _PHONE_STEMS):
            return True
        if len(word) > 4 or not word.isalpha():  # "me", "at", "is" may stand between
            return False
    return False


def _split(
    text: str, groups: list[tuple[int, int, str]], regions: tuple[str, ...]
) -> Iterator[tuple[int, int]]:
    """Too many digits for one number: the pieces of whole groups that each validate with
    evidence, chosen to cover the most digits ("0865 241 9473 2027": the number, not the year)."""
    n = len(groups)
    none: list[tuple[int, int]] = []
    best: list[tuple[int, list[tuple[int, int]]]] = [(0, none)] + [(-1, none)] * n
    for i in range(n):
        covered, spans = best[i]
        if best[i + 1][0] < covered:  # group i belongs to no phone
            best[i + 1] = (covered, spans)
        digits = ""
        for j in range(i, n):
            digits += groups[j][2]
            if len(digits) > _MAX_NATIONAL:
                break
            gain = covered + len(digits)
            if (
                len(digits) >= _MIN_DIGITS
                and best[j + 1][0] < gain
                and _valid_with_evidence(digits, regions)
            ):
                best[j + 1] = (gain, [*spans, _with_brackets(text, groups[i][0], groups[j][1])])
    yield from best[n][1]


def _with_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to a + or an opening parenthesis before it (and the closing one)."""
    if start > 0 and text[start - 1] == "+":
        return start - 1, end
    if start > 0 and text[start - 1] == "(":
        return start - 1, end + (text[end : end + 1] == ")")
    return start, end


@cache
def _region_table(
    regions: tuple[str, ...],
) -> list[tuple[str, str, int, re.Pattern[str] | None]]:
    """Per region: its trunk prefix, its country code and, where taking the trunk prefix off
    is all that parsing does, a pattern that every valid national number matches."""
    table: list[tuple[str, str, int, re.Pattern[str] | None]] = []
    for region in regions:
        meta = PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.country_code is None:
            continue
        trunk = meta.national_prefix or ""
        simple = meta.national_prefix_for_parsing in (None, trunk)
        pattern = meta.general_desc.national_number_pattern if meta.general_desc else None
        quick = re.compile(pattern) if simple and pattern else None
        table.append((region, trunk, meta.country_code, quick))
    return table


def _valid_with_evidence(digits: str, regions: tuple[str, ...], written: str = "") -> bool:
    """Whether bare `digits` is a valid number of an expected region, written with that
    region's trunk prefix, or a valid NANP number (10 digits, or 11 starting with 1; when
    `written` is given, only as NANP numbers are written: "(201) 555-0123", "201-555-0123")."""
    if written and not _NANP_WRITTEN.fullmatch(written):
        return _valid(digits, regions, nanp=False)
    return _valid(digits, regions, nanp=True)


@lru_cache(maxsize=65_536)
def _valid(digits: str, regions: tuple[str, ...], *, nanp: bool) -> bool:
    nanp = nanp and (
        (len(digits) == 10 and digits[0] in "23456789") or (len(digits) == 11 and digits[0] == "1")
    )
    for region, trunk, country_code, quick in _region_table(regions):
        is_nanp = trunk == "1"
        if is_nanp and not nanp:
            continue
        if not is_nanp and not (trunk and digits.startswith(trunk)):
            continue
        national = digits[len(trunk) :] if digits.startswith(trunk) else digits
        if quick is not None:
            if not quick.fullmatch(national):
                continue
            if national[:1] != "0":  # what parse would build, without parsing again
                number = PhoneNumber(country_code=country_code, national_number=int(national))
                if phonenumbers.is_valid_number(number):
                    return True
                continue
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False
