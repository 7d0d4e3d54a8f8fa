"""Tests for a run's scope (``governance_pipeline.inputs.scope``): what makes a row due.

A row is due again when what it is made of changes, or what its outcome depends on. Both
hashes must ignore what does not count, or every run redoes the whole table for nothing: a
column the spec does not read, the order of the table's columns, an SLA or a schedule
(`ResolvedSpec.output_hash`, tests/spec). And they must see what does: a value the model
sees, the model itself.
"""

from __future__ import annotations

import duckdb
import pytest

from governance_pipeline.inputs import scope
from governance_pipeline.store import column_types
from tests.stage_helpers import triage_spec

COLUMNS = "ticket_id, created_at, channel, customer_name, subject, body"


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as c:
        c.execute(
            "CREATE TABLE t AS SELECT 1 AS ticket_id, TIMESTAMPTZ '2026-11-20 09:00:00+01' AS "
            "created_at, 'email' AS channel, 'Ann Lee' AS customer_name, 'Hi' AS subject, "
            "'My card was charged twice.' AS body, 'vip' AS internal_note"
        )
        yield c


def content_hash(con: duckdb.DuckDBPyConnection, table: str = "t") -> str:
    sql = scope.content_hash_sql(triage_spec(), column_types(con, table))
    return con.execute(f"SELECT {sql} FROM {table}").fetchone()[0]  # type: ignore[index]


def test_a_column_the_spec_does_not_read_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    before = content_hash(con)
    con.execute("UPDATE t SET internal_note = 'churn risk'")
    assert content_hash(con) == before


@pytest.mark.parametrize(
    "change",
    [
        "body = body || ' Still waiting.'",
        "subject = NULL",
        "customer_name = 'Bo Chen'",  # redaction reads it: the prompt changes
        "created_at = created_at + INTERVAL 1 SECOND",
    ],
)
def test_a_value_the_spec_reads_changes_the_hash(
    con: duckdb.DuckDBPyConnection, change: str
) -> None:
    before = content_hash(con)
    con.execute(f"UPDATE t SET {change}")
    assert content_hash(con) != before


def test_neither_the_column_order_nor_the_session_time_zone_counts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    before = content_hash(con)
    con.execute(
        f"CREATE TABLE reordered AS SELECT {', '.join(reversed(COLUMNS.split(', ')))} FROM t"
    )
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    assert content_hash(con, "reordered") == content_hash(con) == before


def test_the_state_hash_is_the_spec_and_the_model() -> None:
    spec = triage_spec()
    assert scope.state_hash(spec, "gpt-4o-mini") == scope.state_hash(spec, "gpt-4o-mini")
    assert scope.state_hash(spec, "gpt-4o-mini") != scope.state_hash(spec, "gpt-4o")
    other = spec.model_copy(update={"output_hash": "0" * 16})
    assert scope.state_hash(other, "gpt-4o-mini") != scope.state_hash(spec, "gpt-4o-mini")


@pytest.mark.parametrize(
    ("counts", "words"),
    [
        ({"unchanged": 40}, "nothing new: 40 rows unchanged"),
        (
            {"new": 3, "changed": 2, "unchanged": 38},
            "5 in scope (3 new, 2 changed); 38 unchanged",
        ),
        (
            {"spec_changed": 40, "unkeyed": 2},
            "42 in scope (40 after a spec or model change, 2 without a key); 0 unchanged",
        ),
        (
            {"retried": 4, "unchanged": 30, "skipped": 6},
            "4 in scope (4 retried); 30 unchanged, 6 skipped (claimed by a run still running)",
        ),
    ],
)
def test_the_scope_in_words(counts: dict[str, int], words: str) -> None:
    assert scope.describe(counts) == words
