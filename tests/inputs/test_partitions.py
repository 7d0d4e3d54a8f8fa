"""Placing a source row in a partition's window: the landing table's text read as an instant.

Why these cases matter: a row placed in the wrong day is processed by the wrong run (and its
ledger, SLAs and checks are the wrong day's), and a row placed in no day is never processed.
Text with an offset is that instant, text without one is UTC (the store's clock), the window is
[start, end), and text that is no timestamp places its row nowhere (`untimed`), never in a
window by accident.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from governance_pipeline.inputs.partitions import Window, time_sql

DAY = Window("2026-11-30", datetime(2026, 11, 30), datetime(2026, 12, 1))


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-30T10:00:00Z", datetime(2026, 11, 30, 10)),
        ("2026-11-30 10:00:00+02:00", datetime(2026, 11, 30, 8)),
        ("2026-11-30T10:00:00-0530", datetime(2026, 11, 30, 15, 30)),
        ("2026-12-01T01:00:00+02:00", datetime(2026, 11, 30, 23)),  # the 30th in UTC
        ("2026-11-30T23:59:59", datetime(2026, 11, 30, 23, 59, 59)),  # no offset: UTC
        ("2026-11-30", datetime(2026, 11, 30)),
        (" 2026-11-30T10:00:00Z ", datetime(2026, 11, 30, 10)),
        ("not a date", None),
        ("31/02/2026", None),
        ("", None),
        (None, None),
    ],
)
def test_text_is_read_as_an_instant(text: str | None, utc: datetime | None) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (created_at VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [text])
    assert con.execute(f"SELECT {time_sql('created_at', 'VARCHAR')} FROM t").fetchone() == (utc,)


def test_typed_columns_are_read_as_their_instant() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Paris'")  # the session's zone must not matter
    con.execute("CREATE TABLE t (a TIMESTAMPTZ, b TIMESTAMP, c DATE)")
    con.execute(
        "INSERT INTO t VALUES ('2026-12-01 00:30:00+01:00', '2026-11-30 10:00:00', '2026-11-30')"
    )
    got = con.execute(
        f"SELECT {time_sql('a', 'TIMESTAMP WITH TIME ZONE')}, {time_sql('b', 'TIMESTAMP')}, "
        f"{time_sql('c', 'DATE')} FROM t"
    ).fetchone()
    assert got == (datetime(2026, 11, 30, 23, 30), datetime(2026, 11, 30, 10), DAY.start)


def test_a_window_from_dagsters_bounds_is_naive_utc() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    window = Window.of(
        "2026-11-30", datetime(2026, 11, 30, tzinfo=paris), datetime(2026, 12, 1, tzinfo=paris)
    )
    assert (window.start, window.end) == (datetime(2026, 11, 29, 23), datetime(2026, 11, 30, 23))
