"""SLA verdicts: the run held against the promises of its spec, as a vendor's SLA report reads.

Each SLA names a metric, a bound (`min` or `max`) and a window. Its verdict says what was
promised, what was measured (and, for a rate held at a `confidence`, the Wilson bound that was
compared), how many rows, calls or runs it rests on, and the state, in the one word that the
terminal report, the Dagster UI (check descriptions, the `state` metadata, the `sla_result`
report), alerts and `sla_result.state` all use (`SlaState`, its `meaning` the legend):

    held                 the promise was kept
    breached             it was not
    no_data              nothing to measure yet (no calls, no published rows): not a breach
    insufficient_sample  it looks breached, but on fewer than `min_sample`: not declared

Reports list verdicts worst first (`in_report_order`): blocking breaches, other ERROR
breaches, WARN breaches (warnings), insufficient samples, no data, then the SLAs held.

and the error budget left: the share of the allowed shortfall not yet used (100% untouched,
0% used up, negative overspent), of the figure held to the promise (the Wilson bound, if any).
For a `max` bound it is the headroom `1 - measured/max`; for a rate with a `min` bound,
`1 - (1 - measured) / (1 - min)`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import duckdb
import pandas as pd

from governance_pipeline.sla import metrics
from governance_pipeline.sla.metrics import Measurement
from governance_pipeline.spec import ResolvedSpec, Severity, Sla, severity_of
from governance_pipeline.store import replace_rows, runs
from governance_pipeline.store.runs import now


class SlaState(str, Enum):
    """The state of one SLA after a run; its value is the word every report prints."""

    HELD = "held"
    BREACHED = "breached"
    NO_DATA = "no_data"
    INSUFFICIENT_SAMPLE = "insufficient_sample"

    @property
    def meaning(self) -> str:
        """The word explained, for a report's legend."""
        return _MEANINGS[self]

    @property
    def measured(self) -> bool:
        """False for a state that passes without a sample able to show a breach: an incident
        stays open through it (`alerting.incidents.measured`)."""
        return self not in (SlaState.NO_DATA, SlaState.INSUFFICIENT_SAMPLE)


_MEANINGS = {
    SlaState.HELD: "the promise was kept",
    SlaState.BREACHED: "the promise was not kept",
    SlaState.NO_DATA: "nothing to measure yet (no calls, no published rows); not a breach",
    SlaState.INSUFFICIENT_SAMPLE: "it looks breached, but on fewer than the SLA's minimum "
    "sample; not declared",
}


@dataclass(frozen=True)
class SlaVerdict:
    """One SLA: promised, measured, held or breached, and the error budget left."""

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
    window: str = "run"
    state: SlaState = SlaState.HELD
    held_to: float | None = None
    confidence: float | None = None
    min_sample: int = 0
    budget_left: float | None = None
    blocking: bool = False

    @property
    def blocks(self) -> bool:
        """True when this breach stops the run's publication."""
        return self.blocking and self.state is SlaState.BREACHED

    @property
    def promise(self) -> str:
        """The bound promised, e.g. `compliance_rate >= 0.9`."""
        sign = ">=" if self.bound == "min" else "<="
        return f"{self.metric} {sign} {figure(self.threshold)}"

    @property
    def promised(self) -> str:
        """The promise over its window, e.g. `compliance_rate >= 0.9 over run`."""
        return f"{self.promise} over {self.window}"

    @property
    def shown(self) -> str:
        """The measured figure as reports print it, with the bound held to the promise."""
        shown = "n/a" if self.measured is None else figure(self.measured)
        if self.confidence is not None and self.held_to is not None:
            shown += f" (bound {self.held_to:.4g})"
        return shown

    def summary(self) -> str:
        """The verdict in one line, as a vendor's SLA report would put it."""
        shown = "n/a" if self.measured is None else figure(self.measured)
        if self.confidence is not None and self.held_to is not None:
            side = "lower" if self.bound == "min" else "upper"
            shown += f" (Wilson {side} bound {self.held_to:.4g} at {self.confidence:.0%})"
        budget = "" if self.budget_left is None else f", error budget left {self.budget_left:.0%}"
        return (
            f"{self.sla_id}: {self.promised}, measured {shown} over {self.sample_size}: "
            f"{self.verdict}{budget}"
        )

    @property
    def verdict(self) -> str:
        """The state's word, with what it entails: `breached, publication blocked`,
        `insufficient_sample (sample under 20)`."""
        if self.blocks:
            return f"{self.state.value}, publication blocked"
        if self.state is SlaState.INSUFFICIENT_SAMPLE:
            return f"{self.state.value} (sample under {self.min_sample})"
        return str(self.state.value)

    @property
    def rank(self) -> int:
        """Its place in a report, worst first: blocking breaches, ERROR breaches, WARN
        breaches, insufficient samples, no data, held."""
        if self.state is SlaState.BREACHED:
            return 0 if self.blocks else (1 if self.severity is Severity.ERROR else 2)
        return {SlaState.INSUFFICIENT_SAMPLE: 3, SlaState.NO_DATA: 4}.get(self.state, 5)


def figure(x: float) -> str:
    """A measured figure as people read it: `250,000`, `1,384`, `0.4512`, never `2.5e+05`."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


_FIELDS = list(SlaVerdict.__dataclass_fields__)


def judge(sla: Sla, m: Measurement, window: str) -> SlaVerdict:
    """Hold one measurement to one SLA."""
    bound, threshold = ("min", sla.min) if sla.min is not None else ("max", sla.max)
    assert threshold is not None
    held_to = m.value
    if m.value is not None and sla.confidence is not None:
        low, high = metrics.wilson(m.value * m.sample_size, m.sample_size, sla.confidence)
        held_to = low if bound == "min" else high
    if held_to is None:
        state = SlaState.NO_DATA
    elif (held_to >= threshold) if bound == "min" else (held_to <= threshold):
        state = SlaState.HELD
    elif m.sample_size < sla.min_sample:
        state = SlaState.INSUFFICIENT_SAMPLE
    else:
        state = SlaState.BREACHED
    return SlaVerdict(
        sla.id,
        sla.metric.value,
        sla.level.value,
        severity_of(sla.level),
        bound,
        threshold,
        m.value,
        m.sample_size,
        state is not SlaState.BREACHED,
        sla.description,
        window,
        state,
        held_to,
        sla.confidence,
        sla.min_sample,
        budget_left(sla, bound, threshold, held_to),
        sla.blocking,
    )


def budget_left(sla: Sla, bound: str, threshold: float, measured: float | None) -> float | None:
    """Share of the error budget not yet used; None when it has no meaning."""
    if measured is None:
        return None
    if bound == "max":
        return 1 - measured / threshold if threshold > 0 else (1.0 if measured <= 0 else None)
    if sla.metric.is_rate:
        allowed = 1 - threshold
        return 1 - (1 - measured) / allowed if allowed > 0 else (1.0 if measured >= 1 else None)
    return (measured - threshold) / threshold if threshold > 0 else None


def evaluate(
    con: duckdb.DuckDBPyConnection,
    spec: ResolvedSpec,
    run_id: str,
    scheduled_at: datetime | None = None,
) -> list[SlaVerdict]:
    """Hold the run against every SLA of the spec; write `sla_result` and the run's summary.

    Args:
        run_id: The run judged.
        scheduled_at: The schedule tick that launched the run, if a schedule did.
    """
    schema = spec.job.job
    tick = {"scheduled_at": scheduled_at.isoformat() if scheduled_at else None}
    runs.record_summary(con, run_id, tick)
    measured: dict[str, dict[Any, Measurement]] = {}
    verdicts = []
    at = now()
    for resolved in spec.slas:
        sla = resolved.item
        label = metrics.window_label(sla.window)
        if label not in measured:
            in_window = metrics.window_runs(con, schema, run_id, sla.window)
            measured[label] = metrics.measure(con, schema, in_window, at)
        verdicts.append(judge(sla, measured[label][sla.metric], label))
    frame = pd.DataFrame(
        [{**asdict(v), "severity": v.severity.value, "state": v.state.value} for v in verdicts],
        columns=_FIELDS,
    )
    frame["run_id"], frame["spec_hash"], frame["measured_at"] = run_id, spec.spec_hash, at
    replace_rows(con, f"{schema}.sla_result", frame, run_id=run_id)
    runs.record_summary(
        con,
        run_id,
        tick
        | {
            "blocked_by": [v.sla_id for v in verdicts if v.blocks],
            "breached": [v.sla_id for v in verdicts if not v.passed],
            "slas": [v.summary() for v in verdicts],
        },
    )
    return verdicts


def verdicts_of(con: duckdb.DuckDBPyConnection, schema: str, run_id: str) -> list[SlaVerdict]:
    """The SLA verdicts a run recorded (runs recorded before windows existed read as `run`)."""
    names = _FIELDS
    present = set(con.execute(f"SELECT * FROM {schema}.sla_result LIMIT 0").df().columns)
    select = ", ".join(f'"{n}"' if n in present else f"NULL AS {n}" for n in names)
    rows = con.execute(
        f"SELECT {select} FROM {schema}.sla_result WHERE run_id = ? ORDER BY sla_id", [run_id]
    ).fetchall()
    verdicts = []
    for row in rows:
        r = dict(zip(names, row, strict=True))
        r["severity"] = Severity(r["severity"])
        r["state"] = SlaState(r["state"] or ("held" if r["passed"] else "breached"))
        r["window"] = r["window"] or "run"
        r["min_sample"] = r["min_sample"] or 0
        r["blocking"] = bool(r["blocking"])
        verdicts.append(SlaVerdict(**r))
    return verdicts


def in_report_order(verdicts: list[SlaVerdict]) -> list[SlaVerdict]:
    """Verdicts worst first (`SlaVerdict.rank`), in the spec's order within a rank."""
    return sorted(verdicts, key=lambda v: v.rank)


def as_metadata(v: SlaVerdict) -> dict[str, Any]:
    """The figures of a verdict for Dagster metadata and alerts."""
    return {
        "metric": v.metric,
        "promised": v.promised,
        "bound": v.bound,
        "threshold": v.threshold,
        "window": v.window,
        "measured": v.measured,
        "held_to": v.held_to,
        "sample_size": v.sample_size,
        "min_sample": v.min_sample,
        "state": v.state.value,
        "error_budget_left": v.budget_left,
        "level": v.level,
        "blocking": v.blocking,
    }


def as_markdown(verdicts: list[SlaVerdict]) -> str:
    """The SLA report as a Markdown table, for Dagster metadata: worst first, in the words of
    `SlaState`."""
    lines = [
        "| SLA | level | promised | measured | sample | verdict | error budget left |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in in_report_order(verdicts):
        budget = "n/a" if v.budget_left is None else f"{v.budget_left:.0%}"
        verdict = v.verdict + (" (blocking)" if v.blocking and not v.blocks else "")
        lines.append(
            f"| {v.sla_id} | {v.level} ({v.severity.value}) | {v.promised} | {v.shown} | "
            f"{v.sample_size} | {verdict} | {budget} |"
        )
    return "\n".join(lines)
