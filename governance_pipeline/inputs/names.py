"""Redaction of known values: a row's own name columns, found again in its free text.

A ticket's `customer_name` column tells us exactly which name to look for in its body, which a
pattern cannot. The full name (two words, or one of three letters or more) and each part of it
(three letters or more) become `<NAME_1>`;
words of a name that follow each other (`Jane Doe`) become one placeholder.

This runs on every row, so it compiles nothing per row: each name part is looked for in the
lower-cased text with `str.find`, and only where one occurs is a word read (by one precompiled
pattern) and compared; a text with no part in it is returned at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PLACEHOLDER = "<NAME_1>"
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_SPLIT = re.compile(r"[\s,.]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class KnownNames:
    """The names of one row: whole names as word sequences, and their parts of 3+ letters."""

    wholes: tuple[tuple[str, ...], ...]
    parts: frozenset[str]
    firsts: frozenset[str]  # where a name can start: a part, or a whole name's first word

    @classmethod
    def of(cls, names: Iterable[str | None]) -> KnownNames | None:
        """The names to look for, or None when every name is empty."""
        wholes: set[tuple[str, ...]] = set()
        parts: set[str] = set()
        for name in names:
            if not name or not name.strip():
                continue
            words = tuple(w.lower() for w in _WORD.findall(name))
            if len(words) > 1 or (words and len(words[0]) >= 3):  # "Li Na", not "a"
                wholes.add(words)
            parts.update(p.lower() for p in _SPLIT.split(name) if len(p) >= 3)
        if not wholes and not parts:
            return None
        firsts = frozenset(parts.union(w[0] for w in wholes))
        return cls(tuple(sorted(wholes, key=len, reverse=True)), frozenset(parts), firsts)

    def redact(self, text: str | None) -> tuple[str | None, int]:
        """Replace the names in `text` by `<NAME_1>`; return the text and how many were."""
        if not text:
            return text, 0
        low = text.lower()
        hits = sorted({i for f in self.firsts for i in _find_all(low, f)})
        if not hits:
            return text, 0
        if len(low) == len(text):  # offsets agree: look only where a name part occurs
            starts = [m for i in hits if (m := _word_at(text, i)) is not None]
        else:  # lower-casing changed the length (e.g. "İ"): cut the whole text into words
            starts = list(_WORD.finditer(text))
        spans: list[tuple[int, int]] = []
        for first in starts:
            if spans and first.start() < spans[-1][1]:
                continue
            end = self._match_at(text, first)
            if end is None:
                continue
            start = first.start()
            if spans and not text[spans[-1][1] : start].strip():
                start = spans.pop()[0]  # adjacent name words: one placeholder
            spans.append((start, end))
        if not spans:
            return text, 0
        out, cursor = [], 0
        for start, end in spans:
            out += [text[cursor:start], PLACEHOLDER]
            cursor = end
        out.append(text[cursor:])
        return "".join(out), len(spans)

    def _match_at(self, text: str, first: re.Match[str]) -> int | None:
        """The end of a whole name or a part starting at word `first`, or None."""
        for whole in self.wholes:
            word: re.Match[str] | None = first
            for i, expected in enumerate(whole):
                if word is None or word.group().lower() != expected:
                    break
                if i == len(whole) - 1:
                    return word.end()
                gap = _SPACE.match(text, word.end())
                word = _WORD.match(text, gap.end()) if gap else None
        return first.end() if first.group().lower() in self.parts else None


def _find_all(haystack: str, needle: str) -> list[int]:
    found, i = [], haystack.find(needle)
    while i >= 0:
        found.append(i)
        i = haystack.find(needle, i + 1)
    return found


def _word_at(text: str, i: int) -> re.Match[str] | None:
    """The word that starts exactly at `i` (not in the middle of one), if any."""
    if i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
        return None
    if i > 1 and text[i - 1] in "'’-" and (text[i - 2].isalnum() or text[i - 2] == "_"):
        return None
    return _WORD.match(text, i)


def redact_names(text: str | None, names: KnownNames | None) -> tuple[str | None, int]:
    """Replace every known name in `text` by `<NAME_1>`; return the text and the count."""
    if names is None:
        return text, 0
    return names.redact(text)
