"""Alerts: failed checks and runs become incidents, and incidents reach people.

config      the spec's `alerts` section: sinks by severity (log, slack, webhook, email,
            pagerduty), attempts and backoff; secrets only as environment variable names
model       Evaluation (a check or run evaluated), Alert (a breach or its recovery)
sinks       the payload each sink expects, and one delivery
incidents   one open incident per job and check; one alert when it opens, one recovery
            notice when it closes; retries; records in governance.alert(_delivery)

The names below are loaded on first use: a spec reads `alerting.config` without paying for
the store (DuckDB, pandas) that incidents write to, or the HTTP client the sinks send with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance_pipeline import lazy
from governance_pipeline.errors import DeliveryError, SinkNotConfiguredError

if TYPE_CHECKING:
    from governance_pipeline.alerting.config import (
        AlertsConfig,
        EmailSink,
        LogSink,
        PagerDutySink,
        Sink,
        SlackSink,
        WebhookSink,
    )
    from governance_pipeline.alerting.incidents import dispatch, observe
    from governance_pipeline.alerting.model import Alert, AlertKind, Evaluation
    from governance_pipeline.alerting.sinks import sign

_LAZY = {
    "AlertsConfig": "governance_pipeline.alerting.config",
    "EmailSink": "governance_pipeline.alerting.config",
    "LogSink": "governance_pipeline.alerting.config",
    "PagerDutySink": "governance_pipeline.alerting.config",
    "Sink": "governance_pipeline.alerting.config",
    "SlackSink": "governance_pipeline.alerting.config",
    "WebhookSink": "governance_pipeline.alerting.config",
    "dispatch": "governance_pipeline.alerting.incidents",
    "observe": "governance_pipeline.alerting.incidents",
    "Alert": "governance_pipeline.alerting.model",
    "AlertKind": "governance_pipeline.alerting.model",
    "Evaluation": "governance_pipeline.alerting.model",
    "sign": "governance_pipeline.alerting.sinks",
}


__getattr__ = lazy.exports(__name__, _LAZY)


__all__ = [
    "Alert",
    "AlertKind",
    "AlertsConfig",
    "DeliveryError",
    "EmailSink",
    "Evaluation",
    "LogSink",
    "PagerDutySink",
    "Sink",
    "SinkNotConfiguredError",
    "SlackSink",
    "WebhookSink",
    "dispatch",
    "observe",
    "sign",
]
