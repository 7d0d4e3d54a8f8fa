"""Tests for the deterministic support-ticket demo data generator."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from governance_pipeline.demo import tickets as demo_data
from governance_pipeline.demo.tickets import (
    BAD_CHANNELS,
    CHANNELS,
    COLUMNS,
    INJECTION_PHRASES,
    OVERSIZE_MIN_CHARS,
    generate_support_tickets,
    main,
)

TABLE = "raw.support_tickets"
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD_CANDIDATE_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
US_PHONE_RE = re.compile(r"\(\d{3}\) \d{3}-\d{4}|\b\d{3}-\d{3}-\d{4}\b")
INTL_PHONE_RE = re.compile(r"\+(?:44|49|33|61|91) \d")
INJECTION_RE = re.compile(
    r"ignore all previous instructions|ignore the above|SYSTEM:|disregard your guidelines"
    r"|new instructions",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn check (independent implementation)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def table_hash(con: duckdb.DuckDBPyConnection, table: str = TABLE) -> str:
    """SHA-256 of the full table content in ticket order."""
    rows = con.execute(f"SELECT * FROM {table} ORDER BY ticket_id").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def bodies(con: duckdb.DuckDBPyConnection) -> list[str]:
    """All non-null bodies."""
    query = f"SELECT body FROM {TABLE} WHERE body IS NOT NULL ORDER BY ticket_id"
    return [r[0] for r in con.execute(query).fetchall()]


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory DuckDB connection."""
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture()
def con40(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection holding 40 generated tickets (default seed)."""
    assert generate_support_tickets(con, 40) == 40
    return con


def test_luhn_helper_sanity() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("5500000000000004")
    assert not luhn_valid("4111111111111112")


def test_schema_and_types(con40: duckdb.DuckDBPyConnection) -> None:
    described = con40.execute(f"DESCRIBE {TABLE}").fetchall()
    assert tuple(r[0] for r in described) == COLUMNS
    assert COLUMNS == ("ticket_id", "created_at", "channel", "customer_name", "subject", "body")
    assert [r[1] for r in described] == ["BIGINT"] + ["VARCHAR"] * 5
    assert con40.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (40,)


def test_ticket_ids_unique_and_dense(con40: duckdb.DuckDBPyConnection) -> None:
    row = con40.execute(
        f"SELECT count(*), count(DISTINCT ticket_id), min(ticket_id), max(ticket_id),"
        f" count(*) FILTER (WHERE ticket_id IS NULL) FROM {TABLE}"
    ).fetchone()
    assert row == (40, 40, 1, 40, 0)


def test_required_text_columns_populated(con40: duckdb.DuckDBPyConnection) -> None:
    row = con40.execute(
        f"SELECT count(*) FILTER (WHERE customer_name IS NULL OR customer_name = ''),"
        f" count(*) FILTER (WHERE subject IS NULL OR subject = ''),"
        f" count(*) FILTER (WHERE created_at IS NULL OR channel IS NULL) FROM {TABLE}"
    ).fetchone()
    assert row == (0, 0, 0)


def test_valid_timestamps_are_iso_in_2026(con40: duckdb.DuckDBPyConnection) -> None:
    rows = con40.execute(
        f"SELECT created_at, TRY_CAST(created_at AS TIMESTAMP) FROM {TABLE}"
    ).fetchall()
    parsed = [(text, ts) for text, ts in rows if ts is not None]
    assert len(parsed) == 39
    for text, ts in parsed:
        assert re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
        assert ts.year == 2026


def test_determinism_same_seed_same_hash() -> None:
    first, second = duckdb.connect(), duckdb.connect()
    generate_support_tickets(first, 40, seed=11)
    generate_support_tickets(second, 40, seed=11)
    assert table_hash(first) == table_hash(second)


def test_determinism_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_data, "CHUNK_ROWS", 400)
    first, second = duckdb.connect(), duckdb.connect()
    generate_support_tickets(first, 1000, seed=3)
    generate_support_tickets(second, 1000, seed=3)
    assert table_hash(first) == table_hash(second)
    assert first.execute(f"SELECT count(DISTINCT ticket_id) FROM {TABLE}").fetchone() == (1000,)


def test_determinism_across_processes() -> None:
    script = (
        "import duckdb, hashlib\n"
        "from governance_pipeline.demo.tickets import generate_support_tickets\n"
        "con = duckdb.connect()\n"
        "generate_support_tickets(con, 40, seed=11)\n"
        f"rows = con.execute('SELECT * FROM {TABLE} ORDER BY ticket_id').fetchall()\n"
        "print(hashlib.sha256(repr(rows).encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    here = duckdb.connect()
    generate_support_tickets(here, 40, seed=11)
    assert result.stdout.strip() == table_hash(here)


def test_different_seed_different_hash() -> None:
    first, second = duckdb.connect(), duckdb.connect()
    generate_support_tickets(first, 40, seed=7)
    generate_support_tickets(second, 40, seed=8)
    assert table_hash(first) != table_hash(second)


def test_malformed_kinds_present_at_40_rows(con40: duckdb.DuckDBPyConnection) -> None:
    channels = ", ".join(f"'{c}'" for c in CHANNELS)
    null_body, oversize, bad_ts, bad_channel = con40.execute(
        f"SELECT count(*) FILTER (WHERE body IS NULL),"
        f" count(*) FILTER (WHERE length(body) > {OVERSIZE_MIN_CHARS}),"
        f" count(*) FILTER (WHERE TRY_CAST(created_at AS TIMESTAMP) IS NULL),"
        f" count(*) FILTER (WHERE channel NOT IN ({channels}))"
        f" FROM {TABLE}"
    ).fetchone()
    assert (null_body, oversize, bad_ts, bad_channel) == (1, 1, 1, 1)
    bad_values = [
        r[0]
        for r in con40.execute(
            f"SELECT channel FROM {TABLE} WHERE channel NOT IN ({channels})"
        ).fetchall()
    ]
    assert set(bad_values) <= set(BAD_CHANNELS)


@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
def test_mix_guaranteed_for_any_seed_at_40_rows(seed: int) -> None:
    con = duckdb.connect()
    generate_support_tickets(con, 40, seed=seed)
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE body IS NULL),"
        f" count(*) FILTER (WHERE length(body) > {OVERSIZE_MIN_CHARS}),"
        f" count(*) FILTER (WHERE TRY_CAST(created_at AS TIMESTAMP) IS NULL),"
        f" count(*) FILTER (WHERE channel NOT IN ('email', 'chat', 'phone', 'web'))"
        f" FROM {TABLE}"
    ).fetchone()
    assert row == (1, 1, 1, 1)
    injected = [b for b in bodies(con) if INJECTION_RE.search(b)]
    assert len(injected) == 2


def test_prompt_injection_rows_present(con40: duckdb.DuckDBPyConnection) -> None:
    injected = [b for b in bodies(con40) if any(p in b for p in INJECTION_PHRASES)]
    assert len(injected) >= 2
    assert len([b for b in bodies(con40) if INJECTION_RE.search(b)]) >= 2
    for body in injected:
        phrase = next(p for p in INJECTION_PHRASES if p in body)
        # Embedded in otherwise normal text, not the whole body.
        assert len(body) > len(phrase) + 20


def test_pii_present(con40: duckdb.DuckDBPyConnection) -> None:
    texts = bodies(con40)
    assert sum(bool(EMAIL_RE.search(b)) for b in texts) >= 3
    assert any(US_PHONE_RE.search(b) for b in texts)
    pairs = con40.execute(
        f"SELECT customer_name, body FROM {TABLE} WHERE body IS NOT NULL"
    ).fetchall()
    assert sum(name in body for name, body in pairs) >= 10


def test_card_numbers_pass_luhn() -> None:
    con = duckdb.connect()
    generate_support_tickets(con, 400)
    candidates = [
        re.sub(r"[ -]", "", m.group(0))
        for body in bodies(con)
        for m in CARD_CANDIDATE_RE.finditer(body)
    ]
    valid = [c for c in candidates if 13 <= len(c) <= 19 and luhn_valid(c)]
    assert len(valid) >= 10
    assert any(len(c) == 16 for c in valid)
    # Card-shaped numbers in bodies are always deliberate cards, hence always Luhn-valid.
    assert len(valid) == len(candidates)


def test_pii_kinds_at_scale() -> None:
    con = duckdb.connect()
    generate_support_tickets(con, 5000, seed=7)
    texts = bodies(con)
    assert 0.2 < sum(bool(EMAIL_RE.search(b)) for b in texts) / len(texts) < 0.6
    assert sum(bool(US_PHONE_RE.search(b)) for b in texts) > 300
    assert sum(bool(INTL_PHONE_RE.search(b)) for b in texts) > 50
    assert any(re.search(r"\b\d{4} \d{4} \d{4} \d{4}\b", b) for b in texts)
    assert any(re.search(r"\b\d{4}-\d{4}-\d{4}-\d{4}\b", b) for b in texts)


def test_mix_proportions_at_5000_rows() -> None:
    con = duckdb.connect()
    generate_support_tickets(con, 5000, seed=99)
    null_body, oversize, bad_ts, bad_channel, normal_max = con.execute(
        f"SELECT count(*) FILTER (WHERE body IS NULL),"
        f" count(*) FILTER (WHERE length(body) > {OVERSIZE_MIN_CHARS}),"
        f" count(*) FILTER (WHERE TRY_CAST(created_at AS TIMESTAMP) IS NULL),"
        f" count(*) FILTER (WHERE channel NOT IN ('email', 'chat', 'phone', 'web')),"
        f" max(length(body)) FILTER (WHERE length(body) <= {OVERSIZE_MIN_CHARS})"
        f" FROM {TABLE}"
    ).fetchone()
    assert (null_body, oversize, bad_ts, bad_channel) == (125, 125, 125, 125)
    assert normal_max < 2000  # ordinary bodies are nowhere near the oversize threshold
    injected = sum(bool(INJECTION_RE.search(b)) for b in bodies(con))
    assert injected == 250


def test_oversize_bodies_exceed_limit(con40: duckdb.DuckDBPyConnection) -> None:
    lengths = [
        r[0]
        for r in con40.execute(
            f"SELECT length(body) FROM {TABLE} WHERE length(body) > 2000"
        ).fetchall()
    ]
    assert lengths and all(n > OVERSIZE_MIN_CHARS for n in lengths)


def test_bad_timestamps_include_listed_examples() -> None:
    con = duckdb.connect()
    generate_support_tickets(con, 2000)
    values = {
        r[0]
        for r in con.execute(
            f"SELECT created_at FROM {TABLE} WHERE TRY_CAST(created_at AS TIMESTAMP) IS NULL"
        ).fetchall()
    }
    assert {"not a date", "31/02/2026", ""} <= values


def test_replaces_existing_table_and_custom_table(con: duckdb.DuckDBPyConnection) -> None:
    generate_support_tickets(con, 80, table="landing.tickets")
    generate_support_tickets(con, 40, table="landing.tickets")
    assert con.execute("SELECT count(*) FROM landing.tickets").fetchone() == (40,)


def test_progress_callback_and_zero_rows(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_data, "CHUNK_ROWS", 40)
    seen: list[int] = []
    assert generate_support_tickets(con, 100, on_progress=seen.append) == 100
    assert seen == [40, 80, 100]
    assert generate_support_tickets(con, 0) == 0
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (0,)


@pytest.mark.parametrize(
    ("rows", "seed", "table"),
    [(-1, 7, TABLE), (10, -1, TABLE), (10, 7, "raw.tickets; DROP TABLE x"), (10, 7, "a.b.c.d")],
)
def test_invalid_arguments(
    con: duckdb.DuckDBPyConnection, rows: int, seed: int, table: str
) -> None:
    with pytest.raises(ValueError):
        generate_support_tickets(con, rows, seed=seed, table=table)


def test_main_writes_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.duckdb"
    assert main(["--rows", "40", "--seed", "5", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "40" in out and re.search(r"\d+\.\d+ s", out)
    with duckdb.connect(str(db)) as con:
        assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (40,)
        file_hash = table_hash(con)
    memory = duckdb.connect()
    generate_support_tickets(memory, 40, seed=5)
    assert table_hash(memory) == file_hash
