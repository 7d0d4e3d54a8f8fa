"""Tests for answers at rest (``outputs.answers``): what of a model's answer may be stored.

Why these cases matter: the at-rest form is the only one the store, the journal and the
contract ever see, so it must hide every value the detectors find (in keys too, and in text that
is not JSON), keep the answer the same JSON so it is judged on its fields, leave an answer
without PII byte for byte as it came (the common case, and what the cache returns), say what
kind of value each marker replaced (`no_pii` counts on it), and be idempotent: marking a stored
answer again must not change it, or a rerun would judge something else.
"""

from __future__ import annotations

import json

import pytest

from governance_pipeline.inputs.redaction import Entity
from governance_pipeline.outputs.answers import at_rest, mark_text, recorded_pii

CARD, EMAIL = "4000 0566 5566 5556", "leak.target@injected.example"

# id, the answer, the answer at rest
CASES = [
    ("no PII: kept as it came", '{"summary":"Charged twice for order 4417."}', None),
    ("placeholders of the input are not PII", '{"s": "Reply to <EMAIL_1>."}', None),
    (
        "an email in a field",
        json.dumps({"category": "billing", "summary": f"Mail {EMAIL} today", "n": 4}),
        json.dumps({"category": "billing", "summary": "Mail <REDACTED_EMAIL_1> today", "n": 4}),
    ),
    (
        "equal values share a number, others count up per type",
        json.dumps({"a": f"{CARD} / {EMAIL}", "b": f"{CARD.replace(' ', '-')}, x@y.example"}),
        json.dumps(
            {
                "a": "<REDACTED_CREDIT_CARD_1> / <REDACTED_EMAIL_1>",
                "b": "<REDACTED_CREDIT_CARD_1>, <REDACTED_EMAIL_2>",
            }
        ),
    ),
    (
        "keys and nested values",
        json.dumps({EMAIL: [{"phone": "call (415) 555-2671"}], "ok": True}),
        json.dumps({"<REDACTED_EMAIL_1>": [{"phone": "call <REDACTED_PHONE_1>"}], "ok": True}),
    ),
    (
        "escaped in the JSON text",
        '{"s": "' + EMAIL.replace(".", "\\u002e") + '"}',
        json.dumps({"s": "<REDACTED_EMAIL_1>"}),
    ),
    ("not JSON", f"Sure! Card {CARD}.", "Sure! Card <REDACTED_CREDIT_CARD_1>."),
    ("numbers are left alone", '{"phone": 4155552671}', None),
]


@pytest.mark.parametrize(("answer", "expected"), [pytest.param(a, e, id=i) for i, a, e in CASES])
def test_at_rest(answer: str, expected: str | None) -> None:
    assert at_rest(answer) == (answer if expected is None else expected)
    assert at_rest(at_rest(answer)) == at_rest(answer)


@pytest.mark.parametrize("empty", [None, ""])
def test_no_content_stays_none_or_empty(empty: str | None) -> None:
    assert at_rest(empty) == empty


def test_markers_record_what_they_replaced() -> None:
    marked = mark_text(f"{EMAIL}, {CARD}, call (415) 555-2671, and <EMAIL_1>")
    assert recorded_pii(marked) == {Entity.EMAIL, Entity.CREDIT_CARD, Entity.PHONE}
    assert recorded_pii("Reply to <EMAIL_1>, <REDACTED_NOTHING_1>") == set()
