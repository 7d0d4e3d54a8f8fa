"""The run summary: what a person reads after a run, built from the tables alone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb

from governance_pipeline import sla as sla_module
from governance_pipeline.llm.calls import CallStatus
from governance_pipeline.outputs import dispositions
from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.sla import metrics
from governance_pipeline.sla.verdicts import SlaVerdict
from governance_pipeline.store import first, one


@dataclass
class RunSummary:
    """A run's figures, as the CLI prints them and Dagster shows them."""

    job: str
    run_id: str
    endpoint: str
    partition_key: str | None = None
    """The partition the run took, for a partitioned job."""
    rows_in: int = 0
    """Rows in the run's ledger: its scope (see `scope`)."""
    scope: dict[str, int] = field(default_factory=dict)
    """Source rows by why they were in the run's scope or not: new, changed, spec_changed,
    retried, unkeyed; unchanged, skipped (`inputs.scope`)."""
    by_disposition: dict[Disposition, int] = field(default_factory=dict)
    reasons: list[tuple[Disposition, str, int]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    calls_made: int = 0
    """Requests sent to the endpoint (each at least once); `attempts` counts the retries too."""
    attempts: int = 0
    stopped_by_breaker: int = 0
    """Rows whose call was never sent: the circuit breaker had judged the endpoint dead."""
    cache_hits: int = 0
    over_budget: int = 0
    cost_usd: float = 0.0
    slas: list[SlaVerdict] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    served_by: list[tuple[str, str | None, int]] = field(default_factory=list)
    """(served model, system fingerprint, calls) of the run's answered calls, most first."""

    @property
    def scope_summary(self) -> str:
        """The scope in words, e.g. `nothing new: 40 rows unchanged`."""
        from governance_pipeline.inputs.scope import describe

        return describe(self.scope)

    @property
    def breached(self) -> list[SlaVerdict]:
        """SLAs the run did not hold."""
        return [v for v in self.slas if not v.passed]

    @property
    def blocked_by(self) -> list[SlaVerdict]:
        """Blocking SLAs the run breached: its outputs were withheld, not published."""
        return [v for v in self.slas if v.blocks]


def summarize(con: duckdb.DuckDBPyConnection, job: str, run_id: str) -> RunSummary:
    """Read a run's ledger, calls and SLA verdicts into a summary."""
    row = first(
        con,
        "SELECT endpoint, json_extract(summary, '$.scope'), partition_key FROM governance.run "
        "WHERE run_id = ?",
        [run_id],
    )
    summary = RunSummary(job, run_id, row[0] if row else "unknown", row[2] if row else None)
    if row and row[1]:
        summary.scope = {k: int(v) for k, v in json.loads(row[1]).items()}
    summary.by_disposition = dispositions.counts(
        con.execute(
            f"SELECT disposition, count(*) FROM {job}.row_ledger WHERE run_id = ? "
            "GROUP BY 1 ORDER BY 2 DESC",
            [run_id],
        ).fetchall()
    )
    summary.rows_in = sum(summary.by_disposition.values())
    summary.reasons = [
        (Disposition(d), r, n)
        for d, r, n in con.execute(
            f"SELECT disposition, split_part(reason, ':', 1) AS rule, count(*) "
            f"FROM {job}.row_ledger WHERE run_id = ? AND disposition <> ? "
            "GROUP BY 1, 2 ORDER BY 3 DESC, 2",
            [run_id, Disposition.ENRICHED],
        ).fetchall()
    ]
    tin, tout, cost, made, attempts, stopped, hits, over = one(
        con,
        "SELECT sum(tokens_in), sum(tokens_out), sum(cost_usd), "
        "count(*) FILTER (WHERE attempt > 0), sum(attempt) FILTER (WHERE attempt > 0), "
        "sum(rows) FILTER (WHERE status = $failed AND attempt = 0), "
        "sum(rows) FILTER (WHERE status = $cached), "
        "sum(rows) FILTER (WHERE status = $over_budget) FROM ("
        "  SELECT request_hash, status, max(attempt) AS attempt, count(*) AS rows, "
        "  sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out, sum(cost_usd) AS cost_usd "
        f" FROM {job}.llm_call WHERE run_id = $run GROUP BY request_hash, status)",
        {
            "run": run_id,
            "failed": CallStatus.FAILED.value,
            "cached": CallStatus.CACHED.value,
            "over_budget": CallStatus.OVER_BUDGET.value,
        },
    )
    summary.tokens_in, summary.tokens_out = int(tin or 0), int(tout or 0)
    summary.calls_made, summary.attempts = int(made or 0), int(attempts or 0)
    summary.stopped_by_breaker, summary.over_budget = int(stopped or 0), int(over or 0)
    summary.cache_hits = int(hits or 0)
    summary.cost_usd = float(cost or 0.0)
    summary.served_by = [
        (str(m), fp, int(n))
        for m, fp, n in con.execute(
            f"SELECT served_model, system_fingerprint, count(*) FROM {job}.llm_call "
            "WHERE run_id = ? AND served_model IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1",
            [run_id],
        ).fetchall()
    ]
    summary.slas = sla_module.verdicts_of(con, job, run_id)
    measured = metrics.measure(con, job, [run_id])
    summary.metrics = {m.value: v.value for m, v in measured.items()}
    return summary
