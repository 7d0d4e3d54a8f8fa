"""Run metrics and SLA verdicts: the run held against the promises of its spec."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pandas as pd

from governance_pipeline.spec import Metric, ResolvedSpec, Severity, severity_of
from governance_pipeline.stages import current_run, now
from governance_pipeline.store import replace_rows


@dataclass(frozen=True)
class Measurement:
    """A metric's value over a run, and how many rows or calls it rests on."""

    value: float | None
    sample_size: int


@dataclass(frozen=True)
class SlaVerdict:
    """One SLA: promised, measured, held or breached."""

    sla_id: str
    metric: str
    level: str
    severity: Severity
    bound: str
    threshold: float
    measured: float | None
    sample_size: int
    passed: bool
    description: str

    def summary(self) -> str:
        """The verdict in one line, as a vendor's SLA report would put it."""
        sign = ">=" if self.bound == "min" else "<="
        shown = "n/a" if self.measured is None else f"{self.measured:.4g}"
        state = "held" if self.passed else "BREACHED"
        note = " (no sample yet)" if self.measured is None else ""
        return (
            f"{self.sla_id}: {self.metric} {sign} {self.threshold:g}, measured {shown} over "
            f"{self.sample_size}: {state}{note}"
        )


def measure(con: duckdb.DuckDBPyConnection, schema: str, run_id: str) -> dict[Metric, Measurement]:
    """Compute every metric of a run from its ledger and calls."""
    ledger = dict(
        con.execute(
            f"SELECT disposition, count(*) FROM {schema}.row_ledger WHERE run_id = ? GROUP BY 1",
            [run_id],
        ).fetchall()
    )
    rows = sum(ledger.values())
    answered = ledger.get("enriched", 0) + ledger.get("output_quarantined", 0)
    called = answered + ledger.get("call_failed", 0)
    p95, cost, timed = con.execute(
        f"SELECT quantile_cont(latency_ms, 0.95) FILTER (WHERE status IN ('ok', 'cached')), "
        f"sum(cost_usd), count(*) FILTER (WHERE status IN ('ok', 'cached')) "
        f"FROM {schema}.llm_call WHERE run_id = ?",
        [run_id],
    ).fetchone()  # type: ignore[misc]
    return {
        Metric.COMPLIANCE_RATE: Measurement(
            ledger.get("enriched", 0) / answered if answered else None, answered
        ),
        Metric.ERROR_RATE: Measurement(
            ledger.get("call_failed", 0) / called if called else None, called
        ),
        Metric.LATENCY_P95_MS: Measurement(p95, int(timed or 0)),
        Metric.COST_PER_1K_ROWS_USD: Measurement(
            (cost or 0.0) / rows * 1000 if rows else None, rows
        ),
    }


def evaluate(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> list[SlaVerdict]:
    """Hold the current run against every SLA of the spec; write `sla_result`; close the run."""
    schema = spec.job.job
    run_id = current_run(con, schema)
    measured = measure(con, schema, run_id)
    verdicts = []
    for resolved in spec.slas:
        sla = resolved.item
        m = measured[sla.metric]
        bound, threshold = ("min", sla.min) if sla.min is not None else ("max", sla.max)
        assert threshold is not None
        passed = m.value is None or (
            m.value >= threshold if bound == "min" else m.value <= threshold
        )
        verdicts.append(
            SlaVerdict(
                sla.id,
                sla.metric.value,
                sla.level.value,
                severity_of(sla.level),
                bound,
                threshold,
                m.value,
                m.sample_size,
                passed,
                sla.description,
            )
        )
    frame = pd.DataFrame([{**asdict(v), "severity": v.severity.value} for v in verdicts])
    frame["run_id"], frame["spec_hash"], frame["measured_at"] = run_id, spec.spec_hash, now()
    replace_rows(con, f"{schema}.sla_result", frame, run_id=run_id)
    con.execute(
        "UPDATE governance.run SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
        [
            now(),
            "breached" if any(not v.passed for v in verdicts) else "held",
            json.dumps({"slas": [v.summary() for v in verdicts]}),
            run_id,
        ],
    )
    return verdicts


def verdicts_of(con: duckdb.DuckDBPyConnection, schema: str, run_id: str) -> list[SlaVerdict]:
    """The SLA verdicts a run recorded."""
    rows = con.execute(
        f"SELECT sla_id, metric, level, severity, bound, threshold, measured, sample_size, "
        f"passed, description FROM {schema}.sla_result WHERE run_id = ? ORDER BY sla_id",
        [run_id],
    ).fetchall()
    return [SlaVerdict(r[0], r[1], r[2], Severity(r[3]), *r[4:]) for r in rows]


def as_metadata(v: SlaVerdict) -> dict[str, Any]:
    """The figures of a verdict for Dagster metadata and alerts."""
    return {
        "metric": v.metric,
        "bound": v.bound,
        "threshold": v.threshold,
        "measured": v.measured,
        "sample_size": v.sample_size,
        "level": v.level,
    }
