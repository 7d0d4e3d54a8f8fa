"""Incidents: one open incident per job and check, from its first failed evaluation until a
measured pass closes it. Opening sends one alert; closing sends one recovery notice; evaluations
in between send nothing, however many runs or sensor ticks see them.

A pass on no sample (no calls, no published rows) or on fewer than the SLA's `min_sample`
closes nothing: a run against a dead endpoint must not resolve a real breach in PagerDuty.

Every alert is a row of `governance.alert`, and every attempt at a sink a row of
`governance.alert_delivery` (delivered, failed after N tries, or skipped because the sink's
variable is unset). `governance.incident` holds the incidents. Secrets are never recorded.
"""

from __future__ import annotations

import logging

import duckdb
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from governance_pipeline.alerting.config import AlertsConfig
from governance_pipeline.alerting.model import Alert, AlertKind, Evaluation
from governance_pipeline.alerting.sinks import send
from governance_pipeline.errors import DeliveryError, SinkNotConfiguredError
from governance_pipeline.sla.verdicts import SlaState
from governance_pipeline.store import first, scalar

log = logging.getLogger("governance_pipeline.alerts")


def observe(
    con: duckdb.DuckDBPyConnection, evaluation: Evaluation, config: AlertsConfig
) -> Alert | None:
    """Update the incident of the evaluation's job and check; the alert sent, if any."""
    e = evaluation
    incident_id = e.incident_id
    open_ = first(
        con,
        "SELECT severity FROM governance.incident WHERE incident_id = ? AND closed_at IS NULL",
        [incident_id],
    )
    if not e.passed:
        if open_ is not None:
            con.execute(
                "UPDATE governance.incident SET last_run_id = ? "
                "WHERE incident_id = ? AND closed_at IS NULL",
                [e.run_id, incident_id],
            )
            return None
        alert = Alert(e.job, e.run_id, e.check_name, e.severity, e.message, e.metadata)
        if _recorded(con, alert):
            return None
        con.execute(
            "INSERT INTO governance.incident (incident_id, job, check_name, severity, message, "
            "opened_run_id, last_run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [incident_id, e.job, e.check_name, e.severity, e.message, e.run_id, e.run_id],
        )
    else:
        if open_ is None:
            return None
        if not measured(e):
            con.execute(
                "UPDATE governance.incident SET last_run_id = ? "
                "WHERE incident_id = ? AND closed_at IS NULL",
                [e.run_id, incident_id],
            )
            return None
        con.execute(
            "UPDATE governance.incident SET closed_run_id = ?, closed_at = current_timestamp "
            "WHERE incident_id = ? AND closed_at IS NULL",
            [e.run_id, incident_id],
        )
        message = f"passed again: {e.message}" if e.message else "passed again"
        alert = Alert(
            e.job, e.run_id, e.check_name, open_[0], message, e.metadata, AlertKind.RECOVERY
        )
    dispatch(con, alert, config)
    return alert


def measured(evaluation: Evaluation) -> bool:
    """True when a passing evaluation rests on a sample that could have failed it (an SLA's
    `state` says, in the words of `sla.SlaState`; a check without one was measured)."""
    state = evaluation.metadata.get("state")
    return state not in {s.value for s in SlaState if not s.measured}


def _recorded(con: duckdb.DuckDBPyConnection, alert: Alert) -> bool:
    return bool(
        scalar(con, "SELECT count(*) FROM governance.alert WHERE alert_id = ?", [alert.alert_id])
    )


def dispatch(con: duckdb.DuckDBPyConnection, alert: Alert, config: AlertsConfig) -> bool:
    """Send the alert to every sink its severity routes to, with retries; record it all.

    Returns:
        True when every configured sink took it.
    """
    outcomes = []
    for sink in config.routed(alert.severity):
        attempts = 0

        def once() -> None:
            nonlocal attempts
            attempts += 1
            send(sink, alert, config.timeout_s)  # noqa: B023 - called within this iteration

        status, error = "delivered", None
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(config.attempts),
                wait=wait_exponential(multiplier=config.backoff_s, max=30),
                retry=retry_if_exception(lambda x: isinstance(x, DeliveryError) and x.retriable),
                reraise=True,
            ):
                with attempt:
                    once()
        except SinkNotConfiguredError as exc:
            status, error = "skipped", str(exc)
        except DeliveryError as exc:
            status, error = "failed", str(exc)
            log.error("alert %s not delivered to %s: %s", alert.alert_id, sink.label, exc)
        con.execute(
            "INSERT INTO governance.alert_delivery (alert_id, sink, sink_type, status, attempts, "
            "error) VALUES (?, ?, ?, ?, ?, ?)",
            [alert.alert_id, sink.label, sink.type, status, attempts, error],
        )
        outcomes.append((sink.label, status, error))
    sent = [name for name, status, _ in outcomes if status != "skipped"]
    failed = [f"{name}: {error}" for name, status, error in outcomes if status == "failed"]
    con.execute(
        "INSERT OR REPLACE INTO governance.alert (alert_id, job, run_id, check_name, severity, "
        "message, sinks, delivered, error, kind, incident_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            alert.alert_id,
            alert.job,
            alert.run_id,
            alert.check_name,
            alert.severity,
            alert.message,
            ",".join(sent),
            not failed,
            "; ".join(failed) or None,
            alert.kind.value,
            alert.incident_id,
        ],
    )
    return not failed
