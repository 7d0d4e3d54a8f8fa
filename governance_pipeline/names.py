"""Redaction of known values: a row's own name columns, found again in its free text.

A ticket's `customer_name` column tells us exactly which name to look for in its body, which a
pattern cannot. The full name and each part of it (three letters or more) become `<NAME_1>`;
words of a name that follow each other (`Jane Doe`) become one placeholder.

This runs on every row, so it compiles nothing per row: the text is cut into words by one
precompiled pattern and each word is looked up, case-insensitively, in the row's set of name
parts. A text that contains no part at all (a substring test) is returned at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PLACEHOLDER = "<NAME_1>"
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_SPLIT = re.compile(r"[\s,.]+")


@dataclass(frozen=True)
class KnownNames:
    """The names of one row: whole names as word sequences, and their parts of 3+ letters."""

    wholes: tuple[tuple[str, ...], ...]
    parts: frozenset[str]

    @classmethod
    def of(cls, names: Iterable[str | None]) -> KnownNames | None:
        """The names to look for, or None when every name is empty."""
        wholes: set[tuple[str, ...]] = set()
        parts: set[str] = set()
        for name in names:
            if not name or not name.strip():
                continue
            words = tuple(w.lower() for w in _WORD.findall(name))
            if words:
                wholes.add(words)
            parts.update(p.lower() for p in _SPLIT.split(name) if len(p) >= 3)
        if not wholes and not parts:
            return None
        return cls(tuple(sorted(wholes, key=len, reverse=True)), frozenset(parts))

    def redact(self, text: str | None) -> tuple[str | None, int]:
        """Replace the names in `text` by `<NAME_1>`; return the text and how many were."""
        if not text:
            return text, 0
        low = text.lower()
        if not any(p in low for p in self.parts) and not any(w[0] in low for w in self.wholes):
            return text, 0
        words = list(_WORD.finditer(text))
        firsts = self.parts.union(w[0] for w in self.wholes)
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            width = self._match_at(words, i, text) if words[i].group().lower() in firsts else 0
            if width:
                start, end = words[i].start(), words[i + width - 1].end()
                if spans and not text[spans[-1][1] : start].strip():
                    start = spans.pop()[0]  # adjacent name words: one placeholder
                spans.append((start, end))
                i += width
            else:
                i += 1
        if not spans:
            return text, 0
        out, cursor = [], 0
        for start, end in spans:
            out += [text[cursor:start], PLACEHOLDER]
            cursor = end
        out.append(text[cursor:])
        return "".join(out), len(spans)

    def _match_at(self, words: list[re.Match[str]], i: int, text: str) -> int:
        """How many words from `i` on form a whole name or a part (0 if none)."""
        for whole in self.wholes:
            k = len(whole)
            if i + k > len(words):
                continue
            run = words[i : i + k]
            if all(m.group().lower() == w for m, w in zip(run, whole, strict=True)) and all(
                not text[a.end() : b.start()].strip() for a, b in zip(run, run[1:], strict=False)
            ):
                return k
        return 1 if words[i].group().lower() in self.parts else 0


def redact_names(text: str | None, names: KnownNames | None) -> tuple[str | None, int]:
    """Replace every known name in `text` by `<NAME_1>`; return the text and the count."""
    if names is None:
        return text, 0
    return names.redact(text)
