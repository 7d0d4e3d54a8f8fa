"""Which model answered a run, against the run before: an alias (`gpt-4o-mini`) is served by
dated snapshots that change under it, and a new snapshot or `system_fingerprint` can change the
answers of an unchanged spec. The `served_model` check of the LLM stage warns when it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from governance_pipeline.llm.calls import CallStatus
from governance_pipeline.store import first

Served = frozenset[tuple[str, str | None]]
"""(served model, system fingerprint) pairs of a run's answered calls."""


@dataclass(frozen=True)
class ServedModels:
    """Who answered this run, and who answered the job's last run before it that called."""

    now: Served
    before: Served
    before_run: str | None

    @property
    def changed(self) -> bool:
        """True when both runs called the model and different snapshots answered."""
        return bool(self.now and self.before) and self.now != self.before

    def describe(self) -> str:
        """In one line, naming both versions when they differ."""
        if not self.now:
            return "no call of this run was answered: nothing to compare"
        if not self.before:
            return f"answered by {_words(self.now)}; no earlier run to compare with"
        if self.changed:
            return (
                f"the model that answers changed: {_words(self.before)} in run "
                f"{self.before_run}, now {_words(self.now)}"
            )
        return f"answered by {_words(self.now)}, as in run {self.before_run}"


def served_models(con: duckdb.DuckDBPyConnection, job: str, run_id: str) -> ServedModels:
    """The snapshots that answered run `run_id` of `job`, and those of the run before it that
    asked for the same model (a model the spec changed on purpose is no surprise)."""
    now = _served(con, job, run_id)
    previous = first(
        con,
        f"SELECT c.run_id FROM {job}.llm_call c JOIN governance.run r USING (run_id) "
        "WHERE c.run_id <> $run AND c.status = $ok AND c.served_model IS NOT NULL "
        f"AND c.model IN (SELECT model FROM {job}.llm_call WHERE run_id = $run) "
        "AND r.started_at <= (SELECT coalesce(max(started_at), now()::TIMESTAMP) "
        "FROM governance.run WHERE run_id = $run) ORDER BY r.started_at DESC LIMIT 1",
        {"run": run_id, "ok": CallStatus.OK.value},
    )
    before_run = str(previous[0]) if previous else None
    before = _served(con, job, before_run) if before_run else frozenset()
    return ServedModels(now, before, before_run)


def _served(con: duckdb.DuckDBPyConnection, job: str, run_id: str) -> Served:
    rows = con.execute(
        f"SELECT DISTINCT served_model, system_fingerprint FROM {job}.llm_call "
        "WHERE run_id = ? AND status = ? AND served_model IS NOT NULL",
        [run_id, CallStatus.OK.value],
    ).fetchall()
    return frozenset((str(m), None if f is None else str(f)) for m, f in rows)


def listed(served: Served) -> list[list[str | None]]:
    """The pairs as sorted lists, for metadata."""
    return [[m, fp] for m, fp in sorted(served, key=lambda s: (s[0], s[1] or ""))]


def _words(served: Served) -> str:
    pairs = sorted(served, key=lambda s: (s[0], s[1] or ""))
    return ", ".join(m + (f" ({fp})" if fp else "") for m, fp in pairs)
