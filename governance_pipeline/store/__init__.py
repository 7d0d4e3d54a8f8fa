"""The DuckDB store: the shared `governance` schema, the per-job schemas, and safe writes.

Every table a run writes carries `run_id`. Writes of a stage replace that stage's rows for the
run in one transaction, so a retried step never duplicates a row. `validated_input` and
`model_input` are working tables: each run starts by removing the rows of runs already closed;
the other tables keep history.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from governance_pipeline.errors import StoreError
from governance_pipeline.store.query import first as first  # re-exported: store.first
from governance_pipeline.store.query import one as one  # re-exported: store.one
from governance_pipeline.store.query import scalar as scalar  # re-exported: store.scalar

if TYPE_CHECKING:  # at run time the spec package imports alerting, which reads the store
    from governance_pipeline.spec import JobSpec

GOVERNANCE_DDL = """
CREATE SCHEMA IF NOT EXISTS governance;
CREATE TABLE IF NOT EXISTS governance.llm_cache (
    request_hash VARCHAR PRIMARY KEY, model VARCHAR, content VARCHAR,
    tokens_in INTEGER, tokens_out INTEGER, latency_ms DOUBLE, cost_usd DOUBLE,
    created_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS governance.run (
    run_id VARCHAR PRIMARY KEY, job VARCHAR, spec_hash VARCHAR, endpoint VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, summary JSON);
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS reason VARCHAR;
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS host VARCHAR;
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS pid BIGINT;
CREATE TABLE IF NOT EXISTS governance.alert (
    alert_id VARCHAR PRIMARY KEY, job VARCHAR, run_id VARCHAR, check_name VARCHAR,
    severity VARCHAR, message VARCHAR, sinks VARCHAR, delivered BOOLEAN, error VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp, kind VARCHAR, incident_id VARCHAR);
CREATE TABLE IF NOT EXISTS governance.incident (
    incident_id VARCHAR, job VARCHAR, check_name VARCHAR, severity VARCHAR, message VARCHAR,
    opened_run_id VARCHAR, opened_at TIMESTAMP DEFAULT current_timestamp,
    last_run_id VARCHAR, closed_run_id VARCHAR, closed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS governance.alert_delivery (
    alert_id VARCHAR, sink VARCHAR, sink_type VARCHAR, status VARCHAR, attempts INTEGER,
    error VARCHAR, sent_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS governance.spec_version (
    spec_hash VARCHAR PRIMARY KEY, job VARCHAR, resolved JSON,
    first_seen TIMESTAMP DEFAULT current_timestamp);
"""

_OUTPUT_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}


def job_ddl(job: JobSpec, key_type: str) -> str:
    """DDL of a job's schema. The source key keeps its name and type in every table."""
    s, k = job.job, f"{job.source.key} {key_type}"
    outputs = ", ".join(f'"{name}" {_OUTPUT_TYPES[f.type]}' for name, f in job.output.items())
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.input_quarantine (
    run_id VARCHAR, {k}, expectations VARCHAR, reason VARCHAR, quarantined_at TIMESTAMP,
    source_row BIGINT);
ALTER TABLE {s}.input_quarantine ADD COLUMN IF NOT EXISTS source_row BIGINT;
CREATE TABLE IF NOT EXISTS {s}.model_input (
    run_id VARCHAR, {k}, data JSON, redactions JSON, request_hash VARCHAR, spec_hash VARCHAR);
CREATE TABLE IF NOT EXISTS {s}.llm_call (
    run_id VARCHAR, {k}, request_hash VARCHAR, model VARCHAR, attempt INTEGER, status VARCHAR,
    error_class VARCHAR, latency_ms DOUBLE, tokens_in INTEGER, tokens_out INTEGER,
    cost_usd DOUBLE, called_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS {s}.enriched (
    {k} PRIMARY KEY, {outputs}, warnings VARCHAR, run_id VARCHAR, spec_hash VARCHAR,
    request_hash VARCHAR, enriched_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS {s}.output_quarantine (
    run_id VARCHAR, {k}, request_hash VARCHAR, rules VARCHAR, reason VARCHAR,
    output_redacted VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS {s}.row_ledger (
    run_id VARCHAR, {k}, disposition VARCHAR, reason VARCHAR, spec_hash VARCHAR,
    request_hash VARCHAR, recorded_at TIMESTAMP, source_row BIGINT);
ALTER TABLE {s}.row_ledger ADD COLUMN IF NOT EXISTS source_row BIGINT;
CREATE TABLE IF NOT EXISTS {s}.sla_result (
    run_id VARCHAR, sla_id VARCHAR, metric VARCHAR, level VARCHAR, severity VARCHAR,
    bound VARCHAR, threshold DOUBLE, measured DOUBLE, sample_size BIGINT, passed BOOLEAN,
    description VARCHAR, spec_hash VARCHAR, measured_at TIMESTAMP);
"""


@contextmanager
def connect(
    path: Path | str, *, read_only: bool = False, wait_s: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file, waiting while another process holds its lock.

    Raises:
        StoreError: the file cannot be opened within `wait_s` seconds.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = _attach(path, read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise StoreError(
                    f"cannot open the store {path}: {exc}. Set GOVERNANCE_DB to another file, "
                    "or stop the process that holds it."
                ) from None
            time.sleep(0.2)
    try:
        if not read_only:
            con.execute(GOVERNANCE_DDL)
        yield con
    finally:
        con.close()


def _attach(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Attach the file under the catalog name `store`: the default file is governance.duckdb,
    and a catalog named `governance` would make the `governance` schema ambiguous."""
    con = duckdb.connect()
    try:
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS store{' (READ_ONLY)' if read_only else ''}")
        con.execute("USE store")
    except Exception:
        con.close()
        raise
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if anything escapes it."""
    con.execute("BEGIN")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def reader(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A second cursor on the same database and schema, so rows can stream while chunks are
    written through `con`."""
    db, schema = one(con, "SELECT current_database(), current_schema()")
    cur = con.cursor()
    cur.execute(f'USE "{db}"."{schema}"')
    return cur


def fetch_chunks(cur: duckdb.DuckDBPyConnection, size: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of the cursor's result, `size` at a time."""
    while rows := cur.fetchmany(size):
        yield rows


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """True when `schema.table` exists."""
    schema, _, table = qualified.rpartition(".")
    return bool(
        scalar(
            con,
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_catalog = 'store' AND table_schema = ? AND table_name = ?",
            [schema or "main", table],
        )
    )


def column_types(con: duckdb.DuckDBPyConnection, qualified: str) -> dict[str, str]:
    """Column name to DuckDB type of a table."""
    rows = con.execute(f"DESCRIBE {qualified}").fetchall()
    return {name: dtype for name, dtype, *_ in rows}


def ensure_job_schema(con: duckdb.DuckDBPyConnection, job: JobSpec, key_type: str) -> None:
    """Create the job's schema and tables if missing."""
    con.execute(job_ddl(job, key_type))


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    *,
    run_id: str | None = None,
) -> int:
    """Insert `frame` into `table` by column name, first deleting the rows it replaces.

    With `run_id`, rows of that run are replaced (a retried step writes no duplicates); without
    it, the whole table is (a table that holds the latest materialisation only).
    """
    with transaction(con):
        if run_id is None:
            con.execute(f"DELETE FROM {table}")
        else:
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        if len(frame):
            con.register("_frame", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
            con.unregister("_frame")
    return len(frame)


def frame(columns: list[str], values: dict[str, list[Any]], **constants: Any) -> pd.DataFrame:
    """A frame of `columns` from equal-length lists, with constant columns filled in; empty lists
    give an empty frame with the same columns."""
    df = pd.DataFrame({c: values.get(c, []) for c in columns if c not in constants})
    for name, value in constants.items():
        df[name] = value
    return df[columns]
