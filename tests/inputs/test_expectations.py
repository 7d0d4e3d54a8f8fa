"""Tests for the input expectations (``governance_pipeline.inputs.expectations``).

Input expectations decide which rows may reach the model. A rule that flags too little lets
malformed rows (an impossible date, a channel nobody handles, a 10 kB body) into paid calls; a
rule that flags too much quarantines good tickets. So each rule is held against a row that breaks
only that rule, and the quarantine reason must name the rule that broke, because it is what a
person reads in `input_quarantine`.

A column that disappeared from the landing table (schema drift) is a batch failure, not a crash:
the run must still account for every row. The compiled suite is checked in, so compiling must be
byte-for-byte stable.

Great Expectations takes seconds to import, so the frames are validated once per module.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from governance_pipeline import spec
from governance_pipeline.inputs import expectations, validation
from governance_pipeline.inputs.validation import InputVerdicts

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JOB = spec.load(PROJECT_ROOT / "specs" / "support_triage.yaml").job
SUITE = expectations.compile_suite(JOB)
KEY = "ticket_id"


# --- compiling -------------------------------------------------------------------------------

TEXT = "expect_column_values_to_not_match_regex"
EXPECTED_SUITE = [
    ("input.schema", "expect_table_columns_to_match_set"),
    ("input.row_count", "expect_table_row_count_to_be_between"),
    ("input.ticket_id.required", "expect_column_values_to_not_be_null"),
    ("input.ticket_id.type", "expect_column_values_to_match_regex"),
    ("input.ticket_id.between", "expect_column_values_to_be_between"),
    ("input.ticket_id.unique", "expect_column_values_to_be_unique"),
    ("input.created_at.required", "expect_column_values_to_not_be_null"),
    ("input.created_at.type", "expect_column_values_to_match_regex"),
    ("input.created_at.type", "expect_column_values_to_not_be_null"),
    ("input.channel.required", "expect_column_values_to_not_be_null"),
    ("input.channel.required", "expect_column_values_to_match_regex"),
    ("input.channel.text", TEXT),
    ("input.channel.allowed", "expect_column_values_to_be_in_set"),
    ("input.customer_name.text", TEXT),
    ("input.subject.text", TEXT),
    ("input.subject.length", "expect_column_value_lengths_to_be_between"),
    ("input.body.required", "expect_column_values_to_not_be_null"),
    ("input.body.required", "expect_column_values_to_match_regex"),
    ("input.body.text", TEXT),
    ("input.body.length", "expect_column_value_lengths_to_be_between"),
    ("input.body.length", "expect_column_value_lengths_to_be_between"),
]


def test_compile_suite_ids_and_kinds() -> None:
    assert SUITE["name"] == "support_triage.input"
    assert SUITE["meta"] == {
        "source": "raw.support_tickets",
        "derived": {
            "ticket_id__number": {"from": "ticket_id", "as": "number"},
            "created_at__epoch_s": {"from": "created_at", "as": "epoch_s"},
            "body__stripped": {"from": "body", "as": "stripped"},
        },
    }
    assert [(e["meta"]["id"], e["type"]) for e in SUITE["expectations"]] == EXPECTED_SUITE


def _kwargs(rule_id: str, kind: str) -> dict:
    return next(
        e["kwargs"]
        for e in SUITE["expectations"]
        if (e["meta"]["id"], e["type"]) == (rule_id, kind)
    )


@pytest.mark.parametrize(
    ("rule_id", "kind", "kwargs"),
    [
        (
            "input.schema",
            "expect_table_columns_to_match_set",
            {
                "column_set": [
                    "ticket_id",
                    "created_at",
                    "channel",
                    "customer_name",
                    "subject",
                    "body",
                ],
                "exact_match": True,
            },
        ),
        (
            "input.ticket_id.between",
            "expect_column_values_to_be_between",
            {"column": "ticket_id__number", "min_value": 1.0, "max_value": None},
        ),
        (
            "input.created_at.type",
            "expect_column_values_to_not_be_null",
            {
                "column": "created_at__epoch_s",
                "row_condition": {
                    "type": "nullity",
                    "column": {"name": "created_at"},
                    "is_null": False,
                },
            },
        ),
        ("input.row_count", "expect_table_row_count_to_be_between", {"min_value": 1}),
        (
            "input.channel.allowed",
            "expect_column_values_to_be_in_set",
            {"column": "channel", "value_set": ["email", "chat", "phone", "web"]},
        ),
        (
            "input.body.length",
            "expect_column_value_lengths_to_be_between",
            {"column": "body__stripped", "min_value": 1},  # and the max on the text itself
        ),
        (
            "input.subject.length",
            "expect_column_value_lengths_to_be_between",
            {"column": "subject", "max_value": 200},
        ),
    ],
)
def test_compile_suite_carries_the_spec_values(rule_id: str, kind: str, kwargs: dict) -> None:
    assert _kwargs(rule_id, kind) == kwargs


def _column_job(**column: object) -> spec.JobSpec:
    """A minimal job whose source has a key and one column `c` with the given rules."""
    return spec.JobSpec.model_validate(
        {
            "job": "demo",
            "owner": "me",
            "source": {"table": "raw.t", "key": "c", "columns": {"c": column}},
            "redaction": {"columns": []},
            "model": {"prompt_columns": ["c"], "task": "t"},
            "output": {"x": {"description": "x"}},
        }
    )


REGEX = "expect_column_values_to_match_regex"


@pytest.mark.parametrize(
    ("column", "kinds"),
    [
        ({}, [("input.c.text", TEXT)]),
        ({"type": "integer"}, [("input.c.type", REGEX)]),
        ({"type": "float"}, [("input.c.type", REGEX)]),
        (
            {"type": "timestamp"},
            [
                ("input.c.type", REGEX),
                ("input.c.type", "expect_column_values_to_not_be_null"),
            ],
        ),
        ({"type": "boolean"}, [("input.c.type", "expect_column_values_to_be_in_set")]),
        ({"pattern": "^[A-Z]+$"}, [("input.c.text", TEXT), ("input.c.pattern", REGEX)]),
        (
            {"min_length": 2},
            [
                ("input.c.text", TEXT),
                ("input.c.length", "expect_column_value_lengths_to_be_between"),
            ],
        ),
        (
            {"unique": True, "required": True},
            [
                ("input.c.required", "expect_column_values_to_not_be_null"),
                ("input.c.required", REGEX),  # not blank
                ("input.c.text", TEXT),
                ("input.c.unique", "expect_column_values_to_be_unique"),
            ],
        ),
        (
            {"type": "integer", "required": True},
            [
                ("input.c.required", "expect_column_values_to_not_be_null"),
                ("input.c.type", REGEX),
            ],
        ),
        (
            {"type": "float", "min": 0, "max": 5},
            [("input.c.type", REGEX), ("input.c.between", "expect_column_values_to_be_between")],
        ),
        (
            {"type": "timestamp", "max_age_hours": 24},
            [
                ("input.c.type", REGEX),
                ("input.c.type", "expect_column_values_to_not_be_null"),
                ("input.c.freshness", "expect_column_max_to_be_between"),
            ],
        ),
    ],
)
def test_each_column_rule_compiles_to_its_expectation(column: dict, kinds: list) -> None:
    suite = expectations.compile_suite(_column_job(**column))
    per_column = [(e["meta"]["id"], e["type"]) for e in suite["expectations"][2:]]
    assert per_column == kinds


def _type_regex(column_type: str) -> str:
    suite = expectations.compile_suite(_column_job(type=column_type))
    return next(e["kwargs"]["regex"] for e in suite["expectations"] if "regex" in e["kwargs"])


@pytest.mark.parametrize(
    ("column_type", "text", "matches"),
    [
        ("timestamp", "2026-01-31", True),
        ("timestamp", "2026-01-31T09:15", True),
        ("timestamp", "2026-01-31 09:15:07.123+02:00", True),
        ("timestamp", "2026-01-31T09:15:07Z", True),
        ("timestamp", "31/01/2026", False),
        ("timestamp", "yesterday", False),
        ("timestamp", "2026-01-31T9:15", False),
        ("integer", "-42", True),
        ("integer", "4.2", False),
        ("integer", "12a", False),
        ("float", "4.2e-3", True),
        ("float", ".5", True),
        ("float", "1,5", False),
    ],
)
def test_type_patterns(column_type: str, text: str, matches: bool) -> None:
    assert bool(re.search(_type_regex(column_type), text)) is matches


def test_render_suite_is_stable_and_matches_the_checked_in_suite() -> None:
    text = expectations.render_suite(SUITE)
    assert text == expectations.render_suite(expectations.compile_suite(JOB))
    assert text.endswith("}\n")
    assert json.loads(text) == SUITE
    checked_in = expectations.suite_path(PROJECT_ROOT / "expectations", "support_triage")
    assert checked_in.read_text() == text, "run `govern compile` to regenerate the suite"


# --- compiling the rules added for scale: between, freshness, schema drift ------------------


def test_between_reads_a_numeric_view_of_the_text() -> None:
    suite = expectations.compile_suite(_column_job(type="float", min=0, max=5))
    between = suite["expectations"][-1]
    assert between["kwargs"] == {"column": "c__number", "min_value": 0.0, "max_value": 5.0}
    assert between["meta"]["description"] == "c is between 0 and 5"
    assert suite["meta"]["derived"] == {"c__number": {"from": "c", "as": "number"}}


def test_freshness_is_a_run_time_parameter_so_the_suite_stays_stable() -> None:
    suite = expectations.compile_suite(_column_job(type="timestamp", max_age_hours=24))
    fresh = suite["expectations"][-1]
    assert fresh["kwargs"] == {
        "column": "c__epoch_s",
        "min_value": {"$PARAMETER": "c__fresh_after_epoch_s"},
    }
    assert suite["meta"]["parameters"] == {"c__fresh_after_epoch_s": {"now_minus_hours": 24}}
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert validation.parameters(suite, now) == {"c__fresh_after_epoch_s": now.timestamp() - 86400}


def test_new_columns_are_drift_unless_the_spec_allows_them() -> None:
    job = _column_job()
    relaxed = job.model_copy(
        update={"source": job.source.model_copy(update={"allow_new_columns": True})}
    )
    assert expectations.compile_suite(job)["expectations"][0]["kwargs"]["exact_match"] is True
    assert expectations.compile_suite(relaxed)["expectations"][0]["kwargs"]["exact_match"] is False


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"min": 1}, "min and max need type integer or float"),
        ({"type": "integer", "max_age_hours": 2}, "max_age_hours needs type timestamp"),
        ({"type": "integer", "min": 5, "max": 1}, "min=5.0 is greater than max=1.0"),
    ],
)
def test_rules_that_do_not_fit_the_type_are_spec_errors(column: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _column_job(**column)


# --- validating ------------------------------------------------------------------------------

GOOD = {
    "ticket_id": "1",
    "created_at": "2026-01-05T09:30:00Z",
    "channel": "email",
    "customer_name": None,  # optional
    "subject": "Charged twice",
    "body": "I was charged twice.",
}

# key, what is wrong with the row, the rule ids it must fail (in suite order)
ROWS = [
    ("1", {}, []),
    ("2", {"body": None}, ["input.body.required"]),
    ("3", {"body": "x" * 4001}, ["input.body.length"]),
    ("4", {"body": ""}, ["input.body.required", "input.body.length"]),
    # required text is more than whitespace, and whitespace does not count toward min_length
    ("41", {"body": " \n\t  "}, ["input.body.required", "input.body.length"]),
    ("42", {"channel": "   "}, ["input.channel.required", "input.channel.allowed"]),
    ("43", {"subject": "   ", "body": "  ok  "}, []),
    ("5", {"channel": "fax"}, ["input.channel.allowed"]),
    ("6", {"channel": None}, ["input.channel.required"]),
    ("7", {"created_at": "yesterday"}, ["input.created_at.type"]),
    ("8", {"created_at": "2026-02-30"}, ["input.created_at.type"]),
    ("9", {"created_at": "2026-01-05 09:30"}, []),
    ("10", {"subject": "s" * 201}, ["input.subject.length"]),
    ("11", {"subject": "s" * 200, "body": "b" * 4000}, []),
    ("x12", {}, ["input.ticket_id.type"]),
    (
        "13",
        {"created_at": "soon", "channel": "pigeon", "body": None},
        ["input.created_at.type", "input.channel.allowed", "input.body.required"],
    ),
    ("0", {}, ["input.ticket_id.between"]),
    ("-3", {}, ["input.ticket_id.between"]),
    ("14", {"body": "line one\nline two\ttabbed\r\n"}, []),
    ("15", {"body": "bell\x07 and nul\x00"}, ["input.body.text"]),
    (
        "16",
        {"subject": "caf\ufffd", "customer_name": "Ann\x1b[31m"},
        [
            "input.customer_name.text",
            "input.subject.text",
        ],
    ),
    ("17", {"body": "x" * 1_000_000}, ["input.body.length"]),
    ("18", {"created_at": None}, ["input.created_at.required"]),
]


def _frame(rows: list[tuple[str, dict, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, "ticket_id": key, **changes} for key, changes, _ in rows])


def _validate(frame: pd.DataFrame) -> InputVerdicts:
    """The suite over `frame`, landed as the suite's source table (raw.support_tickets)."""
    table = SUITE["meta"]["source"]
    with duckdb.connect() as con:
        con.execute(f"CREATE SCHEMA {table.split('.')[0]}")
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
        return validation.validate_table(con, table, SUITE, KEY)


@pytest.fixture(scope="module")
def verdicts() -> InputVerdicts:
    return _validate(_frame(ROWS))


def test_validate_evaluates_every_row_without_batch_failures(verdicts: InputVerdicts) -> None:
    assert verdicts.evaluated == len(ROWS)
    assert verdicts.batch_failures == []
    assert set(verdicts.failed_by_key) == {key for key, _, failed in ROWS if failed}


@pytest.mark.parametrize(
    ("key", "failed"),
    [
        pytest.param(key, failed, id=f"{key[:3]}-{'+'.join(ch) or 'good'}")
        for key, ch, failed in ROWS
    ],
)
def test_validate_flags_each_broken_rule_by_key(
    verdicts: InputVerdicts, key: str, failed: list[str]
) -> None:
    assert verdicts.failed_by_key.get(key, []) == failed


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("2", "input.body.required: expected body is present"),
        ("5", "input.channel.allowed: expected channel is one of email, chat, phone, web"),
        ("8", "input.created_at.type: expected created_at parses as timestamp"),
        ("3", "input.body.length: expected body is 1 to 4000 characters"),
        ("10", "input.subject.length: expected subject is 0 to 200 characters"),
        ("0", "input.ticket_id.between: expected ticket_id is at least 1"),
        (
            "15",
            "input.body.text: expected body is clean text (no control characters, valid UTF-8)",
        ),
        (
            "13",
            "input.created_at.type: expected created_at parses as timestamp; "
            "input.channel.allowed: expected channel is one of email, chat, phone, web; "
            "input.body.required: expected body is present",
        ),
    ],
)
def test_reason_names_the_rules_in_words(verdicts: InputVerdicts, key: str, reason: str) -> None:
    assert verdicts.reasons(SUITE)[key] == reason


def test_duplicate_keys_fail_uniqueness() -> None:
    frame = _frame([("1", {}, []), ("2", {}, []), ("2", {"subject": "again"}, [])])
    result = _validate(frame)
    assert result.failed_by_key == {"2": ["input.ticket_id.unique"]}
    assert result.batch_failures == []


def test_missing_columns_are_batch_failures_not_exceptions() -> None:
    frame = _frame(ROWS).drop(columns=["channel", "created_at"])
    result = _validate(frame)
    assert result.batch_failures == [
        "input.schema",
        "input.created_at.required",
        "input.created_at.type",  # once, though two expectations share the id
        "input.channel.required",
        "input.channel.text",
        "input.channel.allowed",
    ]
    assert result.details["input.schema"] == (
        "schema drift in raw.support_tickets: missing column(s) created_at, channel"
    )
    # rules on the columns that are still there keep judging rows one by one
    assert result.failed_by_key["2"] == ["input.body.required"]
    assert result.failed_by_key["x12"] == ["input.ticket_id.type"]
    assert "5" not in result.failed_by_key


def test_an_empty_table_fails_the_row_count() -> None:
    result = _validate(_frame(ROWS).iloc[:0])
    assert result.batch_failures == ["input.row_count"]
    assert result.failed_by_key == {}
    assert result.evaluated == 0
