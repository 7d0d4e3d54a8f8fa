"""Alerts: a failed check becomes one recorded alert, posted to the sinks configured.

Each alert is recorded in `governance.alert` under an id made of job, check and run, so the
sensor and the CLI can both raise it and it is still sent once. Sink URLs are secrets: they come
from the environment and are never stored or logged; a failed delivery records only its error
class and status.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """A check that failed in a run."""

    job: str
    run_id: str
    check_name: str
    severity: str
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        """One alert per job, check and run."""
        return f"{self.job}:{self.check_name}:{self.run_id}"


def post_webhook(url: SecretStr, alert: Alert, attempts: int = 3, timeout: float = 5.0) -> None:
    """POST the alert as JSON; retry a failed delivery up to `attempts` times.

    Raises:
        httpx.HTTPError: the last attempt's error (its message holds no URL).
    """
    payload = {"alert_id": alert.alert_id, **asdict(alert)}
    last: Exception | None = None
    for _ in range(attempts):
        try:
            response = httpx.post(url.get_secret_value(), json=payload, timeout=timeout)
            response.raise_for_status()
            return
        except httpx.HTTPError as exc:
            last = exc
    assert last is not None
    raise last


def raise_alert(
    con: duckdb.DuckDBPyConnection, alert: Alert, webhook_url: SecretStr | None
) -> bool:
    """Record the alert and send it, unless it was already raised; True if it is new."""
    exists = con.execute(
        "SELECT count(*) FROM governance.alert WHERE alert_id = ?", [alert.alert_id]
    ).fetchone()[0]  # type: ignore[index]
    if exists:
        return False
    sinks = ["log"] + (["webhook"] if webhook_url is not None else [])
    log.warning("ALERT %s [%s] %s", alert.alert_id, alert.severity, alert.message)
    delivered, error = True, None
    if webhook_url is not None:
        try:
            post_webhook(webhook_url, alert)
        except httpx.HTTPStatusError as exc:
            delivered, error = False, f"webhook answered {exc.response.status_code}"
        except httpx.HTTPError as exc:
            delivered, error = False, f"webhook unreachable: {type(exc).__name__}"
    con.execute(
        "INSERT INTO governance.alert (alert_id, job, run_id, check_name, severity, message, "
        "sinks, delivered, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            alert.alert_id,
            alert.job,
            alert.run_id,
            alert.check_name,
            alert.severity,
            alert.message,
            ",".join(sinks),
            delivered,
            error,
        ],
    )
    return True
