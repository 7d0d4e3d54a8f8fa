"""Dispositions are one vocabulary, `Disposition`, written and read by name
(``governance_pipeline.outputs.dispositions``).

The ledger's SQL, the SLA metrics, the summary, the report and the Dagster checks once each
spelt the dispositions as bare strings: a misspelt one would have counted 0 in silence (a
`call_faild` error rate of 0% is a held SLA). Here each way a row can end is set up in a real
store, the ledger is written, and the disposition it gets is checked by the enum; and a value in
the ledger that is no disposition fails the metrics instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from governance_pipeline import spec, store
from governance_pipeline.demo.tickets import generate_support_tickets
from governance_pipeline.outputs import outcomes
from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.sla import SlaState, SlaVerdict, metrics
from governance_pipeline.spec import Severity
from governance_pipeline.store import runs
from tests.conftest import SPEC_DIR

SPEC = spec.load(SPEC_DIR / "support_triage.yaml")
S, KEY, RUN = SPEC.name, SPEC.job.source.key, "run-1"
# how each of six rows ends: the call it got and what the judge made of its answer
ENDINGS = [
    (Disposition.ENRICHED, "ok", "staged"),
    (Disposition.OUTPUT_QUARANTINED, "cached", "quarantined"),
    (Disposition.OVER_BUDGET, "over_budget", None),
    (Disposition.CALL_FAILED, "failed", None),
    (Disposition.UNPROCESSED, None, None),
    (Disposition.INPUT_QUARANTINED, None, None),
]


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A store where each row of the run ends as ENDINGS says, before the ledger is written."""
    with store.connect(tmp_path / "d.duckdb") as con:
        generate_support_tickets(con, len(ENDINGS), seed=1)
        store.ensure_job_schema(con, SPEC.job, store.column_types(con, SPEC.job.source.table))
        runs.start(con, S, RUN, SPEC.spec_hash, "test")
        keys = [
            k for (k,) in con.sql(f"SELECT {KEY} FROM raw.support_tickets ORDER BY 1").fetchall()
        ]
        for k, (disposition, call, judged) in zip(keys, ENDINGS, strict=True):
            if disposition is Disposition.INPUT_QUARANTINED:
                con.execute(
                    f"INSERT INTO {S}.input_quarantine (run_id, {KEY}, reason) VALUES (?, ?, ?)",
                    [RUN, k, "input.body.required: expected body is present"],
                )
                continue
            con.execute(
                f"INSERT INTO {S}.validated_input BY NAME SELECT ? AS run_id, * "
                f"FROM raw.support_tickets WHERE {KEY} = ?",
                [RUN, k],
            )
            if call is not None:
                con.execute(
                    f"INSERT INTO {S}.llm_call (run_id, {KEY}, request_hash, status, attempt) "
                    "VALUES (?, ?, ?, ?, 1)",
                    [RUN, k, f"h{k}", call],
                )
            if judged == "staged":
                con.execute(
                    f"INSERT INTO {S}.staged_output (run_id, {KEY}, category) VALUES (?, ?, 'bug')",
                    [RUN, k],
                )
            elif judged == "quarantined":
                con.execute(
                    f"INSERT INTO {S}.output_quarantine (run_id, {KEY}, reason) VALUES (?, ?, ?)",
                    [RUN, k, "output.category.enum: category='bugs' is not one of ..."],
                )
        yield con


def _ledger(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        f"SELECT disposition FROM {S}.row_ledger WHERE run_id = ? ORDER BY {KEY}", [RUN]
    ).fetchall()
    return [d for (d,) in rows]


def test_every_way_a_row_ends_has_its_disposition(con: duckdb.DuckDBPyConnection) -> None:
    figures = outcomes.write_ledger(con, SPEC, RUN)
    assert _ledger(con) == [d.value for d, _, _ in ENDINGS]
    assert figures["by_disposition"] == {d: 1 for d, _, _ in ENDINGS}
    assert all(type(d) is Disposition for d in figures["by_disposition"])


def test_a_blocking_breach_withholds_the_enriched_rows(con: duckdb.DuckDBPyConnection) -> None:
    outcomes.write_ledger(con, SPEC, RUN)
    breach = SlaVerdict(
        sla_id="triage-compliance",
        metric="compliance_rate",
        level="developer",
        severity=Severity.ERROR,
        bound="min",
        threshold=0.9,
        measured=0.5,
        sample_size=2,
        passed=False,
        description="",
        state=SlaState.BREACHED,
        blocking=True,
    )
    assert outcomes.gate(con, SPEC, [breach], RUN) == [breach]
    assert _ledger(con)[0] == Disposition.WITHHELD
    assert runs.status_of(con, RUN) is runs.RunStatus.BLOCKED
    measured = metrics.measure(con, S, [RUN])
    assert measured[spec.Metric.COMPLIANCE_RATE].value == 0.5  # withheld counts as compliant
    # one failed call of the two rows sent (ok or failed) to the endpoint; cached rows made none
    assert measured[spec.Metric.ERROR_RATE].value == pytest.approx(1 / 2)


def test_a_value_that_is_no_disposition_fails_loudly(con: duckdb.DuckDBPyConnection) -> None:
    outcomes.write_ledger(con, SPEC, RUN)
    con.execute(
        f"UPDATE {S}.row_ledger SET disposition = 'call_faild' WHERE disposition = ?",
        [Disposition.CALL_FAILED],
    )
    with pytest.raises(ValueError, match="'call_faild' is not a valid Disposition"):
        metrics.measure(con, S, [RUN])
