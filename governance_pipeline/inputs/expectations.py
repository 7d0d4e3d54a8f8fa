"""Input expectations: the spec's source columns compiled to a Great Expectations suite.

The suite is plain JSON (expectations/<job>.input.json, written by `govern compile`). Each
expectation's `meta.id` names the spec rule it came from (`input.<column>.<rule>`), which is the
reason a quarantined row carries. Validation lives in `governance_pipeline.inputs.validation`.

The landing table is read as text, so two kinds of rule need a typed view of a column. The
suite declares those views in `meta.derived`, and validation adds them to every batch before GX
sees it:

* `<column>__number`: the text cast to a number (`pandas.to_numeric`, null when it is not one),
  for `min`/`max` (`expect_column_values_to_be_between`; a non-number fails the type rule, not
  this one).
* `<column>__stripped`: the text without leading and trailing whitespace, for `min_length`.
* `<column>__epoch_s`: an ISO 8601 timestamp as seconds since 1970 (null when it is no real
  date), for the calendar half of the type rule (not null where the text is not null) and for
  freshness (`expect_column_max_to_be_between`).

Freshness depends on when the run happens, so its bound is a GX suite parameter
(`{"$PARAMETER": "<column>__fresh_after_epoch_s"}`) declared in `meta.parameters` and computed
at validation time; the checked-in suite stays stable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from governance_pipeline.spec import Column, JobSpec

ISO_TIMESTAMP = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_TYPE_PATTERNS = {
    "integer": r"^[+-]?\d+$",
    "float": r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$",
    "timestamp": ISO_TIMESTAMP,
}
# Control characters other than tab, newline and carriage return, and U+FFFD, which stands in
# for bytes that were not valid UTF-8.
UNCLEAN_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]"
BOOLEAN_TEXT = ["true", "false", "True", "False", "0", "1"]
NOT_BLANK = r"\S"  # searched, not anchored: some character other than whitespace

# Expectations judged on the whole table, never on one chunk of it.
TABLE_LEVEL = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_be_unique",
        "expect_column_max_to_be_between",
    }
)


def _expectation(kind: str, rule_id: str, description: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"id": rule_id, "description": description}}


def _bounds(name: str, col: Column) -> str:
    low, high = (f"{v:g}" if v is not None else None for v in (col.min, col.max))
    if low is not None and high is not None:
        return f"{name} is between {low} and {high}"
    return f"{name} is at least {low}" if low is not None else f"{name} is at most {high}"


def _column_rules(name: str, col: Column, derived: dict[str, Any]) -> list[dict[str, Any]]:
    rid = f"input.{name}"
    exps = []
    if col.required:
        exps.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                f"{rid}.required",
                f"{name} is present",
                column=name,
            )
        )
        if col.type == "string":  # present text is more than whitespace
            exps.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    f"{rid}.required",
                    f"{name} is present and not blank",
                    column=name,
                    regex=NOT_BLANK,
                )
            )
    if col.type in _TYPE_PATTERNS:
        exps.append(
            _expectation(
                "expect_column_values_to_match_regex",
                f"{rid}.type",
                f"{name} parses as {col.type}",
                column=name,
                regex=_TYPE_PATTERNS[col.type],
            )
        )
    if col.type == "timestamp":  # the pattern checks the shape, this the calendar
        derived[f"{name}__epoch_s"] = {"from": name, "as": "epoch_s"}
        exps.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                f"{rid}.type",
                f"{name} is a real date and time",
                column=f"{name}__epoch_s",
                row_condition={"type": "nullity", "column": {"name": name}, "is_null": False},
            )
        )
    if col.type == "boolean":
        exps.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                f"{rid}.type",
                f"{name} is a boolean",
                column=name,
                value_set=BOOLEAN_TEXT,
            )
        )
    if col.type == "string":
        exps.append(
            _expectation(
                "expect_column_values_to_not_match_regex",
                f"{rid}.text",
                f"{name} is clean text (no control characters, valid UTF-8)",
                column=name,
                regex=UNCLEAN_TEXT,
            )
        )
    if col.min is not None or col.max is not None:
        derived[f"{name}__number"] = {"from": name, "as": "number"}
        exps.append(
            _expectation(
                "expect_column_values_to_be_between",
                f"{rid}.between",
                _bounds(name, col),
                column=f"{name}__number",
                min_value=col.min,
                max_value=col.max,
            )
        )
    if col.unique:
        exps.append(
            _expectation(
                "expect_column_values_to_be_unique",
                f"{rid}.unique",
                f"no two rows share a {name}",
                column=name,
            )
        )
    if col.allowed is not None:
        exps.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                f"{rid}.allowed",
                f"{name} is one of {', '.join(col.allowed)}",
                column=name,
                value_set=col.allowed,
            )
        )
    if col.min_length is not None or col.max_length is not None:
        described = f"{name} is {col.min_length or 0} to {col.max_length or 'any'} characters"
        if col.min_length:  # whitespace around the text does not make it longer
            derived[f"{name}__stripped"] = {"from": name, "as": "stripped"}
            exps.append(
                _expectation(
                    "expect_column_value_lengths_to_be_between",
                    f"{rid}.length",
                    described,
                    column=f"{name}__stripped",
                    min_value=col.min_length,
                )
            )
        if col.max_length is not None:
            exps.append(
                _expectation(
                    "expect_column_value_lengths_to_be_between",
                    f"{rid}.length",
                    described,
                    column=name,
                    max_value=col.max_length,
                )
            )
    if col.pattern is not None:
        exps.append(
            _expectation(
                "expect_column_values_to_match_regex",
                f"{rid}.pattern",
                f"{name} matches /{col.pattern}/",
                column=name,
                regex=col.pattern,
            )
        )
    return exps


def compile_suite(job: JobSpec) -> dict[str, Any]:
    """The GX suite of a job's input rules, as a JSON-ready dict in a stable order."""
    src = job.source
    exact = not src.allow_new_columns
    exps = [
        _expectation(
            "expect_table_columns_to_match_set",
            "input.schema",
            f"{src.table} has {'exactly' if exact else 'at least'} the columns "
            f"{', '.join(src.columns)}",
            column_set=list(src.columns),
            exact_match=exact,
        ),
        _expectation(
            "expect_table_row_count_to_be_between",
            "input.row_count",
            f"{src.table} has at least {src.min_rows} rows",
            min_value=src.min_rows,
        ),
    ]
    derived: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for name, col in src.columns.items():
        exps += _column_rules(name, col, derived)
    for name, col in src.columns.items():  # batch-level, so after every row rule
        if col.max_age_hours is not None:
            param = f"{name}__fresh_after_epoch_s"
            parameters[param] = {"now_minus_hours": col.max_age_hours}
            exps.append(
                _expectation(
                    "expect_column_max_to_be_between",
                    f"input.{name}.freshness",
                    f"the newest {name} is at most {col.max_age_hours:g} hours old",
                    column=f"{name}__epoch_s",
                    min_value={"$PARAMETER": param},
                )
            )
    meta: dict[str, Any] = {"source": src.table}
    if derived:
        meta["derived"] = derived
    if parameters:
        meta["parameters"] = parameters
    return {"name": f"{job.job}.input", "expectations": exps, "meta": meta}


def suite_path(expectations_dir: Path, job: str) -> Path:
    """Where a job's compiled suite is checked in."""
    return expectations_dir / f"{job}.input.json"


def render_suite(suite: dict[str, Any]) -> str:
    """The suite as the exact text `govern compile` writes."""
    return json.dumps(suite, indent=2, sort_keys=True) + "\n"


def descriptions(suite: dict[str, Any]) -> dict[str, str]:
    """Rule id to its description (the first, where two expectations share an id)."""
    described: dict[str, str] = {}
    for e in suite["expectations"]:
        described.setdefault(e["meta"]["id"], e["meta"]["description"])
    return described
