"""Names a spec gives to the SQL of a run, compiled when the spec loads.

The stages write some names into SQL unquoted (the job's schema, `source.table`, the key
column) and quote the others (source columns, output fields). A name that does not survive
that would fail mid-run, after the model was paid for, or would change the statement: `raw.t;
DROP TABLE x` as a table. So every name is checked against DuckDB's own parser here, the way
the stages will use it, and an output field may not take a column name the pipeline adds to
its tables.
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

PIPELINE_COLUMNS = ("row_key", "warnings", "run_id", "spec_hash", "request_hash", "enriched_at")
"""Columns the pipeline puts beside the output fields: in `enriched` (store.job_ddl) and in the
table SQL rules read (`row_key`, contracts.py). An output field of one of these names (in any
case: DuckDB's names are case-insensitive) would clash with it."""


def unquoted_name_problem(name: str) -> str | None:
    """Why `name` cannot stand unquoted in SQL as a schema, table or column, or None."""
    if not _PLAIN.fullmatch(name):
        return (
            f"{name!r} is not a plain SQL name (letters, digits and _, not starting with a digit)"
        )
    if not _parses_unquoted(name):
        return f"{name!r} is a keyword of DuckDB's SQL and cannot be used as a name unquoted"
    return None


def quoted_name_problem(name: str) -> str | None:
    """Why `name` cannot be a quoted SQL column name ("name"), or None."""
    if not name.strip():
        return "an empty name cannot be a column"
    if '"' in name or any(ord(c) < 32 for c in name):
        return f"{name!r} holds a double quote or a control character, which a column name cannot"
    return None


def table_problem(table: str) -> str | None:
    """Why `table` is not a `schema.table` name the stages can read, or None."""
    parts = table.split(".")
    if len(parts) != 2:
        return (
            f"table={table!r} must be schema.table, two plain names joined by one dot "
            "(e.g. raw.support_tickets)"
        )
    for part in parts:
        if problem := unquoted_name_problem(part):
            return f"table={table!r}: {problem}"
    return None


@lru_cache(maxsize=256)
def _parses_unquoted(name: str) -> bool:
    """The name as the stages write it: schema, table and column, in a query and in DDL."""
    import duckdb  # here, not at the top: `import governance_pipeline.spec` stays light

    with _PARSER_LOCK:
        con = _parser(os.getpid())
        try:
            con.extract_statements(f"SELECT {name} FROM {name}.{name}")
            con.extract_statements(f"CREATE TABLE {name}.{name} ({name} INTEGER)")
        except duckdb.Error:
            return False
    return True


_PARSER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _parser(pid: int) -> Any:
    """One in-memory DuckDB per process (`pid`: a forked child makes its own), used only to
    parse: connecting costs ~15 ms, a parse microseconds, and loading a folder of specs checks
    a dozen names. Nothing is executed on it, and external access is off."""
    import duckdb

    return duckdb.connect(config={"enable_external_access": False})
