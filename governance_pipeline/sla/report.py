"""Rendering of a run summary for the terminal, as an SLA report reads."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.outputs.evals import ExampleCheck, ModelEval
from governance_pipeline.sla.summary import RunSummary
from governance_pipeline.sla.verdicts import SlaState, SlaVerdict, figure, in_report_order
from governance_pipeline.spec import Severity


def render(summary: RunSummary, console: Console, db_path: Path) -> None:
    """Print the run summary: rows, dispositions and reasons, usage, SLAs, where to look next."""
    s = summary
    partition = f" of partition {s.partition_key}" if s.partition_key else ""
    console.print(f"[bold]{s.job}[/bold] run {s.run_id}{partition}", highlight=False)
    console.print(f"endpoint: {s.endpoint}", highlight=False)
    if s.scope:
        console.print(f"scope: {s.scope_summary}", highlight=False)
    if s.served_by:
        served = ", ".join(
            f"{m}" + (f" ({fp})" if fp else "") + f" x{n}" for m, fp, n in s.served_by
        )
        console.print(f"answered by: {served}", highlight=False, markup=False)
    enriched = s.by_disposition.get(Disposition.ENRICHED, 0)
    console.print(
        f"rows in: {s.rows_in}   enriched: {enriched}   "
        + "   ".join(f"{d}: {n}" for d, n in s.by_disposition.items() if d != Disposition.ENRICHED)
    )
    if s.reasons:
        reasons = Table(title="Rows not enriched, by reason", title_justify="left")
        for col in ("disposition", "rule or error", "rows"):
            reasons.add_column(col, justify="right" if col == "rows" else "left")
        for disposition, rule, n in s.reasons:
            reasons.add_row(disposition, rule, str(n))
        console.print(reasons)
    m = s.metrics

    def shown(value: float | None, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    console.print(
        f"compliance rate: {shown(m.get('compliance_rate'), '.1%')}   "
        f"error rate: {shown(m.get('error_rate'), '.1%')}   latency p50/p95/p99: "
        + "/".join(shown(m.get(f"latency_{q}_ms"), ",.0f") for q in ("p50", "p95", "p99"))
        + f" ms   cost per 1k rows: ${shown(m.get('cost_per_1k_rows_usd'), '.4f')}"
    )
    calls = f"calls: {s.calls_made} sent ({s.attempts} attempts)"
    if s.stopped_by_breaker:
        calls += f", {s.stopped_by_breaker} rows stopped by the circuit breaker"
    if s.over_budget:
        calls += f", {s.over_budget} rows over budget"
    console.print(
        f"{calls}, {s.cache_hits} rows served from cache   tokens: "
        f"{s.tokens_in:,} in, {s.tokens_out:,} out   cost: ${s.cost_usd:.4f}",
        highlight=False,
    )
    console.print(sla_table(s.slas))
    for line in legend(s.slas):
        console.print(line, style="dim", highlight=False)
    if s.blocked_by:
        console.print(
            "[red]publication blocked[/red] by "
            + ", ".join(v.sla_id for v in s.blocked_by)
            + f": {s.by_disposition.get(Disposition.WITHHELD, 0)} compliant row(s) withheld; "
            "the published table keeps its previous rows"
        )
    console.print(
        f"Look next: the tables in {db_path} (schema {s.job}: row_ledger, output_quarantine, "
        "llm_call), or `govern ui` for the asset graph, checks and run log."
    )


_STYLES = {
    SlaState.HELD: "green",
    SlaState.NO_DATA: "dim",
    SlaState.INSUFFICIENT_SAMPLE: "yellow",
}


def sla_table(verdicts: list[SlaVerdict]) -> Table:
    """The SLA report, worst first: promised, measured, sample, verdict, error budget left.

    It fits 80 columns: each SLA takes two lines (its id over its promise; the measured figure
    over the bound held to the promise and the window, when they apply; its verdict over its
    severity), no column folds a word, and the verdicts are `SlaState`'s words, the ones the
    Dagster UI shows. `legend` explains the words the table uses.
    """
    table = Table(
        title="SLAs, breaches first",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    widest_id = max((len(v.sla_id) for v in verdicts), default=3)
    table.add_column("sla, promised", min_width=widest_id, ratio=1)
    table.add_column("measured", no_wrap=True)
    table.add_column("sample", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("budget", justify="right", no_wrap=True)
    for v in in_report_order(verdicts):
        measured = Text("n/a" if v.measured is None else figure(v.measured))
        if v.confidence is not None and v.held_to is not None:
            measured.append(f"\nbound {v.held_to:.3g}", "dim")
        if v.window != "run":
            measured.append(f"\n{v.window}", "dim")
        if v.state is SlaState.BREACHED:
            style = "bold red" if v.severity is Severity.ERROR else "yellow"
        else:
            style = _STYLES[v.state]
        table.add_row(
            Text.assemble((v.sla_id, "bold"), "\n", (v.promise, "dim")),
            measured,
            str(v.sample_size),
            Text.assemble(
                (v.state.value, style),
                "\n",
                (v.severity.value + (", blocking" if v.blocking else ""), "dim"),
            ),
            "n/a" if v.budget_left is None else f"{v.budget_left:.0%}",
        )
    return table


def legend(verdicts: list[SlaVerdict]) -> list[str]:
    """One line per verdict word the table uses other than `held`, saying what it means."""
    states = dict.fromkeys(v.state for v in in_report_order(verdicts))
    return [f"{s.value}: {s.meaning}" for s in states if s is not SlaState.HELD]


def render_example_checks(checks: list[ExampleCheck], console: Console) -> None:
    """The worked examples held to the contract: each good accepted, each bad rejected."""
    table = Table(title="Worked examples against the contract", title_justify="left")
    for col in ("example", "answer", "expected", "contract found", "verdict"):
        table.add_column(col, overflow="fold")
    for c in checks:
        found = ", ".join(c.found) or "no error"
        verdict = "[green]ok[/green]" if c.passed else "[red]SPEC DEFECT[/red]"
        answer = c.kind + (f" ({c.declared_reason})" if c.declared_reason else "")
        table.add_row(str(c.example), answer, c.expected, found, verdict)
    console.print(table)


def render_model_evals(evaluations: list[ModelEval], console: Console) -> None:
    """Compliance per rule of each model, side by side."""
    table = Table(title="Model answers to the example inputs", title_justify="left")
    table.add_column("rule")
    for e in evaluations:
        table.add_column(e.model, justify="right")
    table.add_row("answered", *(f"{e.answered}/{e.examples}" for e in evaluations))
    table.add_row("compliant", *(f"{e.compliant}/{e.examples}" for e in evaluations))
    rules = dict.fromkeys(r for e in evaluations for r in e.by_rule)
    for rule in rules:
        table.add_row(
            rule, *(f"{e.by_rule[rule]:.0%}" if rule in e.by_rule else "n/a" for e in evaluations)
        )
    for name in dict.fromkeys(n for e in evaluations for n in e.agreement):
        table.add_row(
            f"{name} agrees with the good answer",
            *(f"{e.agreement[name]:.0%}" if name in e.agreement else "n/a" for e in evaluations),
        )
    console.print(table)
    for e in evaluations:
        for failure in e.failures:
            console.print(f"[dim]{e.model}[/dim] {failure}", highlight=False)
