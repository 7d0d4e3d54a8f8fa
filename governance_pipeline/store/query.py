"""One row or one value of a query, typed.

DuckDB's `fetchone()` answers `tuple | None`, so every `fetchone()[0]` is an unchecked index.
These helpers say which answer a caller expects: `first` when no row is an answer in itself (a
run the store has never seen), `one` and `scalar` when the query always returns a row (an
aggregate, a lookup of a row the caller has just written); there a missing row is a broken
store, raised as a `StoreError` that names the query, not a `TypeError` three lines later.
"""

from __future__ import annotations

from typing import Any

import duckdb

from governance_pipeline.errors import StoreError


def first(
    con: duckdb.DuckDBPyConnection, sql: str, params: object = None
) -> tuple[Any, ...] | None:
    """The first row of `sql`, or None when it returns none."""
    return con.execute(sql, params).fetchone()


def first_record(
    con: duckdb.DuckDBPyConnection, sql: str, params: object = None
) -> dict[str, Any] | None:
    """The first row of `sql` as column name to value, or None when it returns none."""
    cur = con.execute(sql, params)
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


def one(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> tuple[Any, ...]:
    """The first row of a query that always returns one.

    Raises:
        StoreError: the query returned no row.
    """
    row = first(con, sql, params)
    if row is None:
        query = " ".join(sql.split())
        raise StoreError(
            f"the store returned no row for `{query}`; a table may be missing rows a stage "
            "writes: run the job again, or check GOVERNANCE_DB names the store you mean"
        )
    return row


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> Any:
    """The first value of the first row of a query that always returns one (`count(*)`).

    Raises:
        StoreError: the query returned no row.
    """
    return one(con, sql, params)[0]
