"""The alert path through Dagster, against real receivers on 127.0.0.1 (HTTP for Slack, the
signed webhook and PagerDuty; aiosmtpd for email): a run that breaches its SLAs gives exactly
one alert per failed check and one for the failed run, however often the sensors look again;
the next good run gives exactly one recovery notice for each."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import dagster as dg
import pytest
from rich.console import Console

from governance_pipeline import store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.dagster.resources import GovernanceStore
from governance_pipeline.sla.report import sla_table
from governance_pipeline.sla.verdicts import SlaState, verdicts_of
from tests.conftest import SPEC_DIR, triage
from tests.fake_openai import FakeOpenAI
from tests.receivers import http_receiver, smtp_receiver

SECRET = "hmac-secret-for-tests"


def wrong_enum(body: dict) -> str:
    answer = json.loads(triage(body))
    return json.dumps({**answer, "category": "refunds"})


def test_a_breach_alerts_once_and_its_recovery_notifies_once(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = definitions_for(load_specs(SPEC_DIR), str(demo_db))
    instance = dg.DagsterInstance.ephemeral()
    resources = {"store": GovernanceStore(db_path=str(demo_db))}
    checks = defs.resolve_sensor_def("governance_alerts")
    failures = defs.resolve_sensor_def("governance_run_failures")
    successes = defs.resolve_sensor_def("governance_run_recoveries")

    def run(responder) -> dg.ExecuteInProcessResult:  # type: ignore[no-untyped-def]
        with FakeOpenAI(responder) as llm:
            monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
            return defs.resolve_job_def("support_triage_job").execute_in_process(
                instance=instance, raise_on_error=False
            )

    def run_sensor(sensor, result, failed: bool) -> None:  # type: ignore[no-untyped-def]
        event = result.get_run_failure_event() if failed else result.get_run_success_event()
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources=resources,
        )
        sensor(context.for_run_failure() if failed else context)

    with http_receiver() as http, smtp_receiver() as (smtp_port, inbox):
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("GOVERNANCE_SLACK_WEBHOOK_URL", http.url("/slack"))
        monkeypatch.setenv("GOVERNANCE_ALERT_WEBHOOK_URL", http.url("/hook"))
        monkeypatch.setenv("GOVERNANCE_ALERT_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("GOVERNANCE_PAGERDUTY_URL", http.url("/pagerduty"))
        monkeypatch.setenv("GOVERNANCE_PAGERDUTY_ROUTING_KEY", "routing-key")
        monkeypatch.setenv("GOVERNANCE_SMTP_HOST", f"127.0.0.1:{smtp_port}")

        # run 1: every output breaks the contract; the blocking SLAs stop publication
        bad = run(wrong_enum)
        assert not bad.success
        failed = sorted(e.check_name for e in bad.get_asset_check_evaluations() if not e.passed)
        assert {"sla_compliance_rate", "sla_triage_compliance"} <= set(failed)
        context = dg.build_sensor_context(instance=instance, resources=resources)
        checks(context)
        run_sensor(failures, bad, failed=True)
        # the sensors look again: nothing new
        checks(dg.build_sensor_context(instance=instance, resources=resources, cursor=None))
        run_sensor(failures, bad, failed=True)

        hooks = http.at("/hook")  # a blocked publication is not a failed run: no `run` alert
        assert sorted(h.json["check_name"] for h in hooks) == sorted(failed)
        for hook in hooks:  # each one signed
            digest = hmac.new(
                SECRET.encode(),
                hook.headers["X-Governance-Timestamp"].encode() + b"." + hook.raw,
                hashlib.sha256,
            ).hexdigest()
            assert hook.headers["X-Governance-Signature"] == f"sha256={digest}"
        everything = sorted(failed)  # all ERROR: platform and developer SLAs
        assert sorted(r.json["blocks"][0]["text"]["text"] for r in http.at("/slack")) == sorted(
            f":rotating_light: *[ERROR] support_triage: {c} failed*" for c in everything
        )
        pagerduty = [r.json for r in http.at("/pagerduty")]
        assert sorted(p["payload"]["class"] for p in pagerduty) == everything
        assert all(p["event_action"] == "trigger" for p in pagerduty)
        assert sorted(m["Subject"] for m in inbox) == sorted(
            f"[ERROR] support_triage: {c} failed" for c in everything
        )
        triage_alert = next(
            h.json for h in hooks if h.json["check_name"] == "sla_triage_compliance"
        )
        assert "breached, publication blocked" in triage_alert["message"]
        assert triage_alert["run_id"] == bad.run_id

        # run 2: the source table is gone; the run itself fails and opens the `run` incident
        with store.connect(demo_db) as con:
            con.execute("ALTER TABLE raw.support_tickets RENAME TO support_tickets_away")
        broken = run(triage)
        assert not broken.success
        run_sensor(failures, broken, failed=True)
        run_alerts = [h.json for h in http.at("/hook") if h.json["check_name"] == "run"]
        assert [(a["kind"], a["run_id"]) for a in run_alerts] == [("breach", broken.run_id)]
        assert "source.table" in run_alerts[0]["message"]
        with store.connect(demo_db) as con:
            con.execute("ALTER TABLE raw.support_tickets_away RENAME TO support_tickets")

        # run 3: a good model (another model: every row is due again, asked afresh); the
        # checks pass, the run succeeds
        monkeypatch.setenv("GOVERNANCE_MODEL", "better-model")
        http.received.clear()
        good = run(triage)
        assert good.success
        now_passing = {e.check_name for e in good.get_asset_check_evaluations() if e.passed}
        checks(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=context.cursor)
        )
        run_sensor(successes, good, failed=False)
        run_sensor(successes, good, failed=False)  # seen twice: one notice

        recovered = sorted(h.json["check_name"] for h in http.at("/hook"))
        assert recovered == sorted([c for c in failed if c in now_passing] + ["run"])
        assert "sla_triage_compliance" in recovered
        assert all(h.json["kind"] == "recovery" for h in http.at("/hook"))
        assert all(p.json["event_action"] == "resolve" for p in http.at("/pagerduty"))

    with store.connect(demo_db) as con:
        rows = con.execute(
            "SELECT check_name, kind, count(*) FROM governance.alert GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        open_incidents = con.execute(
            "SELECT check_name FROM governance.incident WHERE closed_at IS NULL"
        ).fetchall()
        stored = json.dumps(con.execute("SELECT * FROM governance.alert").fetchall(), default=str)
    assert all(n == 1 for _, _, n in rows)  # never twice the same alert
    assert {(c, k) for c, k, _ in rows} >= {("sla_triage_compliance", "breach"), ("run", "breach")}
    assert {(c, k) for c, k, _ in rows} >= {
        ("sla_triage_compliance", "recovery"),
        ("run", "recovery"),
    }
    assert {c for (c,) in open_incidents} == {c for c in failed if c not in now_passing}
    assert "127.0.0.1" not in stored and SECRET not in stored and "sk-test" not in stored


def test_a_run_with_no_sample_leaves_the_incident_open(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A breach opens the compliance incident; a run against a dead endpoint measures nothing
    (every row `call_failed`), so it must not close it or send a recovery (in PagerDuty that
    would resolve a real breach); the next measured pass closes it with one notice. The
    rerun after it has nothing due, so no latency sample: it judges no call of its own."""
    defs = definitions_for(load_specs(SPEC_DIR), str(demo_db))
    instance = dg.DagsterInstance.ephemeral()
    resources = {"store": GovernanceStore(db_path=str(demo_db))}
    checks = defs.resolve_sensor_def("governance_alerts")

    def run_and_look(llm: FakeOpenAI) -> dg.ExecuteInProcessResult:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        result = defs.resolve_job_def("support_triage_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        checks(dg.build_sensor_context(instance=instance, resources=resources))
        return result

    with http_receiver() as http:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("GOVERNANCE_PAGERDUTY_URL", http.url("/pagerduty"))
        monkeypatch.setenv("GOVERNANCE_PAGERDUTY_ROUTING_KEY", "routing-key")
        with FakeOpenAI(wrong_enum) as bad:
            run_and_look(bad)
        monkeypatch.setenv("GOVERNANCE_MODEL", "better-model")  # another model: all rows due
        with FakeOpenAI(triage) as dead:
            dead.down = True
            run_and_look(dead)
        with store.connect(demo_db, read_only=True) as con:
            still_open = con.execute(
                "SELECT count(*) FROM governance.incident WHERE check_name = "
                "'sla_triage_compliance' AND closed_at IS NULL"
            ).fetchone()[0]
        assert still_open == 1
        actions = [(r.json["dedup_key"], r.json["event_action"]) for r in http.at("/pagerduty")]
        assert ("support_triage:sla_triage_compliance", "resolve") not in actions
        with FakeOpenAI(triage) as good:
            run_and_look(good)
            rerun = run_and_look(good)  # nothing due: no call of its own
        actions = [(r.json["dedup_key"], r.json["event_action"]) for r in http.at("/pagerduty")]
    assert actions.count(("support_triage:sla_triage_compliance", "resolve")) == 1
    latency = next(
        e for e in rerun.get_asset_check_evaluations() if e.check_name == "sla_triage_latency_p50"
    )
    assert latency.metadata["sample_size"].value == 0
    assert latency.metadata["state"].value == SlaState.NO_DATA.value
    # the terminal report of that run calls it by the word the Dagster UI shows
    with store.connect(demo_db, read_only=True) as con:
        recorded = verdicts_of(con, "support_triage", rerun.run_id)
    console = Console(width=80, record=True)
    console.print(sla_table(recorded))
    row = next(
        line for line in console.export_text().splitlines() if line.startswith("triage-latency-p50")
    )
    assert row.split()[-2] == latency.metadata["state"].value
    assert latency.description is not None and ": no_data" in latency.description
