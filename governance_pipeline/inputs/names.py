"""Redaction of known values: a row's own name columns, found again in its free text.

A ticket's `customer_name` column tells us exactly which name to look for in its body, which a
pattern cannot. What becomes `<NAME_1>`:

* the full name (two words or more, or one of three letters or more) and each part of it of
  three letters or more, also as a possessive (`Sandra's`, `Longino’s`) or inside a hyphenated
  compound (`Longino-Smith`, `Jean` of `Jean-Pierre`);
* words of the name that follow each other as one placeholder, with any initials between them
  (`Angel M. Longino`) and an initial of the name just before or after (`A. Longino`): no part
  of a matched name is left behind;
* a part that is also an everyday word (`Will`, `Long`: see
  `governance_pipeline.redaction.common_words`) only when capitalised or next to another part
  of the name, so that with the customer Will Long, "I will be long gone" stays as it is.

This runs on every row, so it compiles nothing per row: each name part is looked for in the
lower-cased text with `str.find`, and only where one occurs is a word read (by one precompiled
pattern) and compared; a text with no part in it is returned at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from governance_pipeline.inputs.redaction.common_words import COMMON_WORDS

PLACEHOLDER = "<NAME_1>"
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_SPLIT = re.compile(r"[\s,.]+")
_SPACE = re.compile(r"\s+")
_INITIAL_GAP = re.compile(r"\.?\s+")  # after an initial: "M. Longino", "M Longino"
_INITIAL_BEFORE = re.compile(r"(?:^|(?<=\s))([^\W\d_])\.\s+$")
_INITIAL_AFTER = re.compile(r"\s+([^\W\d_])\.(?!\w)")
_POSSESSIVE = ("'s", "’s")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    weak: bool  # only everyday words, none capitalised: dropped unless next to a strong one


@dataclass(frozen=True)
class KnownNames:
    """The names of one row: whole names as word sequences, and their parts of 3+ letters."""

    wholes: tuple[tuple[str, ...], ...]
    parts: frozenset[str]
    firsts: frozenset[str]  # where a name can start: a part, or a whole name's first word
    initials: frozenset[str]  # first letters of the names' words, upper-case

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
            for token in _SPLIT.split(name):
                token = token.lower()
                pieces = [token, *token.split("-")] if "-" in token else [token]
                parts.update(p for p in pieces if len(p) >= 3)
        if not wholes and not parts:
            return None
        firsts = frozenset(parts.union(w[0] for w in wholes))
        initials = frozenset(w[0].upper() for whole in wholes for w in whole)
        return cls(tuple(sorted(wholes, key=len, reverse=True)), frozenset(parts), firsts, initials)

    def redact(self, text: str | None) -> tuple[str | None, int]:
        """Replace the names in `text` by `<NAME_1>`; return the text and how many were."""
        if not text:
            return text, 0
        kept = self.spans(text)
        if not kept:
            return text, 0
        out, cursor = [], 0
        for start, end in kept:
            out += [text[cursor:start], PLACEHOLDER]
            cursor = end
        out.append(text[cursor:])
        return "".join(out), len(kept)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the names are in `text`: sorted, non-overlapping (start, end) spans."""
        low = text.lower()
        hits = sorted({i for f in self.firsts for i in _find_all(low, f)})
        if not hits:
            return []
        if len(low) == len(text):  # offsets agree: look only where a name part occurs
            found = (_word_around(text, i) for i in hits)
            starts = list({m.start(): m for m in found if m is not None}.values())
        else:  # lower-casing changed the length (e.g. "İ"): cut the whole text into words
            starts = list(_WORD.finditer(text))
        spans: list[_Span] = []
        for first in sorted(starts, key=lambda m: m.start()):
            if spans and first.start() < spans[-1].end:
                continue
            span = self._match_at(text, first)
            if span is None:
                continue
            if spans and self._joins(text[spans[-1].end : span.start]):
                last = spans.pop()  # adjacent name words, initials between: one placeholder
                span = _Span(last.start, span.end, last.weak and span.weak)
            spans.append(span)
        return [self._with_initials(text, s) for s in spans if not s.weak]

    def _match_at(self, text: str, first: re.Match[str]) -> _Span | None:
        """A whole name or a part starting at word `first`, or None."""
        for whole in self.wholes:
            word: re.Match[str] | None = first
            words: list[str] = []
            for i, expected in enumerate(whole):
                if word is None or not _is(word.group(), expected):
                    break
                words.append(word.group())
                if i == len(whole) - 1:
                    return _Span(first.start(), word.end(), self._weak(words))
                gap = (_INITIAL_GAP if len(expected) == 1 else _SPACE).match(text, word.end())
                word = _WORD.match(text, gap.end()) if gap else None
        base = _base(first.group())
        if base in self.parts or any(p in self.parts for p in base.split("-")):
            return _Span(first.start(), first.end(), self._weak([first.group()]))
        return None

    def _weak(self, words: list[str]) -> bool:
        """Whether the words matched are everyday words only, none of them capitalised."""
        return all(
            not w[0].isupper() and all(p in COMMON_WORDS or len(p) == 1 for p in _pieces(w))
            for w in words
        )

    def _joins(self, gap: str) -> bool:
        """Whether two name words with `gap` between them are one name: spaces, or initials."""
        if not gap or gap.strip() == "":
            return bool(gap)
        if not (gap[0].isspace() and gap[-1].isspace()):
            return False
        return all(
            len(t.rstrip(".")) == 1 and t[0].isalpha() and t[0].isupper() for t in gap.split()
        )

    def _with_initials(self, text: str, span: _Span) -> tuple[int, int]:
        """The span widened to an initial of the name right before or after it."""
        start, end = span.start, span.end
        before = _INITIAL_BEFORE.search(text, max(0, start - 4), start)
        if before and before.group(1).isupper() and before.group(1) in self.initials:
            start = before.start()
        after = _INITIAL_AFTER.match(text, end)
        if after and after.group(1).isupper() and after.group(1) in self.initials:
            end = after.end()
        return start, end


def _base(word: str) -> str:
    """The word lower-cased, without a possessive ending."""
    low = word.lower()
    return low[:-2] if low.endswith(_POSSESSIVE) else low


def _pieces(word: str) -> list[str]:
    return _base(word).split("-")


def _is(word: str, expected: str) -> bool:
    """Whether a word of the text is the name word `expected`, or holds it (possessive,
    compound)."""
    base = _base(word)
    return base == expected or word.lower() == expected or expected in base.split("-")


def _find_all(haystack: str, needle: str) -> list[int]:
    found, i = [], haystack.find(needle)
    while i >= 0:
        found.append(i)
        i = haystack.find(needle, i + 1)
    return found


def _word_around(text: str, i: int) -> re.Match[str] | None:
    """The whole word (compounds and possessives included) that holds position `i`."""
    j = i
    while j > 0:
        c = text[j - 1]
        if c.isalnum() or c == "_":
            j -= 1
        elif c in "'’-" and j > 1 and (text[j - 2].isalnum() or text[j - 2] == "_"):
            j -= 1
        else:
            break
    m = _WORD.match(text, j)
    return m if m is not None and m.end() > i else None


def redact_names(text: str | None, names: KnownNames | None) -> tuple[str | None, int]:
    """Replace every known name in `text` by `<NAME_1>`; return the text and the count."""
    if names is None:
        return text, 0
    return names.redact(text)
