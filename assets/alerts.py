"""The alert sensor: a failed asset check of any job becomes one alert in `governance.alert`,
posted to `$GOVERNANCE_ALERT_WEBHOOK_URL` when set."""

import json
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from assets.resources import GovernanceStore
from governance_pipeline.alerting import Alert, raise_alert
from governance_pipeline.settings import Settings


def check_failures(
    instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey], cursor: dict[str, int]
) -> list[tuple[str, int, Alert]]:
    """Failed check evaluations newer than the cursor, as (check key, record id, alert)."""
    found = []
    for check_key in check_keys:
        record = instance.get_latest_asset_check_evaluation_record(check_key)
        name = check_key.to_user_string()
        if record is None or record.id <= cursor.get(name, 0):
            continue
        if record.status is not AssetCheckExecutionRecordStatus.FAILED:
            if record.status is AssetCheckExecutionRecordStatus.SUCCEEDED:
                cursor[name] = record.id
            continue
        evaluation = record.evaluation
        if evaluation is None or evaluation.passed:
            cursor[name] = record.id
            continue
        alert = Alert(
            job=check_key.asset_key.path[0],
            run_id=record.run_id,
            check_name=check_key.name,
            severity=evaluation.severity.value,
            message=evaluation.description or f"check {name} failed",
        )
        found.append((name, record.id, alert))
    return found


def build_alert_sensor(check_keys: list[dg.AssetCheckKey]) -> dg.SensorDefinition:
    """A sensor over the given checks; its cursor remembers the last record seen per check."""

    @dg.sensor(
        name="governance_alerts",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Turns failed governance checks into alerts.",
    )
    def governance_alerts(context: dg.SensorEvaluationContext, store: GovernanceStore) -> Any:
        cursor: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        failures = check_failures(context.instance, check_keys, cursor)
        if failures:
            url = Settings().alert_webhook_url
            with store.connect() as con:
                for name, record_id, alert in failures:
                    if raise_alert(con, alert, url):
                        context.log.info(f"alert raised: {alert.alert_id}")
                    cursor[name] = record_id
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        return dg.SkipReason(
            f"{len(failures)} new failed check(s) alerted" if failures else "no new failed checks"
        )

    return governance_alerts
