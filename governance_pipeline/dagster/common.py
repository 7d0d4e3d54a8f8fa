"""What the asset modules share: the stages' keys, the source's key, metadata, and a stage's
connection that closes the run as failed when the stage raises."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import dagster as dg
import duckdb

from governance_pipeline.dagster.resources import GovernanceStore
from governance_pipeline.errors import GovernanceError
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import runs
from governance_pipeline.store.runs import RunStatus

STAGES = (
    "validated_input",
    "input_quarantine",
    "model_input",
    "llm_call",
    "staged_output",
    "enriched",
    "output_quarantine",
    "row_ledger",
    "sla_result",
)


def stage_keys(spec: ResolvedSpec) -> dict[str, dg.AssetKey]:
    """The asset key of each stage of a job, e.g. support_triage/enriched."""
    return {stage: dg.AssetKey([spec.name, stage]) for stage in STAGES}


def source_key(spec: ResolvedSpec) -> dg.AssetKey:
    """The asset key of a job's raw source table, e.g. raw/support_tickets."""
    return dg.AssetKey(spec.job.source.table.split("."))


def meta(figures: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata from a stage's figures: numbers stay numbers, the rest becomes JSON."""
    return {
        k: v if isinstance(v, (int, float, str)) else dg.MetadataValue.json(v)
        for k, v in figures.items()
    }


@contextmanager
def stage_of(store: GovernanceStore, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store for one stage of a run. If the stage raises, the run is closed as `failed`
    with the cause, then the error goes on to Dagster."""
    try:
        with store.connect() as con:
            yield con
    except Exception as exc:
        with suppress(GovernanceError, duckdb.Error), store.connect() as con:
            runs.finish(con, run_id, RunStatus.FAILED, one_line(exc))
        raise


def fail_run(con: duckdb.DuckDBPyConnection, run_id: str, check: str, why: str) -> None:
    """Close the run as `failed` because a blocking check other than an SLA failed."""
    runs.finish(con, run_id, RunStatus.FAILED, f"blocking check {check} failed: {why}")


def one_line(exc: BaseException, limit: int = 500) -> str:
    """An error as one line: its class and message, whitespace folded, cut at `limit`."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
