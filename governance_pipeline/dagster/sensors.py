"""Alert sensors: failed checks and failed runs become incidents, alerted to the spec's sinks.

    governance_alerts          every check's latest evaluation: a failure opens an incident
                               (one alert), a pass closes it (one recovery notice)
    governance_run_failures    a failed run of a governed job opens the job's `run` incident
    governance_run_recoveries  its next successful run closes it

`govern run` calls the same code right after its run, so the CLI alerts without the daemon;
incident state makes the two agree: whoever sees an evaluation first alerts, the other is a
no-op.
"""

import json
from collections.abc import Sequence
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus as Status,
)

from governance_pipeline.alerting import Alert, AlertsConfig, Evaluation, observe
from governance_pipeline.dagster.resources import GovernanceStore
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import runs

_EVALUATED = (Status.SUCCEEDED, Status.FAILED)


def check_evaluations(
    instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey], cursor: dict[str, int]
) -> list[tuple[str, int, Evaluation]]:
    """Check evaluations newer than the cursor, as (check key, record id, evaluation)."""
    found = []
    for check_key in check_keys:
        record = instance.get_latest_asset_check_evaluation_record(check_key)
        name = check_key.to_user_string()
        if record is None or record.id <= cursor.get(name, 0) or record.status not in _EVALUATED:
            continue  # nothing new, or planned and not evaluated (yet, or ever: a skipped step)
        evaluation = record.evaluation
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue
        metadata = {
            k: v.value
            for k, v in evaluation.metadata.items()
            if isinstance(v.value, (int, float, str, bool))
        }
        found.append(
            (
                name,
                record.id,
                Evaluation(
                    job=check_key.asset_key.path[0],
                    check_name=check_key.name,
                    run_id=record.run_id,
                    passed=evaluation.passed,
                    severity=evaluation.severity.value,
                    message=evaluation.description or f"check {name} failed",
                    metadata=metadata,
                ),
            )
        )
    return found


def alert_run(
    con: Any,
    instance: dg.DagsterInstance,
    check_keys: list[dg.AssetCheckKey],
    config: AlertsConfig,
    job: str,
    run_id: str,
    failure: str | None,
) -> list[Alert]:
    """Alerts for one run just finished (the CLI's path): its checks, then the run itself."""
    alerts = []
    for _, _, evaluation in check_evaluations(instance, check_keys, {}):
        if evaluation.run_id == run_id and evaluation.job == job:
            alert = observe(con, evaluation, config)
            alerts += [alert] if alert else []
    run_eval = Evaluation(job, "run", run_id, failure is None, "ERROR", failure or "run succeeded")
    alert = observe(con, run_eval, config)
    return alerts + ([alert] if alert else [])


def root_error(event: dg.DagsterEvent) -> Any:
    """The innermost error of a step failure event (None if it carries none)."""
    error = event.step_failure_data.error if event.step_failure_data else None
    while error is not None and error.cause is not None:
        error = error.cause
    return error


def failure_text(step_failures: Sequence[dg.DagsterEvent]) -> str:
    """The root cause of each failed step, one clause each: the error a person must fix."""
    clauses = []
    for event in step_failures:
        error = root_error(event)
        if error is not None:
            clauses.append(f"{event.step_key}: {' '.join(error.message.split())}")
    return "; ".join(clauses)


def build_alert_sensors(
    specs: list[ResolvedSpec], check_keys: list[dg.AssetCheckKey]
) -> list[dg.SensorDefinition]:
    """The check sensor and the run failure and recovery sensors of the given jobs."""
    configs = {s.name: s.alerts for s in specs}

    @dg.sensor(
        name="governance_alerts",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed governance checks open incidents and alert; passing ones close them.",
    )
    def governance_alerts(context: dg.SensorEvaluationContext, store: GovernanceStore) -> Any:
        cursor: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        seen = check_evaluations(context.instance, check_keys, cursor)
        raised = []
        if seen:
            with store.connect() as con:
                for name, record_id, evaluation in seen:
                    config = configs.get(evaluation.job)
                    alert = observe(con, evaluation, config) if config else None
                    if alert is not None:
                        raised.append(alert)
                        context.log.info(f"{alert.kind.value}: {alert.alert_id}")
                    cursor[name] = record_id
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        return dg.SkipReason(f"{len(seen)} evaluation(s) seen, {len(raised)} alert(s) sent")

    def _run_event(store: GovernanceStore, run: dg.DagsterRun, ok: bool, message: str) -> None:
        job = run.job_name.removesuffix("_job")
        if job not in configs:
            return
        with store.connect() as con:
            if not ok:
                if runs.status_of(con, run.run_id) is runs.RunStatus.BLOCKED:
                    return  # a blocking SLA stopped publication: its own alert says so
                runs.finish(con, run.run_id, runs.RunStatus.FAILED, message)
            observe(con, Evaluation(job, "run", run.run_id, ok, "ERROR", message), configs[job])

    @dg.run_failure_sensor(
        name="governance_run_failures",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A failed run of a governed job opens its `run` incident and alerts.",
    )
    def governance_run_failures(
        context: dg.RunFailureSensorContext, store: GovernanceStore
    ) -> None:
        step_failures = context.get_step_failure_events()
        message = failure_text(step_failures) or context.failure_event.message or "run failed"
        _run_event(store, context.dagster_run, False, message)

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="governance_run_recoveries",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A successful run closes its job's open `run` incident, with one notice.",
    )
    def governance_run_recoveries(
        context: dg.RunStatusSensorContext, store: GovernanceStore
    ) -> None:
        _run_event(store, context.dagster_run, True, "run succeeded")

    return [governance_alerts, governance_run_failures, governance_run_recoveries]
