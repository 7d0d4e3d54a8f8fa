"""A run's lifecycle in `governance.run`: opened once, closed once, never looked up as "the latest".

A run's id is carried by the run itself (Dagster's run id, passed to every stage); no stage asks
the store which run is current, so two overlapping runs of one job never write under each
other's id.

    start      the first stage opens the run: `running`, with the process that runs it
    finish     the run closes exactly once: `succeeded` (published), `blocked` (a blocking SLA
               withheld publication; the ledger is final), or `failed` (any step raised, a
               blocking check other than an SLA failed, or Dagster stopped the run)
    abandoned  a run still `running` whose process is gone (killed with -9, a lost machine is
               not detected) is closed as `abandoned` by the next run of the job on that host

Closing is idempotent: the first close wins, so the step that knows the cause (a failed check)
and the driver that sees the run end (the CLI, the run-failure sensor) may both try.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import duckdb

from governance_pipeline.errors import StoreError
from governance_pipeline.store.query import first


class RunStatus(str, Enum):
    """The state of a run in `governance.run`."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    BLOCKED = "blocked"
    FAILED = "failed"
    ABANDONED = "abandoned"


def now() -> datetime:
    """The store's clock: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def start(
    con: duckdb.DuckDBPyConnection,
    job: str,
    run_id: str,
    spec_hash: str,
    endpoint: str,
    partition_key: str | None = None,
) -> list[str]:
    """Open a run (again, for a retried first step); close the job's abandoned runs.

    Args:
        partition_key: The partition the run takes, for a partitioned job (its ledger and SLA
            results are then the partition's).

    Returns:
        The ids of the runs it marked `abandoned`.
    """
    abandoned = _abandon_dead(con, job, run_id)
    con.execute(
        "INSERT INTO governance.run (run_id, job, spec_hash, endpoint, started_at, status, host, "
        "pid, partition_key) VALUES ($run, $job, $hash, $endpoint, $now, $status, $host, $pid, "
        "$partition) ON CONFLICT (run_id) DO UPDATE SET spec_hash = $hash, endpoint = $endpoint, "
        "status = $status, finished_at = NULL, reason = NULL, host = $host, pid = $pid, "
        "partition_key = $partition",
        {
            "run": run_id,
            "job": job,
            "hash": spec_hash,
            "endpoint": endpoint,
            "now": now(),
            "status": RunStatus.RUNNING.value,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "partition": partition_key,
        },
    )
    return abandoned


def finish(
    con: duckdb.DuckDBPyConnection, run_id: str, status: RunStatus, reason: str | None = None
) -> bool:
    """Close a run that is still running; True if this call closed it."""
    if status is RunStatus.RUNNING:
        raise ValueError("finish() closes a run: give succeeded, blocked, failed or abandoned")
    closed = con.execute(
        "UPDATE governance.run SET status = ?, finished_at = ?, reason = ? "
        "WHERE run_id = ? AND status = ? RETURNING run_id",
        [status.value, now(), reason, run_id, RunStatus.RUNNING.value],
    ).fetchall()
    return bool(closed)


def status_of(con: duckdb.DuckDBPyConnection, run_id: str) -> RunStatus | None:
    """The recorded status of a run, None if the store has never seen it."""
    row = first(con, "SELECT status FROM governance.run WHERE run_id = ?", [run_id])
    return RunStatus(row[0]) if row and row[0] in RunStatus._value2member_map_ else None


def record_summary(con: duckdb.DuckDBPyConnection, run_id: str, summary: dict[str, Any]) -> None:
    """Merge figures into the run's `summary` JSON (kept as the run goes)."""
    row = first(con, "SELECT summary FROM governance.run WHERE run_id = ?", [run_id])
    merged = {**(json.loads(row[0]) if row and row[0] else {}), **summary}
    con.execute(
        "UPDATE governance.run SET summary = ? WHERE run_id = ?", [json.dumps(merged), run_id]
    )


def latest_with_ledger(con: duckdb.DuckDBPyConnection, job: str) -> str:
    """The newest run of a job that wrote its ledger: what `govern report` shows by default.

    Raises:
        StoreError: the job has never written a ledger.
    """
    from governance_pipeline.store import table_exists

    if not table_exists(con, f"{job}.row_ledger"):
        raise StoreError(f"job {job!r} has never run here: `govern run {job}`")
    row = first(
        con,
        "SELECT run_id FROM governance.run r WHERE job = ? AND EXISTS "
        f"(SELECT 1 FROM {job}.row_ledger l WHERE l.run_id = r.run_id) "
        "ORDER BY started_at DESC LIMIT 1",
        [job],
    )
    if row is None:
        raise StoreError(f"job {job!r} has never completed a run: `govern run {job}`")
    return str(row[0])


def _abandon_dead(con: duckdb.DuckDBPyConnection, job: str, run_id: str) -> list[str]:
    """Close the job's runs left `running` by a process of this host that no longer exists."""
    host = socket.gethostname()
    candidates = con.execute(
        "SELECT run_id, pid FROM governance.run WHERE job = ? AND status = ? AND host = ? "
        "AND run_id <> ?",
        [job, RunStatus.RUNNING.value, host, run_id],
    ).fetchall()
    dead = []
    for old, pid in candidates:
        if pid is None or _alive(int(pid)):
            continue
        why = f"its process (pid {pid} on {host}) ended without closing it; seen by run {run_id}"
        if finish(con, old, RunStatus.ABANDONED, why):
            dead.append(str(old))
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
