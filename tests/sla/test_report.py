"""The run report in the terminal (``governance_pipeline.sla.report``).

People read it in an 80-column terminal after a run, often to decide whether to trust a table:
so it fits 80 columns without splitting an SLA's id, puts what went wrong on top (a breach that
blocked publication first, warnings after breaches, the SLAs held last), and calls each verdict
by the same word the Dagster UI and the alerts use, so "held" in one place is never `no_data`
in another.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from governance_pipeline import spec
from governance_pipeline.dagster.common import meta
from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.sla.metrics import Measurement, window_label
from governance_pipeline.sla.report import render, sla_table
from governance_pipeline.sla.summary import RunSummary
from governance_pipeline.sla.verdicts import SlaState, SlaVerdict, as_markdown, as_metadata, judge
from tests.conftest import SPEC_DIR

SPEC = spec.load(SPEC_DIR / "support_triage.yaml")
SLAS = {r.item.id: r.item for r in SPEC.slas}

# sla id: measurement, chosen so that every state and rank occurs once or more
MEASURED = {
    "error-rate": Measurement(0.01, 40),  # held
    "compliance-rate": Measurement(0.3, 5),  # insufficient_sample (min_sample 10)
    "compliance-rate-week": Measurement(0.8, 80),  # held
    "latency-p95": Measurement(250_000.0, 36),  # WARN breach
    "latency-p99": Measurement(None, 0),  # no_data
    "cost-per-1k-rows": Measurement(0.0, 36),  # held
    "error-rate-day": Measurement(0.2, 40),  # WARN breach
    "triage-compliance": Measurement(0.4, 36),  # blocking ERROR breach
    "triage-latency-p50": Measurement(None, 0),  # no_data
    "triage-cost-per-run": Measurement(0.0, 1),  # held
    "triage-token-budget": Measurement(900_000.0, 1),  # ERROR breach, not blocking
    "triage-freshness": Measurement(2.0, 1),  # held
    "triage-on-schedule": Measurement(None, 0),  # no_data
}


def verdicts() -> list[SlaVerdict]:
    return [judge(s, MEASURED[i], window_label(s.window)) for i, s in SLAS.items()]


def summary() -> RunSummary:
    return RunSummary(
        "support_triage",
        "4f1c2a9e-7b3d-4c8e-9a1f-2d3e4f5a6b7c",
        "http://127.0.0.1:8765/v1 (embedded model SmolLM2-135M-Instruct)",
        rows_in=40,
        scope={"new": 40},
        by_disposition={Disposition.WITHHELD: 14, Disposition.OUTPUT_QUARANTINED: 22},
        reasons=[
            (Disposition.OUTPUT_QUARANTINED, "output.category.enum", 12),
            (Disposition.OUTPUT_QUARANTINED, "summary-about-the-ticket", 10),
        ],
        tokens_in=12_345,
        tokens_out=2_345,
        calls_made=36,
        attempts=40,
        slas=verdicts(),
        metrics={"compliance_rate": 0.4, "latency_p50_ms": 2100.0},
    )


def rendered(width: int = 80) -> list[str]:
    console = Console(width=width, record=True)
    render(summary(), console, Path("/srv/project/data/store.duckdb"))
    return console.export_text().splitlines()


def test_the_report_fits_80_columns_and_never_splits_an_sla_id() -> None:
    lines = rendered()
    assert max(len(line) for line in lines) <= 80
    for sla_id in SLAS:
        # the id stands whole on a line, and no line ends with a piece of it
        assert any(re.search(rf"(^|\s){re.escape(sla_id)}(\s|$)", line) for line in lines)
        for part in (sla_id[:n] for n in range(3, len(sla_id))):
            assert not any(line.rstrip().endswith(part) for line in lines), part
    rows = [line for line in lines if line.split(" ", 1)[0] in SLAS]
    assert len(rows) == len(SLAS)  # one line starts each SLA: no row wrapped into another


def test_breaches_come_first_blocking_on_top_then_warnings_then_held() -> None:
    lines = rendered()
    order = [line.split(" ", 1)[0] for line in lines if line.split(" ", 1)[0] in SLAS]
    assert order == [
        "triage-compliance",  # ERROR, blocking: stopped publication
        "triage-token-budget",  # ERROR
        "latency-p95",  # WARN breaches, in the spec's order
        "error-rate-day",
        "compliance-rate",  # looks breached, not declared
        "latency-p99",  # nothing to measure
        "triage-latency-p50",
        "triage-on-schedule",
        "error-rate",  # held, in the spec's order
        "compliance-rate-week",
        "cost-per-1k-rows",
        "triage-cost-per-run",
        "triage-freshness",
    ]
    markdown = [row.split(" | ")[0].strip("| ") for row in as_markdown(verdicts()).splitlines()]
    assert markdown[2:] == order  # the Dagster UI's report, in the same order


@pytest.mark.parametrize("verdict", verdicts(), ids=lambda v: v.sla_id)
def test_the_terminal_and_the_dagster_ui_use_one_word_per_verdict(verdict: SlaVerdict) -> None:
    word = verdict.state.value
    console = Console(width=80, record=True)
    console.print(sla_table([verdict]))
    row = next(line for line in console.export_text().splitlines() if verdict.sla_id in line)
    assert row.split()[-2] == word  # the verdict column
    assert meta(as_metadata(verdict))["state"] == word  # asset check metadata
    assert f"| {word}" in as_markdown([verdict])  # sla_result's report
    assert f": {word}" in verdict.summary()  # the check's description, alerts
    other_words = {s.value for s in SlaState} - {word}
    assert not any(f"{w}" in row.split() for w in other_words)


def test_the_legend_explains_the_words_it_used() -> None:
    text = "\n".join(rendered())
    for state in (SlaState.BREACHED, SlaState.INSUFFICIENT_SAMPLE, SlaState.NO_DATA):
        assert f"{state.value}: " in text
    assert "held (no data)" not in text and "not declared (n <" not in text
    assert "250,000" in text and "e+05" not in text  # figures as people read them
