"""Run a governed job through Dagster from the CLI: in-process, on the persistent instance, so
the run is audited in the Dagster UI; then raise alerts for its failed checks and summarise it.
A partitioned job runs one partition per run (`dagster.partitions.keys_to_run` says which).
"""

from dataclasses import dataclass

import dagster as dg

from governance_pipeline import store
from governance_pipeline.dagster.definitions import definitions_for, load_folder
from governance_pipeline.dagster.sensors import alert_run, failure_text
from governance_pipeline.errors import GovernanceError
from governance_pipeline.settings import Settings, dagster_home
from governance_pipeline.sla.summary import RunSummary, summarize
from governance_pipeline.store import runs

FAILED = "the run failed; see `govern ui` for its log"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The CLI prints its own report; Dagster's step log stays in the UI."""


@dataclass
class RunOutcome:
    """What `govern run` reports: whether Dagster succeeded, the summary, and alerts raised."""

    success: bool
    summary: RunSummary | None
    alerts: list[str]
    failure: str | None = None
    blocked: bool = False
    """The run did its work, and a blocking SLA stopped publication (not a failure of the run
    itself: the SLA check's alert reports it). Any other failed blocking check fails the run."""


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent Dagster instance: `$DAGSTER_HOME`, default .dagster/ in the project."""
    dagster_home(settings)
    return dg.DagsterInstance.get()


def run_job(
    job: str,
    settings: Settings | None = None,
    instructions: list[str] | None = None,
    partition_key: str | None = None,
) -> RunOutcome:
    """Materialise every asset of `job` and its checks in one in-process Dagster run (of
    `partition_key`, for a partitioned job: checked beforehand by `partitions.keys_to_run`).

    Raises:
        GovernanceError: the job does not exist (the message lists the ones that do).
        SpecError: the job's spec does not load; other broken specs are only warned about.
    """
    settings = settings or Settings()
    loaded = load_folder(settings.spec_dir)
    specs = {s.name: s for s in loaded.specs}
    if job not in specs:
        if (error := loaded.failure_of(job)) is not None:
            raise error  # the job's own spec, or a base it extends, is broken
        raise GovernanceError(
            f"unknown job {job!r}; jobs in {settings.spec_dir}: {', '.join(sorted(specs))}"
        )
    defs = definitions_for(list(specs.values()), str(settings.db))
    instance = dagster_instance(settings)
    result = defs.resolve_job_def(f"{job}_job").execute_in_process(
        instance=instance,
        raise_on_error=False,
        partition_key=partition_key,
        run_config={
            **QUIET,
            "resources": {"instructions": {"config": {"instructions": instructions or []}}},
        },
    )
    step_failures = [e for e in result.all_events if e.is_step_failure]
    failure = None if result.success else failure_text(step_failures) or FAILED
    check_keys = [
        k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key.path[0] == job
    ]
    alerts: list[str] = []
    config = specs[job].alerts
    with store.connect(settings.db) as con:
        status = runs.status_of(con, result.run_id)
        if failure and status is runs.RunStatus.RUNNING:  # stopped by Dagster, not by a stage
            runs.finish(con, result.run_id, runs.RunStatus.FAILED, failure)
        blocked = status is runs.RunStatus.BLOCKED
        run_failure = None if blocked else failure
        for alert in alert_run(con, instance, check_keys, config, job, result.run_id, run_failure):
            alerts.append(
                f"{alert.severity} {alert.kind.value} of {alert.check_name}: {alert.message}"
            )
        has_ledger = store.table_exists(con, f"{job}.row_ledger") and store.scalar(
            con, f"SELECT count(*) FROM {job}.row_ledger WHERE run_id = ?", [result.run_id]
        )
        done = status in (runs.RunStatus.SUCCEEDED, runs.RunStatus.BLOCKED)  # nothing due too
        summary = summarize(con, job, result.run_id) if has_ledger or done else None
    return RunOutcome(result.success, summary, alerts, failure, blocked)
