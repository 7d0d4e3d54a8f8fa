"""The stages of a governed job, as plain functions over the DuckDB store.

Each stage reads what the one before it wrote for the current batch (the run that validated
the input), writes its own tables in one transaction per write, and returns the figures a
person wants to see (counts, tokens, cost) as a dict. Dagster calls these from assets; nothing
here imports Dagster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb

from governance_pipeline import expectations, model_input, prompts, validation
from governance_pipeline.endpoint import Endpoint
from governance_pipeline.errors import SpecError, StoreError
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import (
    column_types,
    ensure_job_schema,
    frame,
    replace_rows,
    table_exists,
)

Progress = Callable[[int, int], None]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def current_run(con: duckdb.DuckDBPyConnection, job: str) -> str:
    """The run id of the batch the later stages work on: the latest validated input."""
    row = con.execute(
        "SELECT run_id FROM governance.run WHERE job = ? ORDER BY started_at DESC LIMIT 1", [job]
    ).fetchone()
    if row is None:
        raise StoreError(
            f"job {job!r} has no validated input yet: materialise validated_input first"
        )
    return str(row[0])


# --- validated input -----------------------------------------------------------------------


def validate_input(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str, endpoint: Endpoint
) -> dict[str, Any]:
    """Run the GX suite over the source; quarantine failing rows, keep the rest as the batch."""
    job, src = spec.job, spec.job.source
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
    key_type = types[src.key]
    ensure_job_schema(con, job, key_type)
    con.execute(
        "INSERT OR REPLACE INTO governance.spec_version (spec_hash, job, resolved) "
        "SELECT ?, ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM governance.spec_version WHERE spec_hash = ?)",
        [spec.spec_hash, job.job, spec.model_dump_json(), spec.spec_hash],
    )
    con.execute(
        "INSERT OR REPLACE INTO governance.run (run_id, job, spec_hash, endpoint, started_at, "
        "status) VALUES (?, ?, ?, ?, ?, 'running')",
        [run_id, job.job, spec.spec_hash, endpoint.describe(), now()],
    )
    suite = expectations.compile_suite(job)
    verdicts = validation.validate_table(con, src.table, suite, src.key)
    bad = frame(
        ["run_id", src.key, "expectations", "reason", "quarantined_at"],
        {
            src.key: list(verdicts.failed_by_key),
            "expectations": [",".join(ids) for ids in verdicts.failed_by_key.values()],
            "reason": list(verdicts.reasons(suite).values()),
        },
        run_id=run_id,
        quarantined_at=now(),
    )
    replace_rows(con, f"{job.job}.input_quarantine", bad, run_id=run_id)
    con.execute(
        f"CREATE OR REPLACE TABLE {job.job}.validated_input AS "
        f"SELECT ?::VARCHAR AS run_id, s.* FROM {src.table} s "
        f"WHERE s.{src.key} IS NOT NULL AND s.{src.key} NOT IN "
        f"(SELECT CAST({src.key} AS {key_type}) FROM {job.job}.input_quarantine "
        f" WHERE run_id = ? AND {src.key} IS NOT NULL)",
        [run_id, run_id],
    )
    passed = con.execute(f"SELECT count(*) FROM {job.job}.validated_input").fetchone()[0]  # type: ignore[index]
    by_rule = Counter(i for ids in verdicts.failed_by_key.values() for i in ids)
    return {
        "rows_in": verdicts.evaluated,
        "validated": int(passed),
        "quarantined": len(bad),
        "quarantined_by_rule": dict(by_rule),
        "batch_failures": verdicts.batch_failures,
        "batch_message": verdicts.batch_message(suite),
    }


# --- model input ---------------------------------------------------------------------------


def build_model_input(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, endpoint: Endpoint
) -> dict[str, Any]:
    """Redact the batch, assemble each row's prompt, and record its request hash (in chunks,
    across processes for large tables: see `model_input`)."""
    figures = model_input.build(con, spec, endpoint, current_run(con, spec.job.job))
    return figures | {"endpoint": endpoint.describe()}


def request_body(spec: ResolvedSpec, endpoint: Endpoint, data: dict[str, Any]) -> dict[str, Any]:
    """The request for one row's redacted data (for many rows, use `prompts.RequestBuilder`)."""
    return prompts.RequestBuilder(spec, endpoint).body(data)
