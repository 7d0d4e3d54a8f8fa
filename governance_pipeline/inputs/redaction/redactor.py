"""The redactor: findings replaced by the operator the spec chose for their column and type.

Placeholders (``<EMAIL_1>``) are numbered per entity type within a row and shared by all its
columns, so the model can still tell that two columns mention the same person; numbering
restarts on every row. Counts per entity type are returned with every row; values never are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from governance_pipeline.inputs.redaction import operators as ops
from governance_pipeline.inputs.redaction.detectors import (
    ALL_ENTITIES,
    DEFAULT_PHONE_REGIONS,
    Entity,
    Finding,
    detect,
    resolve_overlaps,
)
from governance_pipeline.inputs.redaction.ner import NerDetector, NerEntity
from governance_pipeline.inputs.redaction.vault import RedactionKeys, Tokenizer, surrogate

__all__ = ["Redactor", "normalise"]

_MAX_PASSES = 4
_NEAR = 96  # characters either side of a replacement looked at again
_LOOSE = frozenset(" \t\r\n,.;!?")  # what may stand beside a value without hiding one


def normalise(entity: Entity | NerEntity, value: str) -> str:
    """The key under which equal values share a placeholder, hash or token."""
    if entity is Entity.IBAN:
        return "".join(value.split()).upper()
    if entity in (Entity.PHONE, Entity.CREDIT_CARD, Entity.US_SSN):
        return "".join(ch for ch in value if ch.isdecimal())
    return " ".join(value.lower().split())  # emails, URLs, addresses, names, places


def _touches(text: str, start: int, end: int) -> bool:
    """Whether the replacement at `start:end` has a neighbour it could have hidden: a digit
    within three characters (a digit run's separators are at most three), an @, or anything
    but a space or a sentence's punctuation right against it ("x@y.com4111..." is an email
    once the card is gone, "4111...::a" an address)."""
    near = text[max(0, start - 3) : start] + text[end : end + 3]
    if any(ch.isdigit() or ch == "@" for ch in near):
        return True
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return before not in _LOOSE or after not in _LOOSE


class Redactor:
    """Replaces PII in the values of a row, column by column, with the spec's operators."""

    def __init__(
        self,
        entities: Iterable[Entity] = ALL_ENTITIES,
        regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        operators: Sequence[ops.Operator] = (),
        keys: RedactionKeys | None = None,
        ner: Sequence[NerEntity] = (),
    ) -> None:
        """Initialise the redactor.

        Args:
            entities: Entity types to redact.
            regions: Regions whose bare national numbers are read as phones (see `phones`).
            operators: The spec's operators, first match wins; placeholders otherwise.
            keys: Secrets of the hash and tokenise operators (read from the environment when
                an operator needs them and none are given).
            ner: Names and places to find with the optional NER model (see `ner`).

        Raises:
            RedactionError: an operator needs a key that is not set.
        """
        self._entities = tuple(dict.fromkeys(entities))
        self._regions = tuple(regions)
        self._operators = list(operators)
        kinds = {type(op) for op in self._operators}
        if kinds & {ops.HashOp, ops.TokenizeOp}:
            keys = keys or RedactionKeys()
        self._hash_key = keys.require("hash_key") if keys and ops.HashOp in kinds else b""
        self.tokenizer = (
            Tokenizer(keys.require("token_key")) if keys and ops.TokenizeOp in kinds else None
        )
        self._always_dropped = ops.dropped_always(self._operators)
        self._ner = NerDetector(list(ner)) if ner else None

    def redact_text(self, text: str | None, column: str = "") -> tuple[str | None, Counter[str]]:
        """Redact a single value, numbered as a row of its own."""
        counts: Counter[str] = Counter()
        return self._redact(column, text, {}, counts), counts

    def redact_row(
        self, values: Mapping[str, str | None]
    ) -> tuple[dict[str, str | None], Counter[str]]:
        """Redact every column of one row with row-consistent placeholders.

        Args:
            values: Column name to text; ``None`` values stay ``None``.

        Returns:
            The redacted columns (same keys, same order; a dropped column is ``None``) and the
            number of findings per entity type name, e.g. ``Counter({'EMAIL': 2})``.
        """
        numbers: dict[Entity | NerEntity, dict[str, str]] = {}
        counts: Counter[str] = Counter()
        out = {c: self._redact(c, text, numbers, counts) for c, text in values.items()}
        return out, counts

    def _redact(
        self,
        column: str,
        text: str | None,
        numbers: dict[Entity | NerEntity, dict[str, str]],
        counts: Counter[str],
    ) -> str | None:
        """Detect and replace until nothing is found.

        Replacing a value can uncover a neighbour that its digits hid: a phone directly followed
        by more digits, an email whose TLD runs into a card number is no email until the card
        is gone. So the text around each replacement with such a neighbour is looked at again
        (the whole text, when it is short), and the whole text passes again if anything shows
        there. After ``_MAX_PASSES``
        whatever is left gets a placeholder, which no detector matches, so the loop ends clean.
        """
        if text is None or column in self._always_dropped:
            return None
        passes = 0
        findings = detect(text, self._entities, regions=self._regions)
        if self._ner is not None:  # once per value: the model is slow and its output stable
            findings = resolve_overlaps([*findings, *self._ner.detect(text)])
        while findings:
            passes += 1
            chosen = [
                ops.select(self._operators, column, f.entity) if passes <= _MAX_PASSES else None
                for f in findings
            ]
            if any(isinstance(op, ops.DropOp) for op in chosen):
                counts.update(f.entity.value for f in findings)
                return None
            text, spans = self._substitute(text, findings, chosen, numbers, counts)
            if not any(_touches(text, a, b) for a, b in spans):
                break
            if len(text) <= 2 * _NEAR * len(spans):  # the windows would cover most of it
                findings = detect(text, self._entities, regions=self._regions)
                continue
            near = (text[max(0, a - _NEAR) : b + _NEAR] for a, b in spans)
            if any(detect(piece, self._entities, regions=self._regions) for piece in near):
                findings = detect(text, self._entities, regions=self._regions)
            else:
                findings = []
        return text

    def _substitute(
        self,
        text: str,
        findings: list[Finding],
        chosen: list[ops.Operator | None],
        numbers: dict[Entity | NerEntity, dict[str, str]],
        counts: Counter[str],
    ) -> tuple[str, list[tuple[int, int]]]:
        """The text with the findings replaced, and where the replacements now stand."""
        parts: list[str] = []
        spans: list[tuple[int, int]] = []
        cursor = length = 0
        for finding, op in zip(findings, chosen, strict=True):
            before = text[cursor : finding.start]
            replacement = self._replacement(finding, op, numbers)
            parts += [before, replacement]
            length += len(before)
            spans.append((length, length + len(replacement)))
            length += len(replacement)
            counts[finding.entity.value] += 1
            cursor = finding.end
        parts.append(text[cursor:])
        return "".join(parts), spans

    def _replacement(
        self, f: Finding, op: ops.Operator | None, numbers: dict[Entity | NerEntity, dict[str, str]]
    ) -> str:
        key = normalise(f.entity, f.value)
        name = f.entity.value
        if isinstance(op, ops.MaskOp):
            return ops.mask(f.value, op)
        if isinstance(op, ops.HashOp):
            return f"<{name}_H_{surrogate(self._hash_key, name, key)}>"
        if isinstance(op, ops.TokenizeOp) and self.tokenizer is not None:
            return self.tokenizer.token(name, key, f.value)
        seen = numbers.setdefault(f.entity, {})
        if key not in seen:
            seen[key] = f"<{name}_{len(seen) + 1}>"
        return seen[key]
