"""Tests for validating a DuckDB table in chunks (``governance_pipeline.inputs.validation``).

A million-row landing table cannot be one pandas frame, so it is validated in chunks; the cases
here hold small chunks to the promises of one chunk holding the whole table. Rules that a chunk
cannot judge alone are where chunking goes wrong: a duplicate whose twin sits in another chunk,
a row count, the newest timestamp of the table. Each is checked with chunks far smaller than
the table. Bad landing data (wrong types, bytes that are not UTF-8, a megabyte of text, a column
that appeared or vanished) must end as a reason, never as an exception.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from governance_pipeline import spec
from governance_pipeline.inputs import expectations, validation
from tests.inputs.test_expectations import ROWS, SUITE, _frame

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _job(columns: dict, key: str = "id") -> dict:
    job = spec.JobSpec.model_validate(
        {
            "job": "demo",
            "owner": "me",
            "source": {"table": "main.t", "key": key, "columns": columns},
            "redaction": {"columns": []},
            "model": {"prompt_columns": [key], "task": "t"},
            "output": {"x": {"description": "x"}},
        }
    )
    return expectations.compile_suite(job)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as c:
        yield c


def test_small_chunks_give_the_verdicts_of_one_chunk(con: duckdb.DuckDBPyConnection) -> None:
    con.register("frame", _frame(ROWS))
    con.execute("CREATE TABLE raw_tickets AS SELECT * FROM frame")
    suite = {**SUITE, "meta": {**SUITE["meta"], "source": "raw_tickets"}}
    whole = validation.validate_table(con, "raw_tickets", suite, "ticket_id")  # one chunk
    chunked = validation.validate_table(con, "raw_tickets", suite, "ticket_id", chunk_rows=4)
    assert chunked.failed_by_key == whole.failed_by_key
    assert chunked.batch_failures == whole.batch_failures == []
    assert chunked.evaluated == len(ROWS)


def test_a_duplicate_in_another_chunk_is_still_found(con: duckdb.DuckDBPyConnection) -> None:
    suite = _job({"id": {"type": "integer"}, "email": {"unique": True}})
    con.execute(
        "CREATE TABLE t AS SELECT i AS id, 'u' || (CASE WHEN i = 9 THEN 2 ELSE i END) || '@x.io'"
        " AS email FROM range(1, 11) r(i)"
    )
    verdicts = validation.validate_table(con, "t", suite, "id", chunk_rows=3)
    assert verdicts.failed_by_key == {"2": ["input.email.unique"], "9": ["input.email.unique"]}


def test_schema_drift_names_new_and_missing_columns(con: duckdb.DuckDBPyConnection) -> None:
    suite = _job({"id": {"type": "integer"}, "channel": {"required": True}, "body": {}})
    con.execute("CREATE TABLE t AS SELECT 1 AS id, 'hi' AS body, 'p1' AS priority")
    verdicts = validation.validate_table(con, "t", suite, "id")
    assert verdicts.batch_failures == [
        "input.schema",
        "input.channel.required",
        "input.channel.text",
    ]
    message = verdicts.batch_message(suite)
    assert "schema drift in t: missing column(s) channel; new column(s) priority" in message
    assert "input.channel.required: column channel is missing from t" in message
    assert verdicts.evaluated == 1 and verdicts.failed_by_key == {}


def test_new_columns_pass_when_the_spec_allows_them(con: duckdb.DuckDBPyConnection) -> None:
    job = spec.JobSpec.model_validate(
        {
            "job": "demo",
            "owner": "me",
            "source": {
                "table": "main.t",
                "key": "id",
                "allow_new_columns": True,
                "columns": {"id": {"type": "integer"}},
            },
            "redaction": {"columns": []},
            "model": {"prompt_columns": ["id"], "task": "t"},
            "output": {"x": {"description": "x"}},
        }
    )
    con.execute("CREATE TABLE t AS SELECT 1 AS id, 'extra' AS priority")
    verdicts = validation.validate_table(con, "t", expectations.compile_suite(job), "id")
    assert verdicts.batch_failures == []


NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("newest", "fresh"),
    [("2026-11-22 06:00:00", True), ("2026-11-21 13:00:00", True), ("2026-11-20 11:59:00", False)],
)
def test_freshness_judges_the_newest_value_of_the_whole_table(
    con: duckdb.DuckDBPyConnection, newest: str, fresh: bool
) -> None:
    suite = _job({"id": {"type": "integer"}, "ts": {"type": "timestamp", "max_age_hours": 24}})
    con.execute(
        "CREATE TABLE t AS SELECT i AS id, TIMESTAMP '2026-01-01' + INTERVAL (i) DAY AS ts "
        "FROM range(1, 8) r(i)"
    )
    con.execute("INSERT INTO t VALUES (99, CAST(? AS TIMESTAMP))", [newest])  # in the last chunk
    verdicts = validation.validate_table(con, "t", suite, "id", chunk_rows=3, now=NOW)
    assert ("input.ts.freshness" not in verdicts.batch_failures) is fresh
    assert verdicts.failed_by_key == {}
    if not fresh:
        assert "no ts value is recent enough" in verdicts.batch_message(suite)


def test_an_empty_table_fails_row_count_and_freshness(con: duckdb.DuckDBPyConnection) -> None:
    suite = _job({"id": {"type": "integer"}, "ts": {"type": "timestamp", "max_age_hours": 1}})
    con.execute("CREATE TABLE t (id BIGINT, ts VARCHAR)")
    verdicts = validation.validate_table(con, "t", suite, "id", now=NOW)
    assert verdicts.batch_failures == ["input.row_count", "input.ts.freshness"]
    assert "t has 0 rows" in verdicts.batch_message(suite)


def test_bad_landing_data_becomes_reasons_not_exceptions(con: duckdb.DuckDBPyConnection) -> None:
    suite = _job(
        {
            "id": {"type": "integer", "required": True},
            "amount": {"type": "float", "min": 0},
            "raw": {"max_length": 100},
        }
    )
    con.execute("CREATE TABLE t (id VARCHAR, amount VARCHAR, raw BLOB)")
    con.execute(
        "INSERT INTO t VALUES ('1', '2.5', 'fine'::BLOB), ('two', '3', 'ok'::BLOB), "
        "('3', 'lots', 'x'::BLOB), ('4', '-1', '\\xFF\\xFEbad'::BLOB), "
        "('5', NULL, NULL), ('6', '1e3', ?), (NULL, '1', 'a'::BLOB)",
        [b"y" * 1_000_000],
    )
    verdicts = validation.validate_table(con, "t", suite, "id", chunk_rows=2)
    assert verdicts.evaluated == 7
    assert verdicts.batch_failures == []
    assert verdicts.failed_by_key == {
        "two": ["input.id.type"],
        "3": ["input.amount.type"],
        "4": ["input.amount.between", "input.raw.text"],
        "6": ["input.raw.length"],
        None: ["input.id.required"],
    }


def test_typed_columns_are_read_as_iso_text(con: duckdb.DuckDBPyConnection) -> None:
    suite = _job(
        {
            "id": {"type": "integer", "min": 1},
            "at": {"type": "timestamp", "required": True},
            "on": {"type": "timestamp"},
            "ok": {"type": "boolean"},
            "score": {"type": "float", "max": 1},
        }
    )
    con.execute(
        "CREATE TABLE t AS SELECT 7::BIGINT AS id, TIMESTAMPTZ '2026-01-05 09:30:00+02' AS at, "
        "DATE '2026-01-05' AS on, true AS ok, 0.5::DOUBLE AS score"
    )
    con.execute("INSERT INTO t VALUES (8, NULL, NULL, NULL, 1.5)")
    verdicts = validation.validate_table(con, "t", suite, "id")
    assert verdicts.failed_by_key == {"8": ["input.at.required", "input.score.between"]}


def test_row_rules_judge_the_given_rows_and_batch_rules_the_whole_table(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A run's scope: row rules judge its rows only, and a failure of a row outside it (the
    twin of a duplicate, a bad value already judged) is not its business; freshness and the
    row count still judge the table, whose newest row is outside the scope."""
    suite = _job(
        {
            "id": {"type": "integer"},
            "email": {"unique": True},
            "n": {"type": "integer"},
            "ts": {"type": "timestamp", "max_age_hours": 24},
        }
    )
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES "
        "(1, 'a@x.io', '1', '2026-11-22 06:00:00'), (2, 'dup@x.io', '2', '2026-01-01'), "
        "(3, 'c@x.io', 'three', '2026-01-01'), (4, 'd@x.io', '4', '2026-01-01'), "
        "(5, 'dup@x.io', '5', '2026-01-01'), (6, 'f@x.io', 'six', '2026-01-01')) "
        "v(id, email, n, ts)"
    )
    scope = "SELECT * FROM t WHERE id >= 4"
    verdicts = validation.validate_table(con, "t", suite, "id", rows=scope, chunk_rows=2, now=NOW)
    assert verdicts.failed_by_key == {"5": ["input.email.unique"], "6": ["input.n.type"]}
    assert verdicts.batch_failures == []
    assert (verdicts.evaluated, verdicts.judged) == (6, 3)


def test_a_run_with_nothing_to_judge_never_starts_gx(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_gx(*_: object) -> None:
        raise AssertionError("GX started for no row")

    monkeypatch.setattr(validation, "_Gx", no_gx)
    suite = _job({"id": {"type": "integer"}, "ts": {"type": "timestamp", "max_age_hours": 1}})
    con.execute("CREATE TABLE t AS SELECT 1 AS id, '2026-01-01' AS ts")
    verdicts = validation.validate_table(con, "t", suite, "id", rows="SELECT * FROM t LIMIT 0")
    assert verdicts.judged == 0 and verdicts.failed_by_key == {}
    assert verdicts.batch_failures == ["input.ts.freshness"]  # the table is judged all the same
