"""The DuckDB store: the shared `governance` schema, the per-job schemas, and safe writes.

Every table's DDL is in `store.ddl`; `runs` holds a run's lifecycle in `governance.run`.

Every table a run writes carries `run_id`. Writes of a stage replace that stage's rows for the
run in one transaction, so a retried step never duplicates a row. `validated_input`,
`model_input` and `row_scope` are working tables: each run starts by removing the rows of runs
already closed; the other tables keep history, but `row_state`, which holds each key's latest
outcome (`inputs.scope`). Connections are short (`store.connection`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from governance_pipeline.store.connection import Connect as Connect
from governance_pipeline.store.connection import connect as connect
from governance_pipeline.store.connection import opener as opener
from governance_pipeline.store.ddl import (
    GOVERNANCE_DDL,
    job_ddl,
    partition_ledger_ddl,
    row_audit_ddl,
    validated_input_ddl,
)
from governance_pipeline.store.query import first as first  # re-exported: store.first
from governance_pipeline.store.query import first_record as first_record  # store.first_record
from governance_pipeline.store.query import one as one  # re-exported: store.one
from governance_pipeline.store.query import scalar as scalar  # re-exported: store.scalar

if TYPE_CHECKING:  # at run time the spec package imports alerting, which reads the store
    from governance_pipeline.spec import JobSpec

__all__ = [
    "GOVERNANCE_DDL",
    "Connect",
    "column_types",
    "connect",
    "ensure_job_schema",
    "fetch_chunks",
    "frame",
    "job_ddl",
    "opener",
    "reader",
    "replace_rows",
    "table_exists",
    "transaction",
]


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


def ensure_job_schema(
    con: duckdb.DuckDBPyConnection, job: JobSpec, source_types: dict[str, str]
) -> None:
    """Create the job's schema and tables if missing (see `store.ddl`).

    `validated_input` holds the source's rows, so it takes the source's columns: a column the
    source gained since the table was made is added to it.

    Args:
        source_types: Column name to DuckDB type of the source table.
    """
    con.execute(job_ddl(job, source_types[job.source.key]))
    con.execute(validated_input_ddl(job))
    have = column_types(con, f"{job.job}.validated_input")
    for name, kind in source_types.items():
        if name not in have:
            con.execute(f'ALTER TABLE {job.job}.validated_input ADD COLUMN "{name}" {kind}')
    con.execute(row_audit_ddl(job.job, job.source.key))  # joins the governance schema too
    con.execute(partition_ledger_ddl(job.job))


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
