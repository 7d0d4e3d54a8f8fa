"""Tests for SLA verdicts (``governance_pipeline.sla``) and their metrics (``metrics``).

An SLA report is read by people deciding whether to trust a table, so each state must mean
what it says: a rate held to its Wilson bound breaches on a doubtful sample that the point
estimate would pass; `min_sample` keeps three bad rows from paging anyone; no data is not a
breach; the error budget is spent in the direction of the promise; and a rolling window
really spans the runs it names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governance_pipeline import store
from governance_pipeline.sla.metrics import Measurement, measure, wilson, window_runs
from governance_pipeline.sla.verdicts import SlaState, judge
from governance_pipeline.spec import Metric, RollingRuns, Sla


def sla(**data: Any) -> Sla:
    return Sla.model_validate({"id": "s", "level": "developer", **data})


RATE = sla(metric="compliance_rate", min=0.9)
WILSON = sla(metric="compliance_rate", min=0.5, confidence=0.95, min_sample=10)
ERRORS = sla(metric="error_rate", max=0.05, confidence=0.95)
LATENCY = sla(metric="latency_p95_ms", max=1000)

# id, sla, measurement, state, budget left (None: n/a)
CASES = [
    ("rate held", RATE, Measurement(0.95, 100), SlaState.HELD, 0.5),
    ("rate breached", RATE, Measurement(0.6, 100), SlaState.BREACHED, -3.0),
    ("rate exactly at the bound", RATE, Measurement(0.9, 100), SlaState.HELD, 0.0),
    ("no data is not a breach", RATE, Measurement(None, 0), SlaState.NO_DATA, None),
    ("wilson: point passes, bound breaches", WILSON, Measurement(0.6, 36), SlaState.BREACHED, None),
    ("wilson: a big sample holds", WILSON, Measurement(0.6, 1000), SlaState.HELD, None),
    ("min_sample: not declared", WILSON, Measurement(0.2, 5), SlaState.INSUFFICIENT_SAMPLE, None),
    ("error rate upper bound", ERRORS, Measurement(0.03, 40), SlaState.BREACHED, None),
    ("latency headroom", LATENCY, Measurement(250.0, 10), SlaState.HELD, 0.75),
    ("latency over", LATENCY, Measurement(1500.0, 10), SlaState.BREACHED, -0.5),
]


@pytest.mark.parametrize(
    ("s", "m", "state", "budget"), [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_judge(s: Sla, m: Measurement, state: SlaState, budget: float | None) -> None:
    verdict = judge(s, m, "run")
    assert verdict.state is state
    assert verdict.passed is (state is not SlaState.BREACHED)
    if budget is not None:
        assert verdict.budget_left == pytest.approx(budget)


def test_the_budget_follows_the_figure_held_to_the_promise() -> None:
    verdict = judge(WILSON, Measurement(0.6, 36), "run")
    low, _ = wilson(0.6 * 36, 36, 0.95)
    assert verdict.held_to == pytest.approx(low)
    assert verdict.budget_left == pytest.approx(1 - (1 - low) / 0.5) and verdict.budget_left < 0


def test_wilson_interval() -> None:
    low, high = wilson(36, 36, 0.95)
    assert low == pytest.approx(0.9036, abs=1e-4) and high == 1.0
    low, high = wilson(50, 100, 0.95)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert wilson(0, 0, 0.95) == (0.0, 1.0)


def test_the_summary_line_reads_like_an_sla_report() -> None:
    line = judge(WILSON, Measurement(0.6, 36), "last 7 runs").summary()
    assert line.startswith("s: compliance_rate >= 0.5 over last 7 runs, measured 0.6 (Wilson")
    assert "over 36: breached" in line and "error budget left -" in line
    blocking = judge(
        sla(metric="compliance_rate", min=0.9, blocking=True), Measurement(0.5, 50), "run"
    )
    assert "breached, publication blocked" in blocking.summary()
    small = judge(WILSON, Measurement(0.1, 4), "run").summary()
    assert "insufficient_sample (sample under 10)" in small


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"metric": "latency_p95_ms", "max": 1, "confidence": 0.95}, "confidence applies to rates"),
        ({"metric": "error_rate", "max": 1, "level": "guideline", "blocking": True}, "cannot be"),
        ({"metric": "error_rate", "max": 1, "window": {"runs": 1}}, "greater than or equal to 2"),
        ({"metric": "error_rate", "max": 1, "window": "week"}, "window"),
    ],
)
def test_malformed_slas(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sla(**data)


def test_windows_span_the_runs_they_name(tmp_path: Path) -> None:
    with store.connect(tmp_path / "w.duckdb") as con:
        con.execute(
            "CREATE SCHEMA j; "
            "CREATE TABLE j.row_ledger (run_id VARCHAR, k INT, disposition VARCHAR);"
            "CREATE TABLE j.llm_call (run_id VARCHAR, latency_ms DOUBLE, status VARCHAR, "
            "cost_usd DOUBLE, tokens_in INT, tokens_out INT);"
            "CREATE TABLE j.enriched (k INT, enriched_at TIMESTAMP)"
        )
        start = datetime(2026, 1, 10, 6)
        # five runs, one a day; each run i has i+1 compliant rows and one quarantined
        for i in range(5):
            run = f"r{i}"
            con.execute(
                "INSERT INTO governance.run (run_id, job, started_at) VALUES (?, 'j', ?)",
                [run, start + timedelta(days=i)],
            )
            for n in range(i + 1):
                con.execute("INSERT INTO j.row_ledger VALUES (?, ?, 'enriched')", [run, n])
            con.execute("INSERT INTO j.row_ledger VALUES (?, 99, 'output_quarantined')", [run])
            con.execute("INSERT INTO j.llm_call VALUES (?, 100, 'ok', 0.5, 10, 5)", [run])
        # a run without a ledger (it failed early) does not count
        con.execute(
            "INSERT INTO governance.run (run_id, job, started_at) VALUES ('dead', 'j', ?)",
            [start + timedelta(days=3, hours=1)],
        )
        assert window_runs(con, "j", "r4", "run") == ["r4"]
        assert window_runs(con, "j", "r4", RollingRuns(runs=3)) == ["r4", "r3", "r2"]
        assert window_runs(con, "j", "r4", "day") == ["r4"]
        assert window_runs(con, "j", "r2", RollingRuns(runs=10)) == ["r2", "r1", "r0"]
        m = measure(con, "j", ["r4", "r3", "r2"], at=start + timedelta(days=5))
        assert m[Metric.COMPLIANCE_RATE] == Measurement((5 + 4 + 3) / (6 + 5 + 4), 15)
        assert m[Metric.COST_PER_RUN_USD] == Measurement(0.5, 3)
        assert m[Metric.TOKENS_PER_RUN] == Measurement(15.0, 3)
        assert m[Metric.FRESHNESS_HOURS] == Measurement(None, 0)  # nothing published yet
        con.execute("INSERT INTO j.enriched VALUES (1, ?)", [start + timedelta(days=4)])
        later = measure(con, "j", ["r4"], at=start + timedelta(days=5))
        assert later[Metric.FRESHNESS_HOURS] == Measurement(24.0, 1)
