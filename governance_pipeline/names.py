"""Redaction of known values: a row's own name columns, found again in its free text.

A ticket's `customer_name` column tells us exactly which name to look for in its body, which a
pattern cannot. The full name and each part of it (three letters or more) become `<NAME_n>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def name_pattern(names: Iterable[str | None]) -> re.Pattern[str] | None:
    """A case-insensitive pattern for the names and their parts, longest first; None if empty."""
    parts: set[str] = set()
    for name in names:
        if not name or not name.strip():
            continue
        parts.add(" ".join(name.split()))
        parts.update(p for p in re.split(r"[\s,.]+", name) if len(p) >= 3)
    if not parts:
        return None
    alternatives = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def redact_names(text: str | None, pattern: re.Pattern[str] | None) -> tuple[str | None, int]:
    """Replace every occurrence by `<NAME_1>`; return the text and how many were replaced."""
    if text is None or pattern is None:
        return text, 0
    return pattern.subn("<NAME_1>", text)
