"""Tests for alerting (``governance_pipeline.alerting``) against real local receivers: an HTTP
server on 127.0.0.1 for the Slack, webhook and PagerDuty payloads, and aiosmtpd for email.

What matters to the person on call: a breach gives exactly one alert per sink its severity
routes to, however many evaluations repeat it; its recovery gives exactly one notice (and
resolves the PagerDuty incident it triggered); a sink that hiccups is retried, one that is
misconfigured is not; the webhook is signed so a receiver can trust it; and no URL, key or
password ends up in DuckDB or in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from governance_pipeline import store
from governance_pipeline.alerting import AlertsConfig, Evaluation, observe, sign
from tests.receivers import HttpReceiver, http_receiver, smtp_receiver

SECRET = "s3cret-hmac-key"
ROUTING_KEY = "R0UTINGKEY123"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[Any]:
    with store.connect(tmp_path / "alerts.duckdb") as c:
        yield c


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpReceiver]:
    with http_receiver() as server:
        monkeypatch.setenv("GOVERNANCE_SLACK_WEBHOOK_URL", server.url("/slack"))
        monkeypatch.setenv("GOVERNANCE_ALERT_WEBHOOK_URL", server.url("/hook"))
        monkeypatch.setenv("GOVERNANCE_ALERT_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("GOVERNANCE_PAGERDUTY_URL", server.url("/pagerduty"))
        monkeypatch.setenv("GOVERNANCE_PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
        monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
        yield server


def config(**extra: Any) -> AlertsConfig:
    data: dict[str, Any] = {
        "sinks": [
            {"type": "log"},
            {"type": "slack"},
            {"type": "webhook"},
            {"type": "pagerduty", "severities": ["ERROR"]},
        ],
        "backoff_s": 0.01,
        **extra,
    }
    return AlertsConfig.model_validate(data)


def failed(run: str, severity: str = "ERROR") -> Evaluation:
    return Evaluation(
        "support_triage",
        "sla_triage_compliance",
        run,
        False,
        severity,
        "triage-compliance: compliance_rate >= 0.9 over run, measured 0.4 over 36: breached",
        {"measured": 0.4, "threshold": 0.9, "window": "run"},
    )


def passed(run: str) -> Evaluation:
    return Evaluation("support_triage", "sla_triage_compliance", run, True, "ERROR", "held")


def test_a_breach_alerts_once_and_its_recovery_notifies_once(
    con: Any, receiver: HttpReceiver
) -> None:
    with smtp_receiver() as (port, inbox):
        cfg = config(
            sinks=[
                *config().sinks,
                {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": port,
                    "sender": "governance@acme.example",
                    "to": ["oncall@acme.example"],
                },
            ]
        )
        first = observe(con, failed("r1"), cfg)
        assert first is not None and first.kind.value == "breach"
        assert observe(con, failed("r2"), cfg) is None  # still open: no second alert
        assert observe(con, failed("r3"), cfg) is None
        recovery = observe(con, passed("r4"), cfg)
        assert recovery is not None and recovery.kind.value == "recovery"
        assert observe(con, passed("r5"), cfg) is None  # nothing open: nothing to say
        subjects = [m["Subject"] for m in inbox]

    assert [len(receiver.at(p)) for p in ("/slack", "/hook", "/pagerduty")] == [2, 2, 2]
    assert subjects == [
        "[ERROR] support_triage: sla_triage_compliance failed",
        "[RECOVERED] support_triage: sla_triage_compliance recovered",
    ]
    slack = [r.json for r in receiver.at("/slack")]
    assert slack[0]["text"].startswith("[ERROR] support_triage: sla_triage_compliance failed")
    assert "measured 0.4" in slack[0]["text"] and slack[0]["blocks"]
    assert slack[1]["text"].startswith("[RECOVERED]")
    trigger, resolve = (r.json for r in receiver.at("/pagerduty"))
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == "support_triage:sla_triage_compliance"
    assert trigger["routing_key"] == ROUTING_KEY and trigger["payload"]["severity"] == "error"
    assert trigger["payload"]["custom_details"]["measured"] == 0.4
    hook = receiver.at("/hook")[0]
    assert hook.json["kind"] == "breach" and hook.json["run_id"] == "r1"

    rows = con.execute(
        "SELECT alert_id, kind, delivered, sinks FROM governance.alert ORDER BY created_at"
    ).fetchall()
    assert rows == [
        (
            "support_triage:sla_triage_compliance:r1",
            "breach",
            True,
            "log,slack,webhook,pagerduty,email",
        ),
        (
            "support_triage:sla_triage_compliance:r4:recovered",
            "recovery",
            True,
            "log,slack,webhook,pagerduty,email",
        ),
    ]
    incident = con.execute(
        "SELECT opened_run_id, last_run_id, closed_run_id FROM governance.incident"
    ).fetchall()
    assert incident == [("r1", "r3", "r4")]
    # a new breach after recovery is a new incident, with a new alert
    assert observe(con, failed("r6"), cfg) is not None
    assert con.execute("SELECT count(*) FROM governance.incident").fetchone()[0] == 2


def test_the_webhook_is_signed_with_hmac(con: Any, receiver: HttpReceiver) -> None:
    observe(con, failed("r1"), config())
    hook = receiver.at("/hook")[0]
    stamp = hook.headers["X-Governance-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + hook.raw, hashlib.sha256)
    assert hook.headers["X-Governance-Signature"] == "sha256=" + expected.hexdigest()
    assert sign(SECRET, stamp, hook.raw) == expected.hexdigest()
    assert sign("wrong", stamp, hook.raw) != expected.hexdigest()


def test_routing_by_severity(con: Any, receiver: HttpReceiver) -> None:
    observe(con, failed("r1", severity="WARN"), config())
    assert receiver.at("/pagerduty") == []  # pagerduty takes ERROR only
    assert len(receiver.at("/slack")) == len(receiver.at("/hook")) == 1


def test_a_failing_sink_is_retried(con: Any, receiver: HttpReceiver) -> None:
    receiver.statuses = [503, 500]  # the first two posts fail (to slack), the third succeeds
    observe(con, failed("r1"), config(sinks=[{"type": "slack"}]))
    assert len(receiver.at("/slack")) == 3
    delivery = con.execute(
        "SELECT sink, status, attempts, error FROM governance.alert_delivery"
    ).fetchall()
    assert delivery == [("slack", "delivered", 3, None)]


def test_a_sink_that_keeps_failing_is_recorded_without_secrets(
    con: Any, receiver: HttpReceiver
) -> None:
    receiver.default = 500
    cfg = config(sinks=[{"type": "slack"}, {"type": "pagerduty"}], attempts=2)
    observe(con, failed("r1"), cfg)
    assert len(receiver.received) == 4  # two tries each
    alert = con.execute("SELECT delivered, error FROM governance.alert").fetchone()
    assert alert == (False, "slack: answered 500; pagerduty: answered 500")
    everything = str(con.execute("SELECT * FROM governance.alert_delivery").fetchall()) + str(
        con.execute("SELECT * FROM governance.alert").fetchall()
    )
    assert "127.0.0.1" not in everything and ROUTING_KEY not in everything


def test_a_client_error_is_not_retried(con: Any, receiver: HttpReceiver) -> None:
    receiver.statuses = [404]
    observe(con, failed("r1"), config(sinks=[{"type": "webhook"}]))
    assert len(receiver.received) == 1
    row = con.execute("SELECT status, attempts, error FROM governance.alert_delivery").fetchone()
    assert row == ("failed", 1, "answered 404")


def test_an_unreachable_sink_is_retried_then_recorded(
    con: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNANCE_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens")
    observe(con, failed("r1"), config(sinks=[{"type": "slack"}], attempts=2, timeout_s=1))
    row = con.execute("SELECT status, attempts, error FROM governance.alert_delivery").fetchone()
    assert row == ("failed", 2, "unreachable: ConnectError")


def test_unset_variables_skip_the_sink_and_a_missing_secret_refuses(
    con: Any, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVERNANCE_SLACK_WEBHOOK_URL")
    monkeypatch.delenv("GOVERNANCE_ALERT_WEBHOOK_SECRET")
    observe(con, failed("r1"), config(sinks=[{"type": "slack"}, {"type": "webhook"}]))
    rows = con.execute("SELECT sink, status, error FROM governance.alert_delivery").fetchall()
    assert rows == [
        ("slack", "skipped", "$GOVERNANCE_SLACK_WEBHOOK_URL is not set"),
        (
            "webhook",
            "failed",
            "$GOVERNANCE_ALERT_WEBHOOK_SECRET is not set: an unsigned alert is not sent",
        ),
    ]
    assert receiver.received == []


def test_without_an_alerts_section_the_log_and_the_plain_webhook(
    con: Any, receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="governance_pipeline.alerts"):
        observe(con, failed("r1"), AlertsConfig())
    assert "[ERROR] support_triage: sla_triage_compliance failed" in caplog.text
    hook = receiver.at("/hook")
    assert len(hook) == 1 and "X-Governance-Signature" not in hook[0].headers


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sinks": [{"type": "sms"}]}, "does not match any of the expected tags"),
        ({"sinks": [{"type": "slack", "url_env": "https://hooks.example"}]}, "should match"),
        ({"sinks": [{"type": "slack"}, {"type": "slack"}]}, "give `name:` to: slack"),
        ({"sinks": [{"type": "email", "sender": "a@b.c"}]}, "to"),
        ({"sinks": [{"type": "log", "severities": ["INFO"]}]}, "'ERROR' or 'WARN'"),
        ({"attempts": 0}, "greater than or equal to 1"),
    ],
)
def test_malformed_alert_sections_are_rejected(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlertsConfig.model_validate(data)
