"""Validation of input rows against the compiled GX suite, with per-row verdicts.

`validate_table` runs the suite on a DuckDB table of any size in bounded memory: the table is
read as text in chunks of `chunk_rows`, and GX judges each chunk on the row rules. Rules that a
chunk cannot judge are judged on the whole table: schema (DESCRIBE; new and missing columns are
named), row count and uniqueness (SQL in DuckDB), and freshness (the newest value of the
column's typed view, as GX would see it, read in chunks). GX's SQL datasource fails on
DuckDB, hence pandas chunks.

A run judges its row rules on the rows in its scope only (`rows`, see `inputs.scope`), and the
batch rules on the whole table: a run with nothing due never imports GX.

Only keys leave validation: failing values are never kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from governance_pipeline.inputs.expectations import TABLE_LEVEL, descriptions
from governance_pipeline.store import column_types, fetch_chunks, reader, scalar

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

CHUNK_ROWS = 50_000


@dataclass
class InputVerdicts:
    """What validation found: failing rule ids per key, and batch-level failures."""

    failed_by_key: dict[Any, list[str]] = field(default_factory=dict)
    batch_failures: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    evaluated: int = 0
    """Rows of the table (what the row-count rule counts)."""
    judged: int = 0
    """Rows the row rules judged: the table's, or those of the run's scope."""

    def reasons(self, suite: dict[str, Any]) -> dict[Any, str]:
        """A readable reason for every quarantined key (the descriptions looked up once)."""
        described = descriptions(suite)
        return {
            key: "; ".join(f"{i}: expected {described.get(i, i)}" for i in ids)
            for key, ids in self.failed_by_key.items()
        }

    def batch_message(self, suite: dict[str, Any]) -> str:
        """The batch failures in words, each with what was found (e.g. the drifted columns)."""
        described = descriptions(suite)
        return "; ".join(
            f"{i}: {self.details[i]}" if i in self.details else f"{i}: expected {described[i]}"
            for i in self.batch_failures
        )

    def _fail(self, key: Any, rule_id: str) -> None:
        failed = self.failed_by_key.setdefault(key, [])
        if rule_id not in failed:
            failed.append(rule_id)

    def _fail_batch(self, rule_id: str, detail: str | None = None) -> None:
        if rule_id not in self.batch_failures:
            self.batch_failures.append(rule_id)
        if detail:
            self.details.setdefault(rule_id, detail)


def add_derived(frame: pd.DataFrame, suite: dict[str, Any]) -> pd.DataFrame:
    """The frame with the typed views the suite declares in `meta.derived` (see expectations)."""
    out = frame
    for name, how in suite.get("meta", {}).get("derived", {}).items():
        if how["from"] not in frame.columns:
            continue
        text = frame[how["from"]]
        if how["as"] == "number":
            values = pd.to_numeric(text, errors="coerce")
        elif how["as"] == "stripped":
            values = text.str.strip()
        else:
            parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
            values = pd.Series(np.nan, index=frame.index, dtype="float64")
            ok = parsed.notna()
            values[ok] = parsed[ok].astype("int64") // 10**9
        out = out.assign(**{name: values})
    return out


def parameters(suite: dict[str, Any], now: datetime | None = None) -> dict[str, float]:
    """Values of the suite's run-time parameters (freshness bounds) at `now`."""
    now = now or datetime.now(UTC)
    return {
        name: (now - timedelta(hours=p["now_minus_hours"])).timestamp()
        for name, p in suite.get("meta", {}).get("parameters", {}).items()
    }


class _Gx:
    """One ephemeral GX context and suite, reused for every chunk."""

    def __init__(self, suite: dict[str, Any], key: str, now: datetime | None) -> None:
        import great_expectations as gx  # slow import: only when validating
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._batches = (
            ctx.data_sources.add_pandas("source")
            .add_dataframe_asset("rows")
            .add_batch_definition_whole_dataframe("all")
        )
        self._suite = gx.ExpectationSuite(**json.loads(json.dumps(suite)))
        self._raw, self._key = suite, key
        self._params = parameters(suite, now)
        self._order = [e["meta"]["id"] for e in suite["expectations"]]

    def run(
        self, frame: pd.DataFrame, verdicts: InputVerdicts
    ) -> list[ExpectationValidationResult]:
        """Validate one frame; record row failures; return the failed results, in suite order."""
        batch = self._batches.get_batch(
            batch_parameters={"dataframe": add_derived(frame, self._raw)}
        )
        result = batch.validate(
            self._suite,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [self._key],
            },
            expectation_parameters=self._params,
        )
        failed = [r for r in result.results if not r.success]
        failed.sort(key=lambda r: self._order.index(_rule_id(r)))
        for r in failed:
            unexpected = (r.result or {}).get("unexpected_index_list")
            for item in unexpected or ():
                verdicts._fail(item[self._key], _rule_id(r))
        return [r for r in failed if (r.result or {}).get("unexpected_index_list") is None]


def _rule_id(result: ExpectationValidationResult) -> str:
    """The id of the spec rule a result answers: its expectation's `meta.id`."""
    config = result.expectation_config
    assert config is not None, "GX sets the expectation of every result it returns"
    return str(config.meta["id"])


def _source_column(e: dict[str, Any], suite: dict[str, Any]) -> str | None:
    """The source column an expectation reads (through a derived view), None for the table."""
    column = e["kwargs"].get("column")
    derived = suite.get("meta", {}).get("derived", {})
    source: str | None = derived[column]["from"] if column in derived else column
    return source


def schema_drift(kwargs: dict[str, Any], columns: list[str], table: str) -> str | None:
    """The drift of `columns` from the expected set, in words; None when there is none."""
    missing = [c for c in kwargs["column_set"] if c not in columns]
    new = [c for c in columns if c not in kwargs["column_set"]] if kwargs["exact_match"] else []
    drift = [f"missing column(s) {', '.join(missing)}"] if missing else []
    drift += [f"new column(s) {', '.join(new)}"] if new else []
    return f"schema drift in {table}: {'; '.join(drift)}" if drift else None


def text_of(column: str, duck_type: str) -> str:
    """SQL of a column's value as text, as validation reads it; bytes that are not UTF-8 keep
    their escaped form behind U+FFFD, which the clean-text rule rejects."""
    q = f'"{column}"'
    if duck_type == "BLOB":
        return f"coalesce(try(decode({q})), '\ufffd' || CAST({q} AS VARCHAR))"
    if duck_type == "TIMESTAMP WITH TIME ZONE":  # DuckDB writes "+00", ISO 8601 wants "Z"
        return f"CAST(timezone('UTC', {q}) AS VARCHAR) || 'Z'"
    return f"CAST({q} AS VARCHAR)"


def _text(column: str, duck_type: str) -> str:
    return f'{text_of(column, duck_type)} AS "{column}"'


def _table_rules(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: dict[str, Any],
    key: str,
    columns: list[str],
    verdicts: InputVerdicts,
) -> None:
    """Judge the rules a chunk cannot: schema, row count, uniqueness; and rules on columns
    that are missing (a batch failure each, as GX reports them)."""
    for e in suite["expectations"]:
        rid, kind, kw = e["meta"]["id"], e["type"], e["kwargs"]
        column = _source_column(e, suite)
        if kind == "expect_table_columns_to_match_set":
            if drift := schema_drift(kw, columns, table):
                verdicts._fail_batch(rid, drift)
        elif kind == "expect_table_row_count_to_be_between":
            n = verdicts.evaluated
            low, high = kw.get("min_value"), kw.get("max_value")
            if (low is not None and n < low) or (high is not None and n > high):
                verdicts._fail_batch(rid, f"{table} has {n} rows")
        elif column not in columns:
            verdicts._fail_batch(rid, f"column {column} is missing from {table}")
        elif kind == "expect_column_values_to_be_unique":
            text = f'CAST("{column}" AS VARCHAR)'
            dupes = con.execute(
                f'SELECT CAST("{key}" AS VARCHAR) FROM {table} WHERE {text} IN (SELECT {text} '
                f"FROM {table} WHERE {text} IS NOT NULL GROUP BY 1 HAVING count(*) > 1)"
            ).fetchall()
            for (k,) in dupes:
                verdicts._fail(k, rid)


def _freshness(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: dict[str, Any],
    types: dict[str, str],
    verdicts: InputVerdicts,
    chunk_rows: int,
    now: datetime | None,
) -> None:
    """Judge freshness on the whole table, whatever rows the row rules judge: the newest value
    of the column's typed view (`add_derived`, as GX sees it) against the suite's bounds."""
    params = parameters(suite, now)
    derived = suite.get("meta", {}).get("derived", {})
    for e in suite["expectations"]:
        if e["type"] != "expect_column_max_to_be_between":
            continue
        column, view = _source_column(e, suite), e["kwargs"]["column"]
        if column not in types or view not in derived:
            continue  # a missing column already failed the batch
        low, high = (
            params.get(b["$PARAMETER"]) if isinstance(b, dict) else b
            for b in (e["kwargs"].get("min_value"), e["kwargs"].get("max_value"))
        )
        only = {"meta": {"derived": {view: derived[view]}}}
        newest = None
        cur = reader(con)
        try:
            cur.execute(f"SELECT {_text(column, types[column])} FROM {table}")
            for rows in fetch_chunks(cur, chunk_rows):
                values = add_derived(pd.DataFrame.from_records(rows, columns=[column]), only)
                top = values[view].max(skipna=True)
                if pd.notna(top) and (newest is None or top > newest):
                    newest = float(top)
        finally:
            cur.close()
        if (
            newest is None
            or (low is not None and newest < low)
            or (high is not None and newest > high)
        ):
            rid = e["meta"]["id"]
            verdicts._fail_batch(rid, f"no {rid.split('.')[1]} value is recent enough")


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite: dict[str, Any],
    key: str,
    *,
    rows: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    now: datetime | None = None,
) -> InputVerdicts:
    """Run the suite over a DuckDB table in chunks, in bounded memory (see the module doc).

    Args:
        rows: A query of the rows the row rules judge, with the table's columns (default: the
            whole table; a run gives the rows it claimed, `scope.rows_sql`). Batch rules judge
            the whole table all the same, and failures of rows outside it are ignored.
    """
    types = column_types(con, table)
    count = scalar(con, f"SELECT count(*) FROM {table}")
    verdicts = InputVerdicts(evaluated=int(count))
    _table_rules(con, table, suite, key, list(types), verdicts)
    _freshness(con, table, suite, types, verdicts, chunk_rows, now)
    chunked = [
        e
        for e in suite["expectations"]
        if _source_column(e, suite) in types and e["type"] not in TABLE_LEVEL
    ]
    source = f"({rows}) AS judged" if rows is not None else table
    if chunked and key in types:
        gx: _Gx | None = None  # GX takes seconds to import: only when there are rows
        cur = reader(con)
        try:
            cur.execute(f"SELECT {', '.join(_text(c, t) for c, t in types.items())} FROM {source}")
            names = [d[0] for d in cur.description or ()]
            for chunk in fetch_chunks(cur, chunk_rows):
                frame = pd.DataFrame.from_records(chunk, columns=names)
                verdicts.judged += len(frame)
                gx = gx or _Gx({**suite, "expectations": chunked}, key, now)
                for r in gx.run(frame, verdicts):
                    verdicts._fail_batch(_rule_id(r))
        finally:
            cur.close()
    if rows is not None:
        judged = {
            k for (k,) in con.execute(f'SELECT CAST("{key}" AS VARCHAR) FROM {source}').fetchall()
        }
        verdicts.failed_by_key = {
            k: ids for k, ids in verdicts.failed_by_key.items() if k in judged
        }
    else:
        verdicts.judged = verdicts.evaluated
    ids = [e["meta"]["id"] for e in suite["expectations"]]
    verdicts.batch_failures.sort(key=ids.index)
    return verdicts
