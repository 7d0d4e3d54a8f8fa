"""What the asset modules share: the stages' keys, the source's key, metadata, and a stage's
connection that closes the run as failed when the stage raises."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import dagster as dg
import duckdb

from governance_pipeline.cli.progress import PROGRESS_LOGGER
from governance_pipeline.dagster.resources import GovernanceStore
from governance_pipeline.errors import GovernanceError
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import runs, scalar
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
    """Dagster metadata from a stage's figures: numbers stay numbers (rounded for people: no
    0.12015020005205779, no 1.383e+04), the rest becomes JSON."""
    return {k: _value(v) for k, v in figures.items() if v is not None}


def _value(v: Any) -> Any:
    if isinstance(v, bool) or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return rounded(v)
    return dg.MetadataValue.json(_rounded_all(v))


def rounded(x: float) -> float | int:
    """A float as a person reads it: whole above 1,000, four significant digits below."""
    if abs(x) >= 1000:
        return round(x)
    return float(f"{x:.4g}")


def _rounded_all(v: Any) -> Any:
    if isinstance(v, float):
        return rounded(v)
    if isinstance(v, dict):
        return {k: _rounded_all(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_rounded_all(x) for x in v]
    return v


def table_meta(
    con: duckdb.DuckDBPyConnection, table: str, run_id: str | None = None
) -> dict[str, Any]:
    """The table's column schema and row count (`dagster/column_schema`, `dagster/row_count`),
    and with `run_id` the rows this run wrote."""
    columns = con.execute(f"DESCRIBE {table}").fetchall()
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind, *_ in columns])
    figures: dict[str, Any] = {
        "dagster/column_schema": schema,
        "dagster/row_count": int(scalar(con, f"SELECT count(*) FROM {table}")),
    }
    if run_id is not None and any(name == "run_id" for name, *_ in columns):
        mine = scalar(con, f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id])
        figures["rows_this_run"] = int(mine)
    return figures


@contextmanager
def stage_of(
    store: GovernanceStore, run_id: str, status: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store for one stage of a run. If the stage raises, the run is closed as `failed`
    with the cause, then the error goes on to Dagster. `status` (`validating`...) is logged to
    the progress logger as the stage starts: `govern run` prints it."""
    with failing_run(store, run_id, status), store.connect() as con:
        yield con


@contextmanager
def failing_run(store: GovernanceStore, run_id: str, status: str | None = None) -> Iterator[None]:
    """A stage that opens the store itself, for short reads and writes (the LLM stage): if it
    raises, the run is closed as `failed` with the cause, then the error goes on to Dagster.
    `status` is logged to the progress logger as the stage starts."""
    if status is not None:
        logging.getLogger(PROGRESS_LOGGER).info(status, extra={"stage": status})
    try:
        yield
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
