"""PII detection and redaction applied to text before it reaches an LLM.

Three entity types are detected, all offline:

* ``EMAIL``: a pragmatic RFC 5322 style regex (dot-atom local part, dotted domain, alphabetic or
  punycode TLD).
* ``PHONE``: ``phonenumbers.PhoneNumberMatcher`` at ``Leniency.VALID``, so numbers must be
  real, dialable numbers for the default region or carry an explicit ``+CC`` prefix. Dates,
  ticket ids and prices are therefore not reported.
* ``CREDIT_CARD``: 13-19 digits, optionally grouped by single spaces or hyphens, accepted only if
  the Luhn checksum holds.

Overlapping findings are resolved so that each character belongs to at most one finding: the
longer span wins and, on a tie, ``CREDIT_CARD`` beats ``EMAIL`` beats ``PHONE``.

:class:`Redactor` replaces findings by typed placeholders such as ``<EMAIL_1>``. Numbering is per
entity type and per row, and the same (normalised) value always maps to the same placeholder
within a row, so an LLM can still tell that two columns refer to the same person. Placeholders are
never themselves detected as PII, which :func:`find_pii` relies on to prove that model inputs and
outputs are clean.

The module is on the hot path (millions of rows), so regexes are compiled at import time and the
expensive detectors are skipped when the text holds too few digits to contain a match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

import phonenumbers

__all__ = ["Entity", "Finding", "Redactor", "detect", "find_pii", "luhn_valid"]


class Entity(str, Enum):
    """PII entity types that can be detected and redacted."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CREDIT_CARD = "CREDIT_CARD"


@dataclass(frozen=True)
class Finding:
    """One detected PII span.

    Attributes:
        entity: The entity type.
        start: Start offset of the span in the text (inclusive).
        end: End offset of the span in the text (exclusive).
        value: The matched text, ``text[start:end]``.
    """

    entity: Entity
    start: int
    end: int
    value: str


_ALL_ENTITIES: tuple[Entity, ...] = tuple(Entity)

# Higher wins when two overlapping spans have the same length.
_TIE_PRIORITY: dict[Entity, int] = {Entity.CREDIT_CARD: 3, Entity.EMAIL: 2, Entity.PHONE: 1}

_MIN_PHONE_DIGITS = 7
_MIN_CARD_DIGITS = 13
_MAX_CARD_DIGITS = 19
_ASCII_DIGITS = "0123456789"

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_EMAIL_RE = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*"  # local part: dot-atom (dots, plus, hyphens, ...)
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"  # domain labels
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"  # TLD: letters or punycode
    r"(?![A-Za-z0-9-])",
    re.IGNORECASE,
)
# A run of digit groups joined by single spaces or hyphens; card windows are searched inside it.
_DIGIT_RUN_RE = re.compile(r"\d+(?:[ -]\d+)*")
_DIGIT_GROUP_RE = re.compile(r"\d+")


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn (mod 10) checksum.

    Args:
        digits: Digits only, e.g. ``"4111111111111111"``.

    Returns:
        ``True`` if the checksum holds; ``False`` for an empty or non-digit string.
    """
    if not digits or not digits.isdecimal():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _digit_count(text: str) -> int:
    """Count decimal digits in ``text``, with a fast path for ASCII text."""
    if text.isascii():
        return sum(map(text.count, _ASCII_DIGITS))
    return sum(char.isdecimal() for char in text)


def _only_digits(value: str) -> str:
    """Return the decimal digits of ``value`` in order."""
    return "".join(char for char in value if char.isdecimal())


def _email_findings(text: str) -> Iterator[Finding]:
    """Yield every email address matched by the email regex."""
    for match in _EMAIL_RE.finditer(text):
        yield Finding(Entity.EMAIL, match.start(), match.end(), match.group())


def _phone_findings(text: str, region: str) -> Iterator[Finding]:
    """Yield every phone number that ``phonenumbers`` considers valid."""
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        yield Finding(Entity.PHONE, match.start, match.end, match.raw_string)


def _card_findings(text: str) -> Iterator[Finding]:
    """Yield Luhn-valid card numbers.

    Each run of digit groups (``4111 1111 1111 1111 2024``) is scanned left to right for the
    longest window of whole groups holding 13-19 digits that passes Luhn. Windows never split a
    group, so a card is not found inside a longer unbroken digit run, while a card followed by
    an unrelated number (an expiry year, a ticket id) is still found.
    """
    for run in _DIGIT_RUN_RE.finditer(text):
        groups = list(_DIGIT_GROUP_RE.finditer(text, run.start(), run.end()))
        first = 0
        while first < len(groups):
            best: int | None = None
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last].group()
                if len(digits) > _MAX_CARD_DIGITS:
                    break
                if len(digits) >= _MIN_CARD_DIGITS and luhn_valid(digits):
                    best = last
            if best is None:
                first += 1
                continue
            start, end = groups[first].start(), groups[best].end()
            yield Finding(Entity.CREDIT_CARD, start, end, text[start:end])
            first = best + 1


def _resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep non-overlapping findings (longest first, ties by priority), sorted by start."""
    ranked = sorted(findings, key=lambda f: (-(f.end - f.start), -_TIE_PRIORITY[f.entity], f.start))
    kept: list[Finding] = []
    for finding in ranked:
        if all(finding.end <= other.start or other.end <= finding.start for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def detect(
    text: str, entities: Iterable[Entity] = _ALL_ENTITIES, *, region: str = "US"
) -> list[Finding]:
    """Detect PII in ``text``.

    Args:
        text: The text to scan.
        entities: Entity types to look for.
        region: Default region for phone numbers written without a ``+CC`` prefix.

    Returns:
        Non-overlapping findings sorted by start. Overlaps are resolved in favour of the longer
        span; on a tie, ``CREDIT_CARD`` > ``EMAIL`` > ``PHONE``.
    """
    wanted = frozenset(entities)
    if not text or not wanted:
        return []
    found: list[Finding] = []
    if Entity.EMAIL in wanted and "@" in text:
        found.extend(_email_findings(text))
    digits = _digit_count(text) if wanted & {Entity.PHONE, Entity.CREDIT_CARD} else 0
    if Entity.CREDIT_CARD in wanted and digits >= _MIN_CARD_DIGITS:
        found.extend(_card_findings(text))
    if Entity.PHONE in wanted and digits >= _MIN_PHONE_DIGITS:
        found.extend(_phone_findings(text, region))
    return _resolve_overlaps(found)


def find_pii(
    text: str | None, entities: Iterable[Entity] = _ALL_ENTITIES, *, region: str = "US"
) -> list[Entity]:
    """List the distinct entity types detectable in ``text``.

    Used to prove that model inputs and outputs are PII-free. Redaction placeholders such as
    ``<EMAIL_1>`` are not PII and are never reported.

    Args:
        text: The text to scan; ``None`` holds no PII.
        entities: Entity types to look for.
        region: Default region for phone numbers written without a ``+CC`` prefix.

    Returns:
        Distinct entity types found, in :class:`Entity` declaration order.
    """
    if text is None:
        return []
    present = {finding.entity for finding in detect(text, entities, region=region)}
    return [entity for entity in Entity if entity in present]


def _normalise(finding: Finding) -> str:
    """Key under which equal values share a placeholder: lower-cased email, else digits."""
    if finding.entity is Entity.EMAIL:
        return finding.value.lower()
    return _only_digits(finding.value)


class Redactor:
    """Replaces PII with typed, row-consistent placeholders like ``<EMAIL_1>``."""

    def __init__(self, entities: Iterable[Entity] = _ALL_ENTITIES, region: str = "US") -> None:
        """Initialise the redactor.

        Args:
            entities: Entity types to redact.
            region: Default region for phone numbers written without a ``+CC`` prefix.
        """
        self._entities = frozenset(entities)
        self._region = region

    def redact_text(self, text: str | None) -> tuple[str | None, Counter[str]]:
        """Redact a single value, numbered as a row of its own.

        Args:
            text: The text to redact; ``None`` is returned unchanged.

        Returns:
            The redacted text and the number of findings per entity type name.
        """
        counts: Counter[str] = Counter()
        return self._redact(text, {}, counts), counts

    def redact_row(
        self, values: Mapping[str, str | None]
    ) -> tuple[dict[str, str | None], Counter[str]]:
        """Redact every column of one row with row-consistent placeholders.

        Numbering is per entity type and shared by all columns of the row: the same value
        (emails compared lower-cased, phones and cards by digits only) gets the same placeholder
        everywhere in the row. Each call starts numbering again at 1.

        Args:
            values: Column name to text; ``None`` values stay ``None``.

        Returns:
            The redacted columns (same keys, same order) and the number of findings per entity
            type name, e.g. ``Counter({'EMAIL': 2})``. Counts never include the values.
        """
        placeholders: dict[Entity, dict[str, str]] = {}
        counts: Counter[str] = Counter()
        redacted = {
            column: self._redact(text, placeholders, counts) for column, text in values.items()
        }
        return redacted, counts

    def _redact(
        self,
        text: str | None,
        placeholders: dict[Entity, dict[str, str]],
        counts: Counter[str],
    ) -> str | None:
        """Redact ``text``, extending ``placeholders`` and ``counts`` in place.

        Detection runs again on the redacted text until nothing is found. ``phonenumbers`` can
        miss a phone that is directly followed by more digits (``(201) 555-0123 4111...``); once
        the neighbour is a placeholder the phone becomes visible. Each pass removes digits or an
        ``@``, so the loop ends, and usually after a single cheap re-check.
        """
        if text is None:
            return None
        while findings := detect(text, self._entities, region=self._region):
            text = self._substitute(text, findings, placeholders, counts)
        return text

    @staticmethod
    def _substitute(
        text: str,
        findings: list[Finding],
        placeholders: dict[Entity, dict[str, str]],
        counts: Counter[str],
    ) -> str:
        """Replace sorted, non-overlapping ``findings`` in ``text`` by their placeholders."""
        parts: list[str] = []
        cursor = 0
        for finding in findings:
            seen = placeholders.setdefault(finding.entity, {})
            key = _normalise(finding)
            if key not in seen:
                seen[key] = f"<{finding.entity.value}_{len(seen) + 1}>"
            parts.append(text[cursor : finding.start])
            parts.append(seen[key])
            counts[finding.entity.value] += 1
            cursor = finding.end
        parts.append(text[cursor:])
        return "".join(parts)
