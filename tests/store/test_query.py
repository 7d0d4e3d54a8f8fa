"""`store.first`, `store.one` and `store.scalar`: the typed way to read one row.

The cases matter because the package reads counts and run records through these helpers
alone (no bare `fetchone()` left): an empty answer must be None where absence means something,
and a `StoreError` naming the query where a row must exist, never a `TypeError` on `None[0]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from governance_pipeline import store
from governance_pipeline.errors import StoreError

PACKAGE = Path(__file__).resolve().parents[2] / "governance_pipeline"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (k INTEGER, v VARCHAR)")
        con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        yield con


@pytest.mark.parametrize(
    ("sql", "params", "row"),
    [
        ("SELECT k, v FROM t WHERE k = ?", [2], (2, "b")),
        ("SELECT k, v FROM t WHERE k = $k", {"k": 1}, (1, "a")),
        ("SELECT k, v FROM t WHERE k = ?", [3], None),
        ("SELECT count(*) FROM t", None, (2,)),
    ],
)
def test_first_is_the_first_row_or_none(
    con: duckdb.DuckDBPyConnection, sql: str, params: object, row: tuple[object, ...] | None
) -> None:
    assert store.first(con, sql, params) == row


def test_one_and_scalar_read_a_row_that_exists(con: duckdb.DuckDBPyConnection) -> None:
    assert store.one(con, "SELECT min(k), max(v) FROM t") == (1, "b")
    assert store.scalar(con, "SELECT count(*) FROM t WHERE v <> ?", ["a"]) == 1


@pytest.mark.parametrize("read", [store.one, store.scalar])
def test_no_row_is_a_store_error_naming_the_query(
    con: duckdb.DuckDBPyConnection, read: Callable[..., object]
) -> None:
    with pytest.raises(StoreError, match=re.escape("`SELECT v FROM t WHERE k = ?`")):
        read(con, "SELECT v\n    FROM t WHERE k = ?", [9])


def test_the_package_reads_single_rows_only_through_the_helpers() -> None:
    bare = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "store" / "query.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ".fetchone()" in line
    ]
    assert not bare, f"use store.first/one/scalar instead of fetchone(): {bare}"
