"""Answers at rest: a model's answer with the PII found in it replaced by markers that keep
what kind of value was there, e.g. `<REDACTED_EMAIL_1>`.

Model inputs are redacted, so any email, phone or card number the detectors find in an answer
was made up by the model, restored by it, or written because the row's data told it to (an
obeyed injection). Such an answer is kept (`governance.llm_cache`, the call journal, published
or quarantined fields, reasons) only in this form, and the contract judges this form too:

    the answer    {"summary": "Card 4000 0566 5566 5556, mail leak@evil.example"}
    at rest       {"summary": "Card <REDACTED_CREDIT_CARD_1>, mail <REDACTED_EMAIL_1>"}

Why redact, not encrypt with the vault key (`GOVERNANCE_TOKEN_KEY`):

* The verdict cannot depend on the environment. An encrypted answer is judged on its raw text
  where the key is set, and cannot be judged at all (or is judged on something else) where it
  is missing, rotated or lost; the marked answer is judged the same by every run and every
  process, and a rerun from the cache gives the same dispositions as the run that paid.
* Nothing needs the raw value back. It is not the customer's (that stays in the source table,
  and the model never saw it); it is the defect the contract exists to catch. A decrypting
  reader would be one more place it can leak from.
* The markers are the record of what was found: `no_pii` counts a marker as the PII it
  replaced (`recorded_pii`), so a marked answer fails it exactly as the raw answer did.

A marker is not a placeholder of the input (`<EMAIL_1>`, which the model may quote freely): it
says the answer itself held the value. Markers are numbered per entity type within an answer,
equal values share a number, and no detector finds anything in one, so marking is idempotent:
`at_rest(at_rest(a)) == at_rest(a)`, and an answer without PII is kept byte for byte.

In a JSON answer only the text of strings (keys included) is marked, so the answer stays the
same JSON; numbers and booleans are left alone, as the `no_pii` rule leaves them. Anything else
is marked as plain text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from governance_pipeline.inputs.redaction.detectors import Entity, detect

__all__ = ["MARKER_RE", "at_rest", "mark_text", "recorded_pii"]

MARKER_RE = re.compile(r"<REDACTED_([A-Z][A-Z_]*[A-Z])_(\d+)>")
_ENTITY_NAMES = frozenset(e.value for e in Entity)
_MAX_PASSES = 4
"""Marking a value can uncover a neighbour that its digits hid (see `Redactor._redact`); after
this many passes whatever is still found stands for the whole text."""

_Numbers = dict[tuple[Entity, str], str]


def at_rest(content: str | None) -> str | None:
    """The answer as it may be stored and judged: PII replaced by markers (see the module)."""
    if not content:
        return content
    try:
        parsed = json.loads(content)
    except ValueError:
        return mark_text(content)
    if not detect(json.dumps(parsed, ensure_ascii=False)):  # most answers: one scan, no walk
        return content
    numbers: _Numbers = {}
    marked = _walk(parsed, numbers)
    return json.dumps(marked, ensure_ascii=False) if numbers else content


def mark_text(text: str, numbers: _Numbers | None = None) -> str:
    """`text` with every finding of the detectors replaced by its marker."""
    numbers = {} if numbers is None else numbers
    for _ in range(_MAX_PASSES):
        findings = detect(text)
        if not findings:
            return text
        parts, cursor = [], 0
        for f in findings:
            parts += [text[cursor : f.start], _marker(_pattern(f.entity), f.value, numbers)]
            cursor = f.end
        parts.append(text[cursor:])
        text = "".join(parts)
    left = detect(text)
    return _marker(_pattern(left[0].entity), text, numbers) if left else text


def recorded_pii(text: str) -> set[Entity]:
    """The entity types whose markers `text` holds: PII its answer had before it was stored."""
    return {Entity(m.group(1)) for m in MARKER_RE.finditer(text) if m.group(1) in _ENTITY_NAMES}


def _walk(value: Any, numbers: _Numbers) -> Any:
    if isinstance(value, str):
        return mark_text(value, numbers)
    if isinstance(value, list):
        return [_walk(v, numbers) for v in value]
    if isinstance(value, dict):
        return {mark_text(k, numbers): _walk(v, numbers) for k, v in value.items()}
    return value


def _pattern(entity: object) -> Entity:
    """A finding's entity, which `detect` (patterns only, no NER) always gives as an Entity."""
    if not isinstance(entity, Entity):
        raise TypeError(f"pattern detectors found a {entity!r}: only Entity types are marked")
    return entity


def _marker(entity: Entity, value: str, numbers: _Numbers) -> str:
    # here, not at the top: the redactor brings the vault's cryptography, which a spec (it
    # imports this module through its rules) does not need; only a finding gets here
    from governance_pipeline.inputs.redaction.redactor import normalise

    key = (entity, normalise(entity, value))
    if key not in numbers:
        same_type = sum(e is entity for e, _ in numbers)
        numbers[key] = f"<REDACTED_{entity.value}_{same_type + 1}>"
    return numbers[key]
