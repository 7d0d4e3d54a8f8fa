"""Tests for the behaviour contract (``governance_pipeline.outputs.contracts``) and its rules.

The contract is the gate between the model and the published table. Each way a model answer
can go wrong (prose instead of JSON, a list, a missing or mistyped field, a value outside the
enum, leaked personal data, an over-long summary) must be caught, with a reason that names the
field and the value, and with the severity that follows the rule's authority: platform and
developer rules quarantine the row (ERROR), guidelines only annotate it (WARN). Both must be
reported when both break, or the published row hides a warning.

The spec's worked examples double as evals: a `bad` example the contract accepts is a defect of
the spec, so every example is run through the contract here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from governance_pipeline import spec
from governance_pipeline.inputs.redaction import Entity
from governance_pipeline.outputs.answers import at_rest
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.outputs.rules import (
    EnumRule,
    MaxLengthRule,
    NoPiiRule,
    NotEmptyRule,
    RegexRule,
    Rule,
)
from governance_pipeline.spec import BadOutput, Level, Severity

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs"
SPEC = spec.load(SPEC_DIR / "support_triage.yaml")
CONTRACT = Contract(SPEC)
ERROR, WARN = Severity.ERROR, Severity.WARN

GOOD = {
    "category": "billing",
    "urgency": "high",
    "sentiment": "negative",
    "summary": "Customer was charged twice for the May invoice.",
}


def _with(**changes: Any) -> str:
    return json.dumps({**GOOD, **changes})


def _without(field: str) -> str:
    return json.dumps({k: v for k, v in GOOD.items() if k != field})


# --- the contract of support_triage -------------------------------------------------------------

# id, raw model content, [(rule id, severity, fragment of the reason)]
CASES = [
    ("good", json.dumps(GOOD), []),
    ("good, keys reordered", json.dumps(dict(reversed(list(GOOD.items())))), []),
    ("prose", 'Sure! {"category": "billing"}', [("output.schema", ERROR, "not valid JSON")]),
    ("truncated", json.dumps(GOOD)[:-5], [("output.schema", ERROR, "not valid JSON")]),
    ("empty", "", [("output.schema", ERROR, "not valid JSON")]),
    ("no content", None, [("output.schema", ERROR, "not valid JSON")]),
    ("a list", json.dumps([GOOD]), [("output.schema", ERROR, "expected a JSON object, got list")]),
    ("null", "null", [("output.schema", ERROR, "expected a JSON object, got NoneType")]),
    (
        "missing field",
        _without("urgency"),
        [
            ("output.schema", ERROR, "urgency: field required"),
            ("output.urgency.enum", ERROR, "urgency=None is not one of low, medium, high"),
        ],
    ),
    (
        "wrong type",
        _with(urgency=3),
        [
            ("output.schema", ERROR, "urgency: input should be a valid string"),
            ("output.urgency.enum", ERROR, "urgency=3 is not one of low, medium, high"),
        ],
    ),
    ("extra field", _with(confidence=0.9), [("output.schema", ERROR, "confidence: extra inputs")]),
    (
        "enum violation",
        _with(category="refunds"),
        [("output.category.enum", ERROR, "category='refunds' is not one of billing, account")],
    ),
    (
        "enum is case-sensitive",
        _with(sentiment="Negative"),
        [("output.sentiment.enum", ERROR, "sentiment='Negative' is not one of negative")],
    ),
    (
        "email in the summary",
        _with(summary="Refund jane.doe@example.com today."),
        [("no-pii-in-output", ERROR, "PII in output (summary: EMAIL)")],
    ),
    (
        "phone in the summary",
        _with(summary="Call the customer back at (415) 555-2671."),
        [("no-pii-in-output", ERROR, "summary: PHONE")],
    ),
    ("placeholder is not PII", _with(summary="Customer <EMAIL_1> was charged twice."), []),
    (
        "a stored answer's marker is the PII it replaced",
        _with(summary="Refund <REDACTED_EMAIL_1> today."),
        [("no-pii-in-output", ERROR, "PII in output (summary: EMAIL)")],
    ),
    (
        "too long summary",
        _with(summary="x" * 281),
        [
            ("output.summary.max_length", ERROR, "summary has 281 characters, more than 280"),
            ("concise-summaries", WARN, "summary has 281 characters, more than 280"),
        ],
    ),
    ("summary at the limit", _with(summary="x" * 280), []),
    ("blank summary", _with(summary="   "), [("summary-present", ERROR, "empty: summary")]),
]


@pytest.mark.parametrize(("content", "expected"), [pytest.param(c, e, id=i) for i, c, e in CASES])
def test_contract_verdicts(content: str | None, expected: list[tuple[str, Severity, str]]) -> None:
    verdict = CONTRACT.check(content)
    assert [(v.rule_id, v.severity) for v in verdict.violations] == [(r, s) for r, s, _ in expected]
    for violation, (_, _, fragment) in zip(verdict.violations, expected, strict=True):
        assert fragment in violation.reason
        assert str(violation) == f"{violation.rule_id}: {violation.reason}"


def test_a_verdict_keeps_the_parsed_output() -> None:
    assert CONTRACT.check(json.dumps(GOOD)).output == GOOD
    assert CONTRACT.check(_with(category="refunds")).output == {**GOOD, "category": "refunds"}
    assert CONTRACT.check("not json").output is None


@pytest.mark.parametrize(
    "content",
    [
        _with(summary="Card 4000 0566 5566 5556 was charged twice."),
        _with(category="leak.target@injected.example", summary="Call (415) 555-2671."),
        'Sure! Mail "leak.target@injected.example".',
    ],
)
def test_an_answer_is_judged_as_it_is_stored(content: str) -> None:
    """The LLM stage stores answers at rest; the verdict on the stored copy (a rerun from the
    cache) is the verdict on the answer as it came, and it shows no PII."""
    live, stored = CONTRACT.check(content), CONTRACT.check(at_rest(content))
    assert live == stored
    assert live.errors
    shown = json.dumps(live.output) + "".join(v.reason for v in live.violations)
    for leak in ("4000 0566", "leak.target", "555-2671"):
        assert leak not in shown


def test_a_too_long_summary_is_both_an_error_and_a_warning() -> None:
    verdict = CONTRACT.check(_with(summary="y" * 300))
    assert [v.rule_id for v in verdict.errors] == ["output.summary.max_length"]
    assert [v.rule_id for v in verdict.warnings] == ["concise-summaries"]


def test_rules_take_their_level_from_where_they_were_declared() -> None:
    levels = {rule_id: level for rule_id, level, _ in CONTRACT.rules}
    assert levels == {
        "output.category.enum": Level.DEVELOPER,
        "output.urgency.enum": Level.DEVELOPER,
        "output.sentiment.enum": Level.DEVELOPER,
        "output.summary.max_length": Level.DEVELOPER,
        "no-pii-in-output": Level.PLATFORM,
        "concise-summaries": Level.GUIDELINE,
        "summary-present": Level.DEVELOPER,
        "summary-about-the-ticket": Level.DEVELOPER,
        "urgent-has-a-team": Level.DEVELOPER,
        "no-refusal": Level.DEVELOPER,
        "summary-grounded": Level.GUIDELINE,
        "summary-in-english": Level.GUIDELINE,
    }


def test_a_guideline_alone_warns_and_does_not_quarantine(tmp_path: Path) -> None:
    for name in ("platform.yaml", "support_triage.yaml"):
        shutil.copy(SPEC_DIR / name, tmp_path / name)
    job = tmp_path / "support_triage.yaml"
    job.write_text(
        job.read_text().replace("field: summary, max: 280}", "field: summary, max: 100}")
    )
    verdict = Contract(spec.load(job)).check(_with(summary="z" * 150))
    assert verdict.errors == []
    assert [(v.rule_id, v.severity) for v in verdict.warnings] == [("concise-summaries", WARN)]
    assert "150 characters, more than 100" in verdict.warnings[0].reason


@pytest.mark.parametrize("example", SPEC.job.examples, ids=lambda e: str(e.input.get("subject")))
def test_the_good_example_passes(example: spec.Example) -> None:
    assert CONTRACT.check(json.dumps(example.good)).violations == []


@pytest.mark.parametrize(
    "bad",
    [b for e in SPEC.job.examples for b in e.bad],
    ids=lambda b: b.reason,
)
def test_every_bad_example_is_rejected(bad: BadOutput) -> None:
    assert CONTRACT.check(json.dumps(bad.output)).errors, bad.reason


# --- each rule type -----------------------------------------------------------------------------

ENUM = EnumRule(field="c", values=["a", "b"])
MAX = MaxLengthRule(field="s", max=5)
NOT_EMPTY = NotEmptyRule(fields=["a", "b"])
REGEX = RegexRule(field="code", pattern=r"[A-Z]{3}-\d+")
NO_PII = NoPiiRule()

# id, rule, output, expected reason (None: it complies)
RULE_CASES = [
    ("enum ok", ENUM, {"c": "a"}, None),
    ("enum bad", ENUM, {"c": "z"}, "c='z' is not one of a, b"),
    ("enum missing", ENUM, {}, "c=None is not one of a, b"),
    ("enum wrong type", ENUM, {"c": 1}, "c=1 is not one of a, b"),
    ("max ok", MAX, {"s": "abcde"}, None),
    ("max bad", MAX, {"s": "abcdef"}, "s has 6 characters, more than 5"),
    ("max non-text is the schema's job", MAX, {"s": 1234567}, None),
    ("max missing", MAX, {}, None),
    ("not_empty ok", NOT_EMPTY, {"a": "x", "b": 0}, None),
    ("not_empty blank and null", NOT_EMPTY, {"a": " \n", "b": None}, "empty: a, b"),
    ("not_empty missing", NOT_EMPTY, {"a": "x"}, "empty: b"),
    ("regex ok", REGEX, {"code": "ABC-12"}, None),
    (
        "regex must match whole",
        REGEX,
        {"code": "ABC-12x"},
        r"code='ABC-12x' does not match /[A-Z]{3}-\d+/",
    ),
    ("regex missing", REGEX, {}, "code=None does not match"),
    ("no_pii ok", NO_PII, {"s": "Charged twice for order 12345 on 2026-01-05.", "n": 5}, None),
    ("no_pii email", NO_PII, {"s": "mail a.b@example.org"}, "PII in output (s: EMAIL)"),
    (
        "no_pii several fields",
        NO_PII,
        {"s": "card 4111111111111111", "t": "call (415) 555-2671"},
        "PII in output (s: CREDIT_CARD; t: PHONE)",
    ),
    ("no_pii marker", NO_PII, {"s": "mail <REDACTED_EMAIL_1>"}, "PII in output (s: EMAIL)"),
    (
        "no_pii marker of an entity not listed",
        NoPiiRule(entities=[Entity.PHONE]),
        {"s": "mail <REDACTED_EMAIL_1>"},
        None,
    ),
    (
        "no_pii only listed fields",
        NoPiiRule(fields=["s"]),
        {"s": "ok", "t": "a.b@example.org"},
        None,
    ),
    (
        "no_pii only listed entities",
        NoPiiRule(entities=[Entity.EMAIL]),
        {"s": "call (415) 555-2671"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("rule", "output", "reason"), [pytest.param(r, o, e, id=i) for i, r, o, e in RULE_CASES]
)
def test_rule_violation(rule: Any, output: dict[str, Any], reason: str | None) -> None:
    found = rule.violation(output)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        (ENUM, ("c",)),
        (MAX, ("s",)),
        (NOT_EMPTY, ("a", "b")),
        (REGEX, ("code",)),
        (NO_PII, ()),
        (NoPiiRule(fields=["x", "y"]), ("x", "y")),
    ],
)
def test_rule_fields(rule: Any, fields: tuple[str, ...]) -> None:
    assert rule.fields() == fields


RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"type": "enum", "field": "c", "values": ["a"]}, EnumRule),
        ({"type": "max_length", "field": "s", "max": 3}, MaxLengthRule),
        ({"type": "not_empty", "fields": ["a"]}, NotEmptyRule),
        ({"type": "regex", "field": "c", "pattern": "x"}, RegexRule),
        ({"type": "no_pii"}, NoPiiRule),
    ],
)
def test_rules_parse_by_their_type(data: dict[str, Any], kind: type) -> None:
    assert type(RULE_ADAPTER.validate_python(data)) is kind


@pytest.mark.parametrize(
    "data",
    [
        {"type": "length", "field": "s", "max": 3},  # unknown type
        {"type": "max_length", "field": "s", "max": 0},  # max must be positive
        {"type": "max_length", "field": "s", "max": 3, "min": 1},  # extra key
        {"type": "enum", "field": "c", "values": []},  # empty enum
        {"type": "not_empty", "fields": []},
        {"type": "no_pii", "entities": ["SSN"]},
    ],
)
def test_malformed_rules_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RULE_ADAPTER.validate_python(data)
