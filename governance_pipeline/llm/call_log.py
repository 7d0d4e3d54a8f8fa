"""Writes the LLM stage's results to DuckDB: paid answers to `governance.llm_cache`, every call
to the job's `llm_call`, as the calls end.

A DuckDB commit costs milliseconds of CPU and a WAL sync, more than a whole call's share at a
few hundred calls a second, so results are written by group commit: a writer task takes
whatever has arrived, writes it in one transaction on a worker thread while the event loop goes
on sending, then waits `interval_s` (0.1 s) for more. A result that ends after a quiet spell is
written at once; under load, one commit holds everything that ended in the interval. A crash
loses at most the calls that ended in the last interval and the commit under way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import duckdb

from governance_pipeline.cli.progress import PROGRESS_LOGGER
from governance_pipeline.llm.calls import CallRequest, CallResult, CallStatus
from governance_pipeline.store import transaction
from governance_pipeline.store.runs import now

PROGRESS = logging.getLogger(PROGRESS_LOGGER)
"""Emits one DEBUG record per write through the LLM stage, with `done` and `total` attributes,
for a front end (the CLI's progress bar) to follow."""

_ANSWERED = (CallStatus.OK, CallStatus.CACHED)


@dataclass(frozen=True)
class Entry:
    """One result to record; `repairs` is, for a repair call, the request hash of the answer it
    repairs: an answered repair supersedes it."""

    request: CallRequest
    result: CallResult
    repairs: str | None = None


class CallLog:
    """The recorder of one run's LLM stage.

    Args:
        con: The store; used by one thread at a time (the writer's, while `flushing`).
        schema: The job's schema.
        key: The source key column.
        run_id: The run the calls belong to.
        model: Model name recorded with each call.
        total: Rows in the stage, for progress.
        on_progress: Called with (rows done, total) after each write, on the caller's thread.
        interval_s: Least time between two commits while calls are ending: what a crash can
            lose at most, besides the commit under way.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        schema: str,
        key: str,
        run_id: str,
        model: str,
        total: int,
        on_progress: Callable[[int, int], None] | None = None,
        interval_s: float = 0.1,
    ) -> None:
        self.con, self.schema, self.key = con, schema, key
        self.run_id, self.model, self.total = run_id, model, total
        self.on_progress = on_progress
        self.interval_s = interval_s
        self.done = 0
        self._buffer: list[Entry] = []
        self._wake: asyncio.Event | None = None

    def add(self, request: CallRequest, result: CallResult, repairs: str | None = None) -> None:
        """Queue a result for the writer (on the event loop, inside `flushing`)."""
        self._buffer.append(Entry(request, result, repairs))
        if self._wake is not None:
            self._wake.set()

    @asynccontextmanager
    async def flushing(self) -> AsyncIterator[CallLog]:
        """Run the writer while the block runs; on the way out, write everything queued."""
        self._wake = wake = asyncio.Event()
        closing = asyncio.Event()

        async def writer() -> None:
            while not closing.is_set() or self._buffer:
                await wake.wait()
                wake.clear()
                if self._buffer:
                    batch, self._buffer = self._buffer, []
                    self._progress(await asyncio.to_thread(self._write, batch))
                    with suppress(TimeoutError):  # gather what ends meanwhile: one commit
                        await asyncio.wait_for(closing.wait(), self.interval_s)
                    wake.set()

        task = asyncio.create_task(writer())
        try:
            yield self
        finally:
            closing.set()
            wake.set()
            try:
                await task
            finally:
                self._wake = None
                if self._buffer:  # the writer died or was cancelled: keep what was paid
                    batch, self._buffer = self._buffer, []
                    self._progress(self._write(batch))

    def write(self, entries: list[Entry]) -> None:
        """Write results now, in one transaction (outside `flushing`)."""
        if entries:
            self._progress(self._write(entries))

    def _write(self, entries: list[Entry]) -> int:
        calls: dict[str, list[Any]] = {c: [] for c in _CALL_COLUMNS}
        for e in entries:
            r = e.result
            for i, k in enumerate(e.request.keys):  # a shared request's usage is on its first row
                first = i == 0
                calls["row_key"].append(k)
                calls["request_hash"].append(r.request_hash)
                calls["attempt"].append(r.attempts)
                calls["status"].append(r.status.value)
                calls["error_class"].append(r.error_class)
                calls["latency_ms"].append(r.latency_ms)
                calls["tokens_in"].append(r.tokens_in if first else 0)
                calls["tokens_out"].append(r.tokens_out if first else 0)
                calls["cost_usd"].append(r.cost_usd if first else 0.0)
        paid = {
            e.result.request_hash: e.result for e in entries if e.result.status is CallStatus.OK
        }
        cache: dict[str, list[Any]] = {
            "request_hash": list(paid),
            "content": [r.content for r in paid.values()],
            "tokens_in": [r.tokens_in for r in paid.values()],
            "tokens_out": [r.tokens_out for r in paid.values()],
            "latency_ms": [r.latency_ms for r in paid.values()],
            "cost_usd": [r.cost_usd for r in paid.values()],
        }
        superseded = [e.repairs for e in entries if e.repairs and e.result.status in _ANSWERED]
        constants = {"run_id": self.run_id, "model": self.model}
        con = self.con
        with transaction(con):
            if paid:
                _insert(con, "governance.llm_cache", cache, {"model": self.model}, "OR IGNORE")
            if superseded:
                con.execute(
                    f"UPDATE {self.schema}.llm_call SET status = ? WHERE run_id = ? "
                    "AND status IN ('ok', 'cached') AND list_contains(?, request_hash)",
                    [CallStatus.SUPERSEDED.value, self.run_id, superseded],
                )
            if calls["row_key"]:
                calls[self.key] = calls.pop("row_key")
                _insert(con, f"{self.schema}.llm_call", calls, constants | {"called_at": now()})
        return sum(len(e.request.keys) for e in entries if e.repairs is None)  # rows, not repairs

    def _progress(self, rows: int) -> None:
        if not rows:
            return
        self.done += rows
        PROGRESS.debug(
            "%s: %d/%d rows through the LLM stage",
            self.schema,
            self.done,
            self.total,
            extra={"done": self.done, "total": self.total},
        )
        if self.on_progress:
            self.on_progress(self.done, self.total)


_CALL_COLUMNS = (
    "row_key",
    "request_hash",
    "attempt",
    "status",
    "error_class",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
)


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, list[Any]],
    constants: dict[str, Any],
    conflict: str = "",
) -> None:
    """Insert equal-length column lists (and constant columns) in one statement, by name.

    Lists go in as LIST parameters and come out with `unnest`: no data frame is built, and one
    statement inserts every row (a statement per row would cost a commit's worth each).
    """
    params = {f"c{i}": v for i, v in enumerate(columns.values())}
    params |= {f"k{i}": v for i, v in enumerate(constants.values())}
    select = [f'unnest($c{i}) AS "{name}"' for i, name in enumerate(columns)]
    select += [f'$k{i} AS "{name}"' for i, name in enumerate(constants)]
    con.execute(f"INSERT {conflict} INTO {table} BY NAME SELECT {', '.join(select)}", params)
