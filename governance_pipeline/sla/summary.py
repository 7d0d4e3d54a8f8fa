"""The run summary: what a person reads after a run, built from the tables alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from governance_pipeline import sla as sla_module
from governance_pipeline.sla import metrics
from governance_pipeline.sla.verdicts import SlaVerdict
from governance_pipeline.store import first, one


@dataclass
class RunSummary:
    """A run's figures, as the CLI prints them and Dagster shows them."""

    job: str
    run_id: str
    endpoint: str
    rows_in: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)
    reasons: list[tuple[str, str, int]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    calls_made: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0
    slas: list[SlaVerdict] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)

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
    endpoint = first(con, "SELECT endpoint FROM governance.run WHERE run_id = ?", [run_id])
    summary = RunSummary(job, run_id, endpoint[0] if endpoint else "unknown")
    summary.by_disposition = dict(
        con.execute(
            f"SELECT disposition, count(*) FROM {job}.row_ledger WHERE run_id = ? "
            "GROUP BY 1 ORDER BY 2 DESC",
            [run_id],
        ).fetchall()
    )
    summary.rows_in = sum(summary.by_disposition.values())
    summary.reasons = [
        (d, r, n)
        for d, r, n in con.execute(
            f"SELECT disposition, split_part(reason, ':', 1) AS rule, count(*) "
            f"FROM {job}.row_ledger WHERE run_id = ? AND disposition <> 'enriched' "
            "GROUP BY 1, 2 ORDER BY 3 DESC, 2",
            [run_id],
        ).fetchall()
    ]
    tin, tout, made, hits, cost = one(
        con,
        f"SELECT sum(tokens_in), sum(tokens_out), count(*) FILTER (WHERE status <> 'cached' "
        f"AND status <> 'over_budget'), count(*) FILTER (WHERE status = 'cached'), "
        f"sum(cost_usd) FROM {job}.llm_call WHERE run_id = ?",
        [run_id],
    )
    summary.tokens_in, summary.tokens_out = int(tin or 0), int(tout or 0)
    summary.calls_made, summary.cache_hits = int(made or 0), int(hits or 0)
    summary.cost_usd = float(cost or 0.0)
    summary.slas = sla_module.verdicts_of(con, job, run_id)
    measured = metrics.measure(con, job, [run_id])
    summary.metrics = {m.value: v.value for m, v in measured.items()}
    return summary
