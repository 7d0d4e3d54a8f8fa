"""The input stages of a governed job, as plain functions over the DuckDB store.

Each stage works on the rows of the run whose id it is given (never "the latest run"), writes
its own tables in one transaction per write, and returns the figures a person wants to see
(counts, tokens, cost) as a dict. Dagster calls these from assets; nothing here imports Dagster.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from governance_pipeline.errors import SpecError
from governance_pipeline.inputs import expectations, model_input, scope, validation
from governance_pipeline.inputs.partitions import Window, placement_sql
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import (
    column_types,
    ensure_job_schema,
    frame,
    replace_rows,
    runs,
    scalar,
    table_exists,
    transaction,
)

KEY_NULL = "input.key.null"
KEY_DUPLICATE = "input.key.duplicate"
"""Reasons of rows whose key cannot tell them apart: quarantined by their position in the scan
(`source_row`), so the ledger still holds every raw row once."""


# --- validated input -----------------------------------------------------------------------


def validate_input(
    con: duckdb.DuckDBPyConnection,
    spec: ResolvedSpec,
    run_id: str,
    endpoint: Endpoint,
    window: Window | None = None,
) -> dict[str, Any]:
    """Open the run; claim its scope, the new and changed rows (`inputs.scope`), of its
    partition's `window` for a partitioned job; judge the batch rules on the whole source and
    the row rules on the scope; quarantine failing rows (a NULL or shared key is a reason like
    any other); keep the rest as the run's batch."""
    job, src = spec.job, spec.job.source
    partition = window.key if window else None
    abandoned = runs.start(con, job.job, run_id, spec.spec_hash, endpoint.describe(), partition)
    if not table_exists(con, src.table):
        raise SpecError(
            f"source table {src.table} does not exist in the store; create it or fix the name "
            "(for the demo, run `govern demo`)",
            file=spec.path,
            field="source.table",
            line=spec.line_of(("source", "table")),
        )
    types = column_types(con, src.table)
    if src.key not in types:
        raise SpecError(
            f"schema drift: the key column {src.key} is missing from {src.table} (it has "
            f"{', '.join(types)}); no row can be told apart, so nothing is validated",
            file=spec.path,
            field="source.key",
            line=spec.line_of(("source", "key")),
        )
    ensure_job_schema(con, job, types)
    con.execute(
        "INSERT OR REPLACE INTO governance.spec_version (spec_hash, job, resolved) "
        "SELECT ?, ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM governance.spec_version WHERE spec_hash = ?)",
        [spec.spec_hash, job.job, spec.model_dump_json(), spec.spec_hash],
    )
    state = scope.state_hash(spec, endpoint.model)
    claimed = scope.claim(con, spec, run_id, state, types, window)
    runs.record_summary(con, run_id, {"scope": claimed.counts})
    suite = expectations.compile_suite(job)
    verdicts = validation.validate_table(
        con, src.table, suite, src.key, rows=scope.rows_sql(spec, run_id)
    )
    unkeyed = _unkeyed_rows(con, src.table, src.key, placement_sql(spec, types, window))
    shared = {str(k) for k, _, _ in unkeyed if k is not None}
    reasons = verdicts.reasons(suite)
    failed = {
        k: ids for k, ids in verdicts.failed_by_key.items() if k is not None and k not in shared
    }
    bad = frame(
        ["run_id", src.key, "source_row", "expectations", "reason", "quarantined_at"],
        {
            src.key: [*failed, *(k for k, _, _ in unkeyed)],
            "source_row": [*(None for _ in failed), *(pos for _, pos, _ in unkeyed)],
            "expectations": [
                *(",".join(ids) for ids in failed.values()),
                *(KEY_NULL if k is None else KEY_DUPLICATE for k, _, _ in unkeyed),
            ],
            "reason": [
                *(reasons[k] for k in failed),
                *(_key_reason(src.key, src.table, k, n) for k, _, n in unkeyed),
            ],
        },
        run_id=run_id,
        quarantined_at=runs.now(),
    )
    replace_rows(con, f"{job.job}.input_quarantine", bad, run_id=run_id)
    _replace_batch(con, spec, run_id)
    passed = scalar(
        con, f"SELECT count(*) FROM {job.job}.validated_input WHERE run_id = ?", [run_id]
    )
    by_rule = Counter(i for ids in failed.values() for i in ids)
    by_rule.update(KEY_NULL if k is None else KEY_DUPLICATE for k, _, _ in unkeyed)
    return {
        "rows_in": verdicts.evaluated,
        "rows_in_scope": claimed.in_scope,
        "scope": claimed.counts,
        "scope_summary": claimed.describe(),
        "validated": int(passed),
        "quarantined": len(bad),
        "quarantined_by_rule": dict(by_rule),
        "batch_failures": verdicts.batch_failures,
        "batch_message": verdicts.batch_message(suite),
        "abandoned_runs": abandoned,
    }


def _unkeyed_rows(
    con: duckdb.DuckDBPyConnection, table: str, key: str, placed: str = "'in'"
) -> list[tuple[Any, int, int]]:
    """Rows whose key is NULL or shared with another row, of those `placed` in the run's
    partition (`partitions.placement_sql`): (key, position in the scan of the whole table,
    rows with that key)."""
    return [
        (k, int(pos), int(n))
        for k, pos, n in con.execute(
            f'SELECT k, pos, n FROM (SELECT CAST("{key}" AS VARCHAR) AS k, '
            f'row_number() OVER () AS pos, count(*) OVER (PARTITION BY "{key}") AS n, '
            f"{placed} AS _placed FROM {table}) WHERE (k IS NULL OR n > 1) AND _placed = 'in' "
            "ORDER BY pos"
        ).fetchall()
    ]


def _key_reason(key: str, table: str, value: Any, rows: int) -> str:
    if value is None:
        return (
            f"{KEY_NULL}: expected {key} to be present; a row without a key cannot be told "
            f"apart: give it a {key} in {table}"
        )
    return (
        f"{KEY_DUPLICATE}: expected {key}={value} to be unique; {rows} rows of {table} share "
        "it and cannot be told apart: deduplicate the source"
    )


def _replace_batch(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> None:
    """The run's validated rows: the rows it claimed (keys of their own) without a quarantine.

    Rows of runs already closed are removed (the table takes any new source column when the
    job's schema is ensured).
    """
    s, src = spec.job.job, spec.job.source
    key = f'"{src.key}"'
    with transaction(con):
        for table in ("validated_input", "model_input"):
            con.execute(
                f"DELETE FROM {s}.{table} WHERE run_id = $run OR run_id IN (SELECT run_id "
                "FROM governance.run WHERE job = $job AND status <> $running)",
                {"run": run_id, "job": s, "running": runs.RunStatus.RUNNING.value},
            )
        con.execute(
            f"INSERT INTO {s}.validated_input BY NAME "
            f"SELECT $run AS run_id, src.* FROM {src.table} src "
            f"WHERE src.{key} IN (SELECT {key} FROM {s}.row_scope WHERE run_id = $run) "
            f"AND NOT EXISTS (SELECT 1 FROM {s}.input_quarantine q "
            f"WHERE q.run_id = $run AND q.{key} = src.{key})",
            {"run": run_id},
        )


# --- model input ---------------------------------------------------------------------------


def build_model_input(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, endpoint: Endpoint, run_id: str
) -> dict[str, Any]:
    """Redact the run's batch, assemble each row's prompt, and record its request hash (in
    chunks, across processes for large tables: see `model_input`)."""
    figures = model_input.build(con, spec, endpoint, run_id)
    return figures | {"endpoint": endpoint.describe()}
