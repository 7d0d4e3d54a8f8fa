"""Tests for the rule library (``governance_pipeline.outputs.rules``): each rule with a
passing row, a failing row and its reason.

The reason is what a person reads in `output_quarantine` and in the ledger, so these tests
assert its wording, not just that a rule fired: it must name the field, the offending value
and what was expected. Rules that need the row's context (groundedness, custom callables, SQL)
are judged with the redacted input the model saw. The edge cases are the ones that make a
heuristic noisy in production: placeholders that look like numbers, capitalised words that
just start a sentence, apostrophes, texts too short to tell a language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from governance_pipeline import spec
from governance_pipeline.errors import SpecError
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.outputs.rules import (
    GroundednessRule,
    ImpliesRule,
    JsonSchemaRule,
    LanguageRule,
    NoRefusalRule,
    PydanticRule,
    PythonRule,
    RowContext,
    Rule,
    SqlRule,
    WordCountRule,
    stopword_shares,
)

RULE: TypeAdapter[Any] = TypeAdapter(Rule)
INPUT = {
    "channel": "email",
    "subject": "Charged twice",
    "body": "I was charged 1,200 dollars twice on May 5 for order 4417, card <CREDIT_CARD_1>. "
    'Your page said "refunds within 3 days". Contact <EMAIL_1>.',
}
CTX = RowContext(INPUT, key=7)


def rule(**data: Any) -> Any:
    return RULE.validate_python(data)


WORDS = rule(type="word_count", field="summary", min=3, max=6)
IMPLIES = rule(
    type="implies",
    **{"if": {"field": "urgency", "in": ["high"]}},
    then={"field": "category", "not_in": ["other"]},
)
GROUNDED = rule(type="grounded")
NUMBERS_ONLY = rule(type="grounded", checks=["numbers"])
REFUSAL = rule(type="no_refusal")
REFUSAL_ONLY = rule(type="no_refusal", self_talk=False)
ENGLISH = rule(type="language", expected=["en"], fields=["summary"])
SCHEMA = rule(
    type="json_schema",
    schema={
        "type": "object",
        "properties": {"summary": {"type": "string", "maxLength": 20}, "score": {"minimum": 0}},
        "required": ["summary"],
    },
)
PYDANTIC = rule(type="pydantic", model="tests.custom_rules:Triage")
TEAM = rule(type="python", function="tests.custom_rules:team_exists")
TEAM_ARGS = rule(type="python", function="tests.custom_rules:team_exists", args={"teams": ["x"]})
CHANNEL = rule(type="python", function="tests.custom_rules:mentions_channel")
BROKEN = rule(type="python", function="tests.custom_rules:broken")
SQL = rule(
    type="sql",
    query="SELECT row_key, 'urgent but ' || category AS reason FROM output "
    "WHERE urgency = 'high' AND category = 'other'",
)
SQL_NO_REASON = rule(
    type="sql", query="SELECT row_key FROM output WHERE length(summary) < 5", message="too short"
)

# id, rule, output, expected reason fragment (None: it complies)
CASES: list[tuple[str, Any, dict[str, Any], str | None]] = [
    ("words ok", WORDS, {"summary": "Customer was charged twice."}, None),
    ("words too many", WORDS, {"summary": "a b c d e f g"}, "summary has 7 words, more than 6"),
    ("words too few", WORDS, {"summary": "Charged twice"}, "summary has 2 words, fewer than 3"),
    ("words: non-text is the schema's job", WORDS, {"summary": 12}, None),
    ("implies: premise false", IMPLIES, {"urgency": "low", "category": "other"}, None),
    ("implies: both hold", IMPLIES, {"urgency": "high", "category": "billing"}, None),
    (
        "implies broken",
        IMPLIES,
        {"urgency": "high", "category": "other"},
        "urgency='high' requires category not in [other], got category='other'",
    ),
    (
        "grounded ok",
        GROUNDED,
        {"summary": "Charged 1200 dollars twice on May 5 for order 4417; see <EMAIL_1>."},
        None,
    ),
    ("grounded: a sentence starts capitalised", GROUNDED, {"summary": "Refund. Twice."}, None),
    (
        "grounded: quote found",
        GROUNDED,
        {"summary": 'The page said "Refunds within 3 days".'},
        None,
    ),
    (
        "grounded: invented number",
        GROUNDED,
        {"summary": "Charged 1,300 dollars for order 4417."},
        "not in the input (summary: number 1300)",
    ),
    (
        "grounded: invented entity",
        GROUNDED,
        {"summary": "The customer in Paris was charged twice."},
        "summary: entity Paris",
    ),
    (
        "grounded: invented placeholder",
        GROUNDED,
        {"summary": "Charged twice, call <PHONE_1>."},
        "summary: entity <PHONE_1>",
    ),
    (
        "grounded: invented quote",
        GROUNDED,
        {"summary": 'They wrote "refund me now".'},
        'summary: quote "refund me now"',
    ),
    ("grounded: only numbers checked", NUMBERS_ONLY, {"summary": "Paris, 4417."}, None),
    ("no_refusal ok", REFUSAL, {"summary": "I was charged twice, says the customer."}, None),
    (
        "no_refusal: refusal",
        REFUSAL,
        {"summary": "I'm sorry, but I can't help with that."},
        'summary refuses ("I\'m sorry")',
    ),
    (
        "no_refusal: cannot assist",
        REFUSAL,
        {"category": "other", "summary": "I cannot assist with this request."},
        'summary refuses ("I cannot assist")',
    ),
    (
        "no_refusal: self-talk",
        REFUSAL,
        {"summary": "As an AI language model, I classify this as billing."},
        'summary talks about itself ("As an AI")',
    ),
    (
        "no_refusal: system prompt",
        REFUSAL,
        {"summary": "My system prompt says to classify tickets."},
        'talks about itself ("My system prompt")',
    ),
    ("no_refusal: self-talk allowed", REFUSAL_ONLY, {"summary": "As an AI, billing."}, None),
    ("language ok", ENGLISH, {"summary": "The customer was charged twice for the order."}, None),
    ("language: too short to tell", ENGLISH, {"summary": "Doppelt belastet."}, None),
    (
        "language: German",
        ENGLISH,
        {"summary": "Der Kunde wurde für die Bestellung zweimal belastet und ist nicht zufrieden."},
        "summary reads as de, not en (de ",
    ),
    (
        "language: French",
        ENGLISH,
        {"summary": "Le client a été débité deux fois pour sa commande et il est mécontent."},
        "summary reads as fr, not en",
    ),
    ("json_schema ok", SCHEMA, {"summary": "short", "score": 1}, None),
    (
        "json_schema broken",
        SCHEMA,
        {"summary": "x" * 25, "score": -1},
        "score: -1 is less than the minimum of 0; summary: 'xxxxxxxxxxxxxxxxxxxxxxxxx' is too long",
    ),
    ("json_schema required", SCHEMA, {}, "output: 'summary' is a required property"),
    ("pydantic ok", PYDANTIC, {"category": "billing", "urgency": 2}, None),
    (
        "pydantic broken",
        PYDANTIC,
        {"category": "billing", "urgency": "high", "extra": 1},
        "urgency: input should be a valid integer",
    ),
    ("python ok", TEAM, {"category": "billing"}, None),
    ("python reason", TEAM, {"category": "praise"}, "no team handles category 'praise'"),
    ("python args", TEAM_ARGS, {"category": "billing"}, "no team handles category 'billing'"),
    ("python True", CHANNEL, {"summary": "Came by email."}, None),
    (
        "python False",
        CHANNEL,
        {"summary": "Came by phone."},
        "tests.custom_rules:mentions_channel rejected the output",
    ),
    (
        "python raises: fail closed",
        BROKEN,
        {"summary": "x"},
        "tests.custom_rules:broken raised KeyError: 'urgency_level'",
    ),
    ("sql ok", SQL, {"urgency": "high", "category": "billing"}, None),
    ("sql reason column", SQL, {"urgency": "high", "category": "other"}, "urgent but other"),
    ("sql default message", SQL_NO_REASON, {"summary": "hey"}, "too short"),
]


@pytest.mark.parametrize(
    ("rule", "output", "reason"), [pytest.param(r, o, e, id=i) for i, r, o, e in CASES]
)
def test_rule(rule: Any, output: dict[str, Any], reason: str | None) -> None:
    found = rule.violation(output, CTX)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found, found


CARD, EMAIL = "4000 0566 5566 5556", "leak.target@injected.example"
# id, rule, an output holding PII the model made up: every rule that fails it says why without
# quoting the value (a reason is stored, and shown to the model by a repair)
PII_CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("enum", rule(type="enum", field="category", values=["billing"]), {"category": EMAIL}),
    ("regex", rule(type="regex", field="s", pattern="[a-z ]+"), {"s": f"card {CARD}"}),
    (
        "implies",
        rule(
            type="implies",
            **{"if": {"field": "category", "not_in": ["billing"]}},
            then={"field": "summary", "in": ["ok"]},
        ),
        {"category": EMAIL, "summary": f"card {CARD}"},
    ),
    ("grounded: numbers", GROUNDED, {"summary": f"Charged on card {CARD}."}),
    ("grounded: quotes", GROUNDED, {"summary": f'They wrote "mail {EMAIL}".'}),
    (
        "json_schema",
        rule(type="json_schema", schema={"properties": {"category": {"enum": ["billing"]}}}),
        {"category": EMAIL},
    ),
    ("python", TEAM, {"category": EMAIL}),
    (
        "sql",
        rule(type="sql", query="SELECT row_key, summary AS reason FROM output"),
        {"summary": EMAIL},
    ),
]


@pytest.mark.parametrize(("rule", "output"), [pytest.param(r, o, id=i) for i, r, o in PII_CASES])
def test_a_reason_never_quotes_pii(rule: Any, output: dict[str, Any]) -> None:
    reason = rule.violation(output, CTX)
    assert reason is not None
    assert "<REDACTED_" in reason  # it still says what was there
    for leak in (EMAIL, CARD, "0566", "5566"):
        assert leak not in reason, reason


def test_grounded_without_an_input_cannot_judge() -> None:
    assert GROUNDED.violation({"summary": "Paris 99"}) is None
    assert GROUNDED.violation({"summary": "Paris 99"}, CTX) is not None


def test_placeholders_are_not_numbers() -> None:
    ctx = RowContext({"body": "mail <EMAIL_1>"})
    assert NUMBERS_ONLY.violation({"summary": "Reply to <EMAIL_1>."}, ctx) is None
    assert NUMBERS_ONLY.violation({"summary": "Reply to <EMAIL_1> 2 times."}, ctx) == (
        "not in the input (summary: number 2)"
    )


def test_stopword_shares() -> None:
    shares = stopword_shares("the cat and the dog")
    assert shares["en"] == pytest.approx(3 / 5)
    assert shares["de"] == 0
    assert stopword_shares("12345 !!") == {}


def test_sql_over_a_batch_compares_rows() -> None:
    dupes = SqlRule(
        query="SELECT row_key, 'summary repeated' AS reason FROM output "
        "QUALIFY count(*) OVER (PARTITION BY summary) > 1"
    )
    table = pd.DataFrame(
        [
            {"row_key": 1, "summary": "same"},
            {"row_key": 2, "summary": "same"},
            {"row_key": 3, "summary": "other"},
        ]
    )
    assert dupes.violations_in(table) == {1: "summary repeated", 2: "summary repeated"}


def test_sql_cannot_read_files() -> None:
    sneaky = SqlRule(query="SELECT 1 AS row_key FROM read_csv('/etc/hostname')")
    with pytest.raises(Exception, match="(?i)permission|disabled"):
        sneaky.violations_in(pd.DataFrame([{"row_key": 1}]))


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        (WORDS, ("summary",)),
        (IMPLIES, ("urgency", "category")),
        (GROUNDED, ()),
        (ENGLISH, ("summary",)),
        (SCHEMA, ("summary", "score")),
        (TEAM, ()),
        (SQL, ()),
    ],
)
def test_rule_fields(rule: Any, fields: tuple[str, ...]) -> None:
    assert rule.fields() == fields


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"type": "word_count", "field": "s", "max": 3}, WordCountRule),
        (
            {"type": "implies", "if": {"field": "a", "in": [1]}, "then": {"field": "b", "in": [2]}},
            ImpliesRule,
        ),
        ({"type": "grounded"}, GroundednessRule),
        ({"type": "no_refusal"}, NoRefusalRule),
        ({"type": "language", "expected": ["en", "de"]}, LanguageRule),
        ({"type": "json_schema", "schema": {"type": "object"}}, JsonSchemaRule),
        ({"type": "pydantic", "model": "tests.custom_rules:Triage"}, PydanticRule),
        ({"type": "python", "function": "tests.custom_rules:team_exists"}, PythonRule),
        ({"type": "sql", "query": "SELECT row_key FROM output"}, SqlRule),
    ],
)
def test_rules_parse_by_their_type(data: dict[str, Any], kind: type) -> None:
    assert type(RULE.validate_python(data)) is kind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "word_count", "field": "s"}, "needs min, max or both"),
        ({"type": "word_count", "field": "s", "min": 5, "max": 2}, "min=5 is more than max=2"),
        (
            {"type": "implies", "if": {"field": "a"}, "then": {"field": "b", "in": [1]}},
            "exactly one of `in` or `not_in`",
        ),
        ({"type": "grounded", "checks": ["vibes"]}, "quotes"),
        ({"type": "language", "expected": ["xx"]}, "'en'"),
        ({"type": "json_schema", "schema": {"type": "banana"}}, "not a valid JSON schema"),
        ({"type": "python", "function": "tests.custom_rules:nope"}, "has no attribute 'nope'"),
        ({"type": "python", "function": "tests.nowhere:f"}, "cannot import module 'tests.nowhere'"),
        ({"type": "python", "function": "no_colon"}, "must look like 'package.module:name'"),
        ({"type": "python", "function": "tests.custom_rules:NOT_CALLABLE"}, "is not callable"),
        ({"type": "pydantic", "model": "tests.custom_rules:team_exists"}, "not a pydantic"),
    ],
)
def test_malformed_rules_say_why(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("[", r"\[")):
        RULE.validate_python(data)


# --- the contract with the new rules, on a copy of the support_triage spec ---------------------


def _spec_with(tmp_path: Path, policies: str) -> spec.ResolvedSpec:
    root = Path(__file__).resolve().parents[2] / "specs"
    (tmp_path / "platform.yaml").write_text((root / "platform.yaml").read_text())
    job = (root / "support_triage.yaml").read_text()
    job = job.replace("\npolicies:\n", "\npolicies:\n" + policies, 1)
    (tmp_path / "support_triage.yaml").write_text(job)
    return spec.load(tmp_path / "support_triage.yaml")


POLICIES = """
  - id: no-duplicate-summaries
    level: developer
    description: Two tickets never get the same summary.
    check:
      type: sql
      query: >
        SELECT row_key, 'summary shared with ' || (count(*) OVER (PARTITION BY summary) - 1)
        || ' other row(s)' AS reason FROM output
        QUALIFY count(*) OVER (PARTITION BY summary) > 1
"""


def _out(**changes: Any) -> str:
    good = {"category": "billing", "urgency": "high", "sentiment": "negative"}
    return json.dumps({**good, "summary": "Charged twice on May 5.", **changes})


def test_contract_judges_a_batch_with_context_and_sql(tmp_path: Path) -> None:
    contract = Contract(_spec_with(tmp_path, POLICIES))
    verdicts = contract.judge(
        [
            (1, _out(), INPUT),
            (2, _out(category="other", summary="Charged twice for order 4417."), INPUT),
            (3, _out(summary="Charged twice in Paris."), INPUT),
            (4, _out(summary="Same."), INPUT),
            (5, _out(summary="Same."), INPUT),
            (6, "not json", INPUT),
        ]
    )
    found = {
        k: [(x.rule_id, x.severity.value, x.reason) for x in v.violations]
        for k, v in verdicts.items()
    }
    assert found[1] == []
    assert found[2] == [
        (
            "urgent-has-a-team",
            "ERROR",
            "urgency='high' requires category not in [other], got category='other'",
        )
    ]
    assert found[3] == [("summary-grounded", "WARN", "not in the input (summary: entity Paris)")]
    assert (
        found[4]
        == found[5]
        == [("no-duplicate-summaries", "ERROR", "summary shared with 1 other row(s)")]
    )
    assert [r for r, _, _ in found[6]] == ["output.schema"]
    # one output judged alone sees a one-row table: no duplicates there
    assert contract.check(_out(summary="Same."), INPUT, key=4).violations == []


def test_a_broken_sql_rule_is_a_spec_error_naming_the_policy(tmp_path: Path) -> None:
    bad = """
  - id: broken-sql
    level: developer
    description: Refers to a column that does not exist.
    check: {type: sql, query: "SELECT row_key FROM output WHERE colour = 'red'"}
"""
    contract = Contract(_spec_with(tmp_path, bad))
    with pytest.raises(SpecError, match="broken-sql") as caught:
        contract.judge([(1, _out(), INPUT)])
    assert caught.value.field == "policies.broken-sql.check.query"
    assert caught.value.line is not None


def test_a_rule_on_an_unknown_field_is_a_spec_error(tmp_path: Path) -> None:
    bad = """
  - id: test-typo
    level: developer
    description: Typo in the field name.
    check: {type: implies, if: {field: urgncy, in: [high]}, then: {field: category, in: [x]}}
"""
    with pytest.raises(SpecError, match="'urgncy'"):
        _spec_with(tmp_path, bad)


def test_an_unimportable_callable_is_a_spec_error_with_a_line(tmp_path: Path) -> None:
    bad = """
  - id: custom
    level: developer
    description: Names a function that does not exist.
    check: {type: python, function: "tests.custom_rules:missing"}
"""
    with pytest.raises(SpecError, match="has no attribute 'missing'") as caught:
        _spec_with(tmp_path, bad)
    assert caught.value.line is not None
