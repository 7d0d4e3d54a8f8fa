"""Input expectations: the spec's source columns compiled to a Great Expectations suite.

The suite is plain JSON (expectations/<job>.input.json, written by `govern compile`). Each
expectation's `meta.id` names the spec rule it came from (`input.<column>.<rule>`), which is the
reason a quarantined row carries. Validation runs GX on pandas batches fetched from DuckDB (GX's
SQL datasource is broken on DuckDB) and returns per-row verdicts by source key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from governance_pipeline.spec import JobSpec

ISO_TIMESTAMP = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_TYPE_PATTERNS = {
    "integer": r"^[+-]?\d+$",
    "float": r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$",
    "timestamp": ISO_TIMESTAMP,
}


def _expectation(kind: str, rule_id: str, description: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"id": rule_id, "description": description}}


def compile_suite(job: JobSpec) -> dict[str, Any]:
    """The GX suite of a job's input rules, as a JSON-ready dict in a stable order."""
    src = job.source
    exps = [
        _expectation(
            "expect_table_columns_to_match_set",
            "input.schema",
            f"{src.table} has the columns {', '.join(src.columns)}",
            column_set=list(src.columns),
            exact_match=False,
        ),
        _expectation(
            "expect_table_row_count_to_be_between",
            "input.row_count",
            f"{src.table} has at least {src.min_rows} rows",
            min_value=src.min_rows,
        ),
    ]
    for name, col in src.columns.items():
        rid = f"input.{name}"
        if col.required:
            exps.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    f"{rid}.required",
                    f"{name} is present",
                    column=name,
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
            exps.append(
                _expectation(
                    "expect_column_values_to_be_dateutil_parseable",
                    f"{rid}.type",
                    f"{name} is a real date and time",
                    column=name,
                )
            )
        if col.type == "boolean":
            exps.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    f"{rid}.type",
                    f"{name} is a boolean",
                    column=name,
                    value_set=["true", "false", "True", "False", "0", "1"],
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
            exps.append(
                _expectation(
                    "expect_column_value_lengths_to_be_between",
                    f"{rid}.length",
                    f"{name} is {col.min_length or 0} to {col.max_length or 'any'} characters",
                    column=name,
                    min_value=col.min_length,
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
    return {"name": f"{job.job}.input", "expectations": exps, "meta": {"source": src.table}}


def suite_path(expectations_dir: Path, job: str) -> Path:
    """Where a job's compiled suite is checked in."""
    return expectations_dir / f"{job}.input.json"


def render_suite(suite: dict[str, Any]) -> str:
    """The suite as the exact text `govern compile` writes."""
    return json.dumps(suite, indent=2, sort_keys=True) + "\n"


@dataclass
class InputVerdicts:
    """What validation found: failing rule ids per key, and batch-level failures."""

    failed_by_key: dict[Any, list[str]] = field(default_factory=dict)
    batch_failures: list[str] = field(default_factory=list)
    evaluated: int = 0

    def reason(self, key: Any, suite: dict[str, Any]) -> str:
        """A readable reason for a quarantined key."""
        described: dict[str, str] = {}
        for e in suite["expectations"]:
            described.setdefault(e["meta"]["id"], e["meta"]["description"])
        ids = self.failed_by_key[key]
        return "; ".join(f"{i}: expected {described.get(i, i)}" for i in ids)


def validate(frame: pd.DataFrame, suite: dict[str, Any], key: str) -> InputVerdicts:
    """Run the suite over a frame of text columns; collect failing keys per expectation.

    The frame's values are strings (the landing zone's text), so type expectations are pattern
    matches on the text. Only keys leave GX: the failing values themselves are never kept.
    """
    import great_expectations as gx  # slow import: only when validating
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        ctx.data_sources.add_pandas("source")
        .add_dataframe_asset("rows")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(
        gx.ExpectationSuite(**json.loads(json.dumps(suite))),
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [key]},
    )
    order = [e["meta"]["id"] for e in suite["expectations"]]
    verdicts = InputVerdicts(evaluated=len(frame))
    for r in sorted(result.results, key=lambda r: order.index(r.expectation_config.meta["id"])):
        rule_id = r.expectation_config.meta["id"]
        if r.success:
            continue
        unexpected = (r.result or {}).get("unexpected_index_list")
        if unexpected is None:  # two expectations can share an id (a timestamp's type)
            if rule_id not in verdicts.batch_failures:
                verdicts.batch_failures.append(rule_id)
            continue
        for item in unexpected:
            failed = verdicts.failed_by_key.setdefault(item[key], [])
            if rule_id not in failed:
                failed.append(rule_id)
    return verdicts
