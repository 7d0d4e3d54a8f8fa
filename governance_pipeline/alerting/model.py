"""What an alert is: a check (or a run) of a job that broke, or recovered, in a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class AlertKind(str, Enum):
    """A breach opens an incident; its recovery closes it."""

    BREACH = "breach"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a check (or of a run, `check_name="run"`) of a job."""

    job: str
    check_name: str
    run_id: str
    passed: bool
    severity: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def incident_id(self) -> str:
        """The incident this evaluation opens, keeps open or closes: one per job and check."""
        return incident_id(self.job, self.check_name)


def incident_id(job: str, check_name: str) -> str:
    """The id of the one incident a job and check can have open."""
    return f"{job}:{check_name}"


@dataclass(frozen=True)
class Alert:
    """A breach, or the recovery of one, to be sent to the sinks its severity routes to."""

    job: str
    run_id: str
    check_name: str
    severity: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: AlertKind = AlertKind.BREACH

    @property
    def incident_id(self) -> str:
        """The incident this alert belongs to: one open per job and check."""
        return incident_id(self.job, self.check_name)

    @property
    def alert_id(self) -> str:
        """One alert per job, check, run and kind."""
        suffix = ":recovered" if self.kind is AlertKind.RECOVERY else ""
        return f"{self.job}:{self.check_name}:{self.run_id}{suffix}"

    @property
    def title(self) -> str:
        """One line: what happened where."""
        if self.kind is AlertKind.RECOVERY:
            return f"[RECOVERED] {self.job}: {self.check_name} recovered"
        return f"[{self.severity}] {self.job}: {self.check_name} failed"

    def as_payload(self) -> dict[str, Any]:
        """The alert as JSON for webhooks and records."""
        return {
            "alert_id": self.alert_id,
            "incident_id": self.incident_id,
            "kind": self.kind.value,
            "job": self.job,
            "run_id": self.run_id,
            "check_name": self.check_name,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "metadata": self.metadata,
        }
