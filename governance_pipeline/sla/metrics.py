"""Run metrics over a window of runs, computed in DuckDB from the ledger and the call log.

A window is `run` (the current run), `day` (the job's runs that started in the 24 hours up to
the current run's start) or the last N runs; a run counts once its ledger is written.

    compliance_rate     outputs that met the contract / outputs judged (published or withheld)
    error_rate          rows whose call failed (after its retries, or stopped by the circuit
                        breaker) / rows sent to the endpoint in the window; cached rows made
                        no call and do not count, so a cache-only run has no sample
    latency_p50/95/99   over calls the endpoint answered in the window, in ms (a cached answer
                        keeps its first call's latency, which is not this run's)
    cost_per_1k_rows    cost of the window / its rows x 1000; cost_per_run: cost / runs
    tokens_per_run      tokens in and out / runs: the token budget
    freshness_hours     age of the published table, now: since its newest row, or since the
                        last run that published every row of its scope (one with nothing due
                        included: the table was current); measured before this run publishes,
                        the staleness consumers saw, at its worst
    schedule_delay      the latest start of a scheduled run after its tick, in minutes
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb

from governance_pipeline.llm.calls import CallStatus
from governance_pipeline.outputs import dispositions
from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.spec import Metric, RollingRuns
from governance_pipeline.store import one
from governance_pipeline.store.runs import RunStatus, now

Window = Literal["run", "day"] | RollingRuns


@dataclass(frozen=True)
class Measurement:
    """A metric's value over a window, and the count of rows, calls or runs it rests on."""

    value: float | None
    sample_size: int


def window_label(window: Window) -> str:
    """`run`, `day` or `last N runs`, for reports and metadata."""
    return window if isinstance(window, str) else f"last {window.runs} runs"


def window_runs(con: duckdb.DuckDBPyConnection, job: str, run_id: str, window: Window) -> list[str]:
    """The runs a window covers, newest first; the current run is always one of them."""
    if window == "run":
        return [run_id]
    started = "(SELECT started_at FROM governance.run WHERE run_id = $run)"
    since = f"started_at > {started} - INTERVAL 1 DAY" if window == "day" else "true"
    limit = "" if isinstance(window, str) else f"LIMIT {int(window.runs)}"
    rows = con.execute(
        f"SELECT run_id FROM governance.run WHERE job = $job AND started_at <= {started} "
        f"AND {since} AND (run_id = $run OR run_id IN "
        f"(SELECT DISTINCT run_id FROM {job}.row_ledger)) "
        f"ORDER BY started_at DESC, run_id = $run DESC {limit}",
        {"job": job, "run": run_id},
    ).fetchall()
    return [r[0] for r in rows] or [run_id]


def measure(
    con: duckdb.DuckDBPyConnection, job: str, runs: list[str], at: datetime | None = None
) -> dict[Metric, Measurement]:
    """Every metric over the given runs of a job."""
    params = {"runs": runs}
    ledger = dispositions.counts(
        con.execute(
            f"SELECT disposition, count(*) FROM {job}.row_ledger "
            "WHERE list_contains($runs, run_id) GROUP BY 1",
            params,
        ).fetchall()
    )
    rows = sum(ledger.values())
    compliant = ledger.get(Disposition.ENRICHED, 0) + ledger.get(Disposition.WITHHELD, 0)
    answered = compliant + ledger.get(Disposition.OUTPUT_QUARANTINED, 0)
    quantiles, timed, cost, tokens, failed, called = one(
        con,
        "SELECT quantile_cont(latency_ms, [0.5, 0.95, 0.99]) FILTER (WHERE status = $ok), "
        "count(*) FILTER (WHERE status = $ok), "
        "sum(cost_usd), sum(coalesce(tokens_in, 0) + coalesce(tokens_out, 0)), "
        "count(*) FILTER (WHERE status = $failed), "
        "count(*) FILTER (WHERE status IN ($ok, $failed)) "
        f"FROM {job}.llm_call WHERE list_contains($runs, run_id)",
        params | {"ok": CallStatus.OK.value, "failed": CallStatus.FAILED.value},
    )
    p50, p95, p99 = quantiles or (None, None, None)
    n_runs = len(runs)
    fresh_at, published = one(  # a succeeded run with nothing due leaves the table fresh
        con,
        f"SELECT greatest(max(enriched_at), (SELECT max(r.finished_at) FROM governance.run r "
        f"WHERE r.job = $job AND r.status = $succeeded AND NOT EXISTS (SELECT 1 FROM "
        f"{job}.row_ledger l WHERE l.run_id = r.run_id "
        "AND NOT list_contains($settled, l.disposition)))), "
        f"count(*) FROM {job}.enriched",
        {
            "job": job,
            "succeeded": RunStatus.SUCCEEDED.value,
            "settled": [d.value for d in dispositions.SETTLED],
        },
    )
    at = at or now()
    freshness = (at - fresh_at).total_seconds() / 3600 if fresh_at is not None else None
    delays = [
        d
        for (d,) in con.execute(
            "SELECT epoch(started_at) / 60 - epoch(TRY_CAST(json_extract_string(summary, "
            "'$.scheduled_at') AS TIMESTAMP)) / 60 FROM governance.run "
            "WHERE list_contains($runs, run_id)",
            params,
        ).fetchall()
        if d is not None
    ]

    def share(part: int, whole: int) -> Measurement:
        return Measurement(part / whole if whole else None, whole)

    return {
        Metric.COMPLIANCE_RATE: share(compliant, answered),
        Metric.ERROR_RATE: share(int(failed or 0), int(called or 0)),
        Metric.LATENCY_P50_MS: Measurement(p50, int(timed or 0)),
        Metric.LATENCY_P95_MS: Measurement(p95, int(timed or 0)),
        Metric.LATENCY_P99_MS: Measurement(p99, int(timed or 0)),
        Metric.COST_PER_1K_ROWS_USD: Measurement(
            (cost or 0.0) / rows * 1000 if rows else None, rows
        ),
        Metric.COST_PER_RUN_USD: Measurement((cost or 0.0) / n_runs, n_runs),
        Metric.TOKENS_PER_RUN: Measurement(float(tokens or 0) / n_runs, n_runs),
        Metric.FRESHNESS_HOURS: Measurement(freshness, int(published or 0)),
        Metric.SCHEDULE_DELAY_MINUTES: Measurement(max(delays) if delays else None, len(delays)),
    }


def wilson(successes: float, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson score interval of a proportion: (lower, upper), two-sided at `confidence`."""
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def _z(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level (0.95 -> 1.96)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)
