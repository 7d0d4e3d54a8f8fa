"""The `alerts` section of a job spec: where alerts go, by severity, and how hard to try.

Sinks are a discriminated union on `type` (log, slack, webhook, email, pagerduty). A sink names
environment variables, never secrets: URLs, routing keys, HMAC secrets and SMTP passwords are
read from the environment at send time. A sink whose variable is unset is skipped (and the
skip recorded); a webhook whose signing secret is named but unset refuses to send unsigned.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SeverityName = Literal["ERROR", "WARN"]
SEVERITIES: tuple[SeverityName, ...] = ("ERROR", "WARN")
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class _Sink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="Name in records; defaults to the type.")
    severities: list[SeverityName] = Field(
        default_factory=lambda: list(SEVERITIES),
        min_length=1,
        description="Severities routed to this sink.",
    )

    @property
    def label(self) -> str:
        """The sink's name, or its type."""
        return self.name or str(type(self).model_fields["type"].default)


class LogSink(_Sink):
    """Python logging (`governance_pipeline.alerts`): WARNING for breaches, INFO for recoveries."""

    type: Literal["log"] = "log"


class SlackSink(_Sink):
    """A Slack incoming webhook."""

    type: Literal["slack"] = "slack"
    url_env: EnvName = Field(
        "GOVERNANCE_SLACK_WEBHOOK_URL", description="Variable holding the webhook URL."
    )


class WebhookSink(_Sink):
    """A generic JSON webhook, signed with HMAC-SHA256 over `<timestamp>.<body>`.

    Headers: `X-Governance-Timestamp` (unix seconds) and the signature header,
    `sha256=<hex digest>`. Receivers recompute it with the shared secret.
    """

    type: Literal["webhook"] = "webhook"
    url_env: EnvName = Field("GOVERNANCE_ALERT_WEBHOOK_URL", description="Variable with the URL.")
    secret_env: EnvName | None = Field(
        "GOVERNANCE_ALERT_WEBHOOK_SECRET",
        description="Variable with the HMAC secret; null sends unsigned.",
    )
    signature_header: str = Field("X-Governance-Signature", description="Header of the signature.")


class EmailSink(_Sink):
    """Email over SMTP (STARTTLS and login when configured)."""

    type: Literal["email"] = "email"
    host: str | None = Field(None, description="SMTP server; unset means `host_env`.")
    host_env: EnvName = Field(
        "GOVERNANCE_SMTP_HOST", description="Variable with the SMTP server, `host[:port]`."
    )
    port: int = Field(25, gt=0, lt=65536, description="SMTP port, unless the host names one.")
    sender: str = Field(description="From address.")
    to: list[str] = Field(min_length=1, description="Recipients.")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    username_env: EnvName | None = Field(None, description="Variable with the SMTP user.")
    password_env: EnvName | None = Field(None, description="Variable with the SMTP password.")


class PagerDutySink(_Sink):
    """PagerDuty Events API v2: a breach triggers, its recovery resolves (same dedup key)."""

    type: Literal["pagerduty"] = "pagerduty"
    routing_key_env: EnvName = Field(
        "GOVERNANCE_PAGERDUTY_ROUTING_KEY", description="Variable with the integration key."
    )
    url_env: EnvName = Field(
        "GOVERNANCE_PAGERDUTY_URL",
        description=f"Variable with the Events API URL; unset means {PAGERDUTY_EVENTS_URL}.",
    )


Sink = Annotated[
    LogSink | SlackSink | WebhookSink | EmailSink | PagerDutySink, Field(discriminator="type")
]


def _default_sinks() -> list[Sink]:
    return [LogSink(), WebhookSink(secret_env=None)]


class AlertsConfig(BaseModel):
    """Where a job's alerts go. Without the section: the log, and `$GOVERNANCE_ALERT_WEBHOOK_URL`
    when set (unsigned)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sinks: list[Sink] = Field(default_factory=_default_sinks, description="Where alerts go.")
    attempts: int = Field(3, ge=1, le=10, description="Tries per sink before giving up.")
    backoff_s: float = Field(1.0, ge=0, description="First wait between tries; doubles.")
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one delivery.")

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsConfig:
        labels = [s.label for s in self.sinks]
        twice = sorted({n for n in labels if labels.count(n) > 1})
        if twice:
            raise ValueError(f"sink names must be unique; give `name:` to: {', '.join(twice)}")
        return self

    def routed(self, severity: str) -> list[Sink]:
        """The sinks that take alerts of this severity."""
        return [s for s in self.sinks if severity in s.severities]
