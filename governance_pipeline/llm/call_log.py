"""Writes the LLM stage's results to DuckDB: paid answers to `governance.llm_cache`, every call
to the job's `llm_call`, as the calls end.

A DuckDB commit costs milliseconds of CPU and a WAL sync, more than a whole call's share at a
few hundred calls a second, so results are written by group commit: a writer task takes
whatever has arrived, writes it in one transaction on a worker thread while the event loop goes
on sending, then waits `interval_s` (0.1 s) for more. A result that ends after a quiet spell is
written at once; under load, one commit holds everything that ended in the interval.

Each commit opens the store, writes and closes it (`store.connection`: tens of milliseconds,
a checkpoint included), so between two commits the file is free: the alert sensor, `govern
report` or a read-only DuckDB shell can open it while the stage is calling the model. While
another process holds the file, the writer waits its turn and the calls go on; what arrives
meanwhile is in the journal, and goes into the next commit.

What a paid answer costs is never lost to the wait: before it joins the commit buffer it is in
the call journal next to the store (`journal`), which the commit deletes once the store has it
and which the next stage folds into `llm_cache` (`recover`) when a process died first. A kill
loses no answer; a crash of the machine, at most the answers of the journal's last 25 ms.

Answers are kept at rest (`outputs.answers`): PII the model wrote is replaced by markers
before the answer reaches the journal or the store, and the contract judges that form.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from governance_pipeline.cli.progress import PROGRESS_LOGGER
from governance_pipeline.llm import journal
from governance_pipeline.llm.calls import CallRequest, CallResult, CallStatus
from governance_pipeline.outputs.answers import at_rest
from governance_pipeline.store import Connect, transaction
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
        connect: Opens the store for one commit (the writer's thread opens it while
            `flushing`, and never holds it in between).
        schema: The job's schema.
        key: The source key column.
        run_id: The run the calls belong to.
        model: Model name recorded with each call.
        total: Rows in the stage, for progress.
        on_progress: Called with (rows done, total) after each write, on the caller's thread.
        interval_s: Least time between two commits while calls are ending (the journal keeps
            what arrives meanwhile).
    """

    def __init__(
        self,
        connect: Connect,
        schema: str,
        key: str,
        run_id: str,
        model: str,
        total: int,
        on_progress: Callable[[int, int], None] | None = None,
        interval_s: float = 0.1,
    ) -> None:
        self.connect, self.schema, self.key = connect, schema, key
        self.run_id, self.model, self.total = run_id, model, total
        self.on_progress = on_progress
        self.interval_s = interval_s
        self.done = 0
        self.calls = 0
        """Rows whose answer came from the endpoint (or failed there), for progress."""
        self.cached = 0
        """Rows answered from the cache, for progress."""
        self._buffer: list[Entry] = []
        self._wake: asyncio.Event | None = None
        with connect() as con:
            directory = journal_dir(con)
        self.journal = journal.Journal(directory, f"{schema}-{run_id}") if directory else None

    def add(self, request: CallRequest, result: CallResult, repairs: str | None = None) -> None:
        """Queue a result for the writer (on the event loop, inside `flushing`); a paid answer
        is in the journal when this returns."""
        result = _kept(result)
        if result.status is CallStatus.OK and self.journal is not None:
            self.journal.append(self._cache_row(result))
        self._buffer.append(Entry(request, result, repairs))
        if self._wake is not None:
            self._wake.set()

    @asynccontextmanager
    async def flushing(self) -> AsyncIterator[CallLog]:
        """Run the writer (and the journal's syncer) while the block runs; on the way out,
        write everything queued."""
        self._wake = wake = asyncio.Event()
        closing = asyncio.Event()

        async def writer() -> None:
            while not closing.is_set() or self._buffer:
                await wake.wait()
                wake.clear()
                if self._buffer:
                    batch, segment = self._take()
                    self._progress(await asyncio.to_thread(self._commit, batch, segment))
                    with suppress(TimeoutError):  # gather what ends meanwhile: one commit
                        await asyncio.wait_for(closing.wait(), self.interval_s)
                    wake.set()

        with self.journal.syncing() if self.journal is not None else nullcontext():
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
                    self._close()

    def write(self, entries: list[Entry]) -> None:
        """Write results now, in one transaction (outside `flushing`; inside a connection of
        the caller's thread, in that connection's attachment)."""
        if entries:
            self._progress(self._write([replace(e, result=_kept(e.result)) for e in entries]))

    def _close(self) -> None:
        """After the writer: write what it left (it died or was cancelled: keep what was paid);
        what no commit wrote stays in the journal, for `recover`."""
        try:
            if self._buffer:
                self._progress(self._commit(*self._take()))
        finally:
            if self.journal is not None:
                self.journal.release()

    def _take(self) -> tuple[list[Entry], journal.Segment | None]:
        """The queued results and the journal segment that holds their answers."""
        batch, self._buffer = self._buffer, []
        return batch, self.journal.take() if self.journal is not None else None

    def _commit(self, entries: list[Entry], segment: journal.Segment | None) -> int:
        """Write a batch; then its answers leave the journal (a failed write keeps them)."""
        rows = self._write(entries)
        if self.journal is not None:
            self.journal.delete(segment)
        return rows

    def _cache_row(self, r: CallResult) -> dict[str, Any]:
        return {
            "request_hash": r.request_hash,
            "model": self.model,
            "content": r.content,
            "tokens_in": r.tokens_in,
            "tokens_out": r.tokens_out,
            "latency_ms": r.latency_ms,
            "cost_usd": r.cost_usd,
        }

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
                calls["error"].append(r.error)
                calls["served_model"].append(r.served_model)
                calls["system_fingerprint"].append(r.system_fingerprint)
                calls["latency_ms"].append(r.latency_ms)
                calls["tokens_in"].append(r.tokens_in if first else 0)
                calls["tokens_out"].append(r.tokens_out if first else 0)
                calls["cost_usd"].append(r.cost_usd if first else 0.0)
        for e in entries:
            if e.repairs is None:
                rows = len(e.request.keys)
                if e.result.status is CallStatus.CACHED:
                    self.cached += rows
                else:
                    self.calls += rows
        paid = {
            e.result.request_hash: e.result for e in entries if e.result.status is CallStatus.OK
        }
        cache = _columns([self._cache_row(r) for r in paid.values()])
        superseded = [e.repairs for e in entries if e.repairs and e.result.status in _ANSWERED]
        constants = {"run_id": self.run_id, "model": self.model}
        with self.connect() as con, transaction(con):
            if paid:
                _insert(con, "governance.llm_cache", cache, {}, "OR IGNORE")
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
            extra={
                "done": self.done,
                "total": self.total,
                "calls": self.calls,
                "cached": self.cached,
            },
        )
        if self.on_progress:
            self.on_progress(self.done, self.total)


def _kept(result: CallResult) -> CallResult:
    """A result as it is kept: a paid answer at rest (`outputs.answers`)."""
    if result.status is not CallStatus.OK:
        return result
    return replace(result, content=at_rest(result.content))


def recover(con: duckdb.DuckDBPyConnection) -> int:
    """Fold into `governance.llm_cache` the answers in journals that no live `CallLog` holds
    (a process died before committing them), then delete those journals.

    Returns:
        The number of answers found (some may be in the cache already).
    """
    directory = journal_dir(con)
    if directory is None:
        return 0
    with journal.orphans(directory) as records:
        rows = list({r["request_hash"]: r for r in reversed(records)}.values())  # first wins
        if rows:
            with transaction(con):
                _insert(con, "governance.llm_cache", _columns(rows), {}, "OR IGNORE")
    return len(records)


def journal_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    """Where the journals of the store `con` uses live: `<db file>.journal`; None in memory."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = rows[0][0] if rows else None
    return Path(f"{path}.journal") if path and path != ":memory:" else None


_CACHE_COLUMNS = (
    "request_hash",
    "model",
    "content",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "cost_usd",
)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {c: [r[c] for r in rows] for c in _CACHE_COLUMNS}


_CALL_COLUMNS = (
    "row_key",
    "request_hash",
    "attempt",
    "status",
    "error_class",
    "error",
    "served_model",
    "system_fingerprint",
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
