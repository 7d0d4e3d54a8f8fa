"""Tests for connections to the store (``governance_pipeline.store.connection``).

Why these cases matter: DuckDB lets one process write a file and no other read it meanwhile.
The pipeline keeps every connection short so that the alert sensor, `govern report` and a
read-only shell get their turn while a run calls the model; so a closed connection must free
the file for other processes at once, threads of one process must take turns rather than fail,
and a caller that waited too long must learn which process holds the file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from governance_pipeline import store
from governance_pipeline.errors import StoreError
from tests.conftest import PROJECT_ROOT

HOLD = """
import sys, time
from governance_pipeline import store
with store.connect(sys.argv[1]) as con:
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""
PEEK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_closed_connection_frees_the_file_for_another_process(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with store.connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS i")
    peek = python(PEEK, str(db))  # a plain read-only DuckDB, as `duckdb -readonly` opens it
    out, _ = peek.communicate(timeout=60)
    assert peek.returncode == 0 and out.strip() == "1", out


def test_threads_take_turns_and_a_nested_connection_shares_the_outer(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with store.connect(db) as con:
        con.execute("CREATE TABLE t (i INTEGER)")
        with store.connect(db) as inner:  # same thread: the same attachment
            inner.execute("INSERT INTO t VALUES (1)")
        assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)
    waited: list[float] = []

    def writer() -> None:
        start = time.monotonic()
        with store.connect(db) as con:
            con.execute("INSERT INTO t VALUES (2)")
        waited.append(time.monotonic() - start)

    with store.connect(db, read_only=True):
        other = threading.Thread(target=writer)
        other.start()
        time.sleep(0.3)
        assert not waited  # it waits its turn...
    other.join(timeout=30)
    assert waited and waited[0] >= 0.3  # ...and gets it, instead of failing
    with store.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_a_writer_waits_for_another_process_then_names_it(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with store.connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS i")
    holder = python(HOLD, str(db), "3")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    with pytest.raises(StoreError) as caught:
        with store.connect(db, wait_s=0.5):
            pass
    message = str(caught.value)
    assert f"process {holder.pid} (" in message and "has held it for over 0.5 s" in message
    assert "GOVERNANCE_STORE_WAIT_S" in message
    start = time.monotonic()
    with store.connect(db, wait_s=60) as con:  # a longer wait outlasts the holder
        assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)
    assert time.monotonic() - start < 30
    holder.wait(timeout=30)
