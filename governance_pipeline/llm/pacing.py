"""Lanes of a rate limit: when the next request may go, shared by every process of a store.

A limit of R per minute is a lane whose timeline advances by 60/R seconds for each unit sent
(the generic cell rate algorithm: a leaky bucket kept as one number, the time the lane is free
again). A request claims its units at once and is told when its slot starts; it sleeps until
then. One number per lane, updated in one statement, is what lets processes share a limit
without a server:

    LocalPacer   the lanes of one process (a dict)
    SharedPacer  the lanes in a SQLite file beside the store (`<store>.pace.sqlite`), so every
                 process that writes to the store (parallel `govern run`s, Dagster's
                 multiprocess executor, a backfill's runs) paces against the same limit

Lane names are hashed: the file never holds an endpoint's URL.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Protocol


class Pacer(Protocol):
    """Timelines of lanes, in seconds of `time.time()` (the clock processes share)."""

    def claim(self, lane: str, cost_s: float, now: float) -> float:
        """Take `cost_s` seconds of the lane from when it is free (or `now`); return when the
        claimed slot starts."""
        ...

    def hold(self, lane: str, until: float) -> None:
        """No slot of the lane starts before `until` (a server's Retry-After)."""
        ...


def lane_name(*parts: str) -> str:
    """A lane's name: a hash of what identifies the quota (endpoint and model), then its unit."""
    *quota, unit = parts
    return hashlib.sha256("|".join(quota).encode()).hexdigest()[:16] + ":" + unit


class LocalPacer:
    """The lanes of this process."""

    def __init__(self) -> None:
        self._free_at: dict[str, float] = {}

    def claim(self, lane: str, cost_s: float, now: float) -> float:
        start = max(self._free_at.get(lane, now), now)
        self._free_at[lane] = start + cost_s
        return start

    def hold(self, lane: str, until: float) -> None:
        self._free_at[lane] = max(self._free_at.get(lane, until), until)


class SharedPacer:
    """The lanes in a SQLite file that every process of a store shares.

    Each claim is one UPSERT (atomic in SQLite; WAL, no fsync: a lane is pacing state, not
    data, and losing it in a power cut costs one minute's pacing at most).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=OFF")
        from governance_pipeline.store.ddl import PACE_DDL  # the store's package: DuckDB, pandas

        self._con.execute(PACE_DDL)

    @classmethod
    def beside(cls, db: Path | str) -> SharedPacer:
        """The pacer of the store file `db`: `<db stem>.pace.sqlite` in its folder."""
        db = Path(db)
        return cls(db.with_name(f"{db.stem}.pace.sqlite"))

    def claim(self, lane: str, cost_s: float, now: float) -> float:
        with self._lock:
            [(free_at,)] = self._con.execute(
                "INSERT INTO lane (name, free_at) VALUES (?1, ?2 + ?3) ON CONFLICT (name) DO "
                "UPDATE SET free_at = max(free_at, ?2) + ?3 RETURNING free_at",
                (lane, now, cost_s),
            ).fetchall()
        return float(free_at) - cost_s

    def hold(self, lane: str, until: float) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO lane (name, free_at) VALUES (?1, ?2) ON CONFLICT (name) DO "
                "UPDATE SET free_at = max(free_at, ?2)",
                (lane, until),
            )

    def close(self) -> None:
        """Close the file (the lanes stay in it for the next process)."""
        with self._lock:
            self._con.close()
