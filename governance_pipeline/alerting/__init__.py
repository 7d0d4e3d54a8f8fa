"""Alerts: failed checks and runs become incidents, and incidents reach people.

config      the spec's `alerts` section: sinks by severity (log, slack, webhook, email,
            pagerduty), attempts and backoff; secrets only as environment variable names
model       Evaluation (a check or run evaluated), Alert (a breach or its recovery)
sinks       the payload each sink expects, and one delivery
incidents   one open incident per job and check; one alert when it opens, one recovery
            notice when it closes; retries; records in governance.alert(_delivery)
"""

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
from governance_pipeline.errors import DeliveryError, SinkNotConfiguredError

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
