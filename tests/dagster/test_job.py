"""The whole support_triage job materialised by Dagster against a fake OpenAI-compatible server,
through the real openai client, on a temporary DuckDB file: the promises of DESIGN.md checked
on the tables themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import pytest

from governance_pipeline import store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.dagster.sensors import failure_text
from governance_pipeline.inputs.redaction import find_pii
from governance_pipeline.sla.summary import summarize
from tests.conftest import SPEC_DIR
from tests.fake_openai import FakeOpenAI

JOB = "support_triage"


def materialise(db: Path, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    defs = definitions_for(load_specs(SPEC_DIR), str(db))
    return defs.resolve_job_def(f"{JOB}_job").execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    return failure_text([e for e in result.all_events if e.is_step_failure])


def one(con, sql: str, *params):  # type: ignore[no-untyped-def]
    return con.execute(sql, list(params)).fetchone()[0]


def test_job_end_to_end(demo_db: Path, endpoint_env: FakeOpenAI) -> None:
    result = materialise(demo_db)
    assert result.success
    calls_first = endpoint_env.calls
    assert calls_first > 0
    with store.connect(demo_db) as con:
        run_id = result.run_id
        # every input row has exactly one ledger row
        assert one(con, "SELECT count(*) FROM raw.support_tickets") == 40
        assert one(con, f"SELECT count(*) FROM {JOB}.row_ledger WHERE run_id = ?", run_id) == 40
        assert (
            one(
                con,
                f"SELECT count(DISTINCT ticket_id) FROM {JOB}.row_ledger WHERE run_id = ?",
                run_id,
            )
            == 40
        )
        assert (
            one(con, f"SELECT count(*) FROM {JOB}.row_ledger WHERE disposition = 'unprocessed'")
            == 0
        )
        # every quarantined row has a reason, naming the rule
        reasons = con.execute(
            f"SELECT disposition, reason FROM {JOB}.row_ledger WHERE run_id = ? "
            "AND disposition <> 'enriched'",
            [run_id],
        ).fetchall()
        assert len(reasons) >= 4  # the demo's null, oversize, bad-date and bad-channel rows
        assert all(
            reason and reason.startswith("input.")
            for _, reason in reasons
            if _ == "input_quarantined"
        )
        assert (
            one(
                con,
                f"SELECT count(*) FROM {JOB}.input_quarantine WHERE reason IS NULL OR reason = ''",
            )
            == 0
        )
        # no detectable PII reaches the model: neither in model_input nor in what was sent
        for (data,) in con.execute(f"SELECT data FROM {JOB}.model_input").fetchall():
            assert not any(find_pii(v) for v in json.loads(data).values() if isinstance(v, str))
            # emails are replaced whole, never split by a name redacted inside them
            assert not re.search(r"@[\w-]+\.\w", data), data
        for request in endpoint_env.requests:
            assert not find_pii(request["messages"][-1]["content"])
        # the demo's customer names were found in the bodies and redacted
        assert one(con, f"SELECT count(*) FROM {JOB}.model_input WHERE data LIKE '%<NAME_1>%'") > 0
        # lineage: every enriched row points at its run, spec and cached response
        assert (
            one(
                con,
                f"SELECT count(*) FROM {JOB}.enriched e LEFT JOIN governance.llm_cache c "
                "USING (request_hash) WHERE c.request_hash IS NULL",
            )
            == 0
        )
        spec_hashes = con.execute(f"SELECT DISTINCT spec_hash FROM {JOB}.row_ledger").fetchall()
        assert len(spec_hashes) == 1
        assert one(con, "SELECT count(*) FROM governance.spec_version") == 1
    # the run's checks were evaluated, and passed on good outputs
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["no_pii"] and checks["ledger_complete"] and checks["sla_triage_compliance"]

    # a rerun with nothing changed has nothing due: no call, no ledger row, nothing republished
    with store.connect(demo_db, read_only=True) as con:
        before = con.execute(f"SELECT * FROM {JOB}.enriched ORDER BY ticket_id").fetchall()
    rerun = materialise(demo_db)
    assert rerun.success
    assert endpoint_env.calls == calls_first
    with store.connect(demo_db) as con:
        for table in ("llm_call", "model_input", "row_ledger", "validated_input"):
            assert (
                one(con, f"SELECT count(*) FROM {JOB}.{table} WHERE run_id = ?", rerun.run_id) == 0
            )
        scope = json.loads(
            one(con, "SELECT summary->'$.scope' FROM governance.run WHERE run_id = ?", rerun.run_id)
        )
        assert scope["unchanged"] == 40 and sum(scope.values()) == 40
        assert con.execute(f"SELECT * FROM {JOB}.enriched ORDER BY ticket_id").fetchall() == before
        assert one(con, "SELECT status FROM governance.run WHERE run_id = ?", rerun.run_id) == (
            "succeeded"
        )


def test_contract_catches_bad_outputs(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that answers with a wrong enum for some rows and leaks an email for others."""

    def sloppy(body: dict) -> str:
        content = body["messages"][-1]["content"]
        if "refund" in content.lower():
            return json.dumps(
                {
                    "category": "refunds",
                    "urgency": "high",
                    "sentiment": "negative",
                    "summary": "Wants money back.",
                }
            )
        if "ship" in content.lower():
            return json.dumps(
                {
                    "category": "shipping",
                    "urgency": "low",
                    "sentiment": "neutral",
                    "summary": "Write to jane.doe@example.com about it.",
                }
            )
        if "cancel" in content.lower():
            return "Sure! Here is the triage you asked for."
        return json.dumps(
            {"category": "other", "urgency": "low", "sentiment": "neutral", "summary": "A request."}
        )

    with FakeOpenAI(sloppy) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = materialise(demo_db)
    # a compliance breach is a blocking check, not a crash: the run fails before publication
    assert not result.success
    assert "blocking asset check" in failure_message(result)
    with store.connect(demo_db) as con:
        dispositions = dict(
            con.execute(f"SELECT disposition, count(*) FROM {JOB}.row_ledger GROUP BY 1").fetchall()
        )
        assert sum(dispositions.values()) == 40 and "unprocessed" not in dispositions
        assert dispositions["withheld"] > 0  # compliant rows, held back by the gate
        assert one(con, f"SELECT count(*) FROM {JOB}.enriched") == 0
        rows = dict(
            con.execute(
                f"SELECT rules, count(*) FROM {JOB}.output_quarantine GROUP BY 1"
            ).fetchall()
        )
        leaked = con.execute(
            f"SELECT output_redacted FROM {JOB}.output_quarantine "
            "WHERE rules LIKE '%no-pii-in-output%'"
        ).fetchall()
    assert any("output.category.enum" in r for r in rows)
    assert any("no-pii-in-output" in r for r in rows)
    assert any(r == "output.schema" for r in rows)
    assert leaked and all("@" not in text for (text,) in leaked)  # quarantine keeps no PII
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["sla_triage_compliance"] is False


def test_a_blocking_breach_keeps_the_previous_publication(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 1 publishes; run 2, on a worse model, breaches a blocking SLA: `enriched` keeps run
    1's rows, and run 2's compliant rows are `withheld` in the ledger, with the reason."""
    from tests.conftest import triage

    def worse(body: dict) -> str:
        answer = json.loads(triage(body))
        if answer["category"] in ("billing", "shipping", "bug"):
            answer["category"] = "refunds"
        return json.dumps(answer)

    with FakeOpenAI(triage) as good:
        monkeypatch.setenv("OPENAI_BASE_URL", good.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        first = materialise(demo_db)
    assert first.success
    with store.connect(demo_db) as con:
        published = con.execute(f"SELECT ticket_id, run_id FROM {JOB}.enriched").fetchall()
    assert published and {r for _, r in published} == {first.run_id}

    with FakeOpenAI(worse) as bad:
        monkeypatch.setenv("OPENAI_BASE_URL", bad.base_url)
        monkeypatch.setenv("GOVERNANCE_MODEL", "worse-model")  # another model: every row due
        second = materialise(demo_db)
    assert not second.success
    checks = {e.check_name: e.passed for e in second.get_asset_check_evaluations()}
    assert checks["sla_triage_compliance"] is False
    with store.connect(demo_db) as con:
        assert con.execute(f"SELECT ticket_id, run_id FROM {JOB}.enriched").fetchall() == published
        withheld = con.execute(
            f"SELECT reason FROM {JOB}.row_ledger WHERE run_id = ? AND disposition = 'withheld'",
            [second.run_id],
        ).fetchall()
        assert withheld
        assert all(
            r.startswith("publication blocked by ") and "triage-compliance" in r
            for (r,) in withheld
        )
        assert one(con, "SELECT status FROM governance.run WHERE run_id = ?", second.run_id) == (
            "blocked"
        )
        state = one(
            con,
            f"SELECT state FROM {JOB}.sla_result WHERE run_id = ? AND sla_id = 'triage-compliance'",
            second.run_id,
        )
        assert state == "breached"


def test_endpoint_down_ends_in_call_failed_not_a_crash(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    endpoint_env.down = True
    result = materialise(demo_db)
    assert result.success
    with store.connect(demo_db) as con:
        dispositions = dict(
            con.execute(f"SELECT disposition, count(*) FROM {JOB}.row_ledger GROUP BY 1").fetchall()
        )
        reason = one(
            con, f"SELECT any_value(reason) FROM {JOB}.row_ledger WHERE disposition = 'call_failed'"
        )
    assert sum(dispositions.values()) == 40
    assert dispositions["call_failed"] == 40 - dispositions["input_quarantined"]
    assert "InternalServerError" in reason or "CircuitOpen" in reason
    # the breaker stopped hammering the dead endpoint: far fewer requests than rows x attempts
    assert endpoint_env.calls < 40
    with store.connect(demo_db, read_only=True) as con:
        summary = summarize(con, JOB, result.run_id)
    # the figures tell requests sent, attempts and rows the breaker stopped apart
    assert summary.attempts == endpoint_env.calls
    assert summary.calls_made + summary.stopped_by_breaker == dispositions["call_failed"]
    assert summary.stopped_by_breaker > 0 and summary.cache_hits == 0
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["sla_error_rate"] is False


def test_missing_source_table_is_a_clear_spec_error(env: Path, endpoint_env: FakeOpenAI) -> None:
    result = materialise(env)
    assert not result.success
    message = failure_message(result)
    assert "support_triage.yaml" in message and "source.table" in message
    assert "raw.support_tickets does not exist" in message


def test_endpoint_dies_mid_run_and_the_ledger_stays_complete(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import triage

    def dies_after_five(body: dict) -> str:
        if len(server.requests) >= 5:
            server.down = True
        return triage(body)

    server = FakeOpenAI(dies_after_five)
    with server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = materialise(demo_db)
    assert result.success
    with store.connect(demo_db) as con:
        dispositions = dict(
            con.execute(f"SELECT disposition, count(*) FROM {JOB}.row_ledger GROUP BY 1").fetchall()
        )
        cached = one(con, "SELECT count(*) FROM governance.llm_cache")
    assert sum(dispositions.values()) == 40
    assert dispositions["enriched"] == cached == 5  # what was paid for is kept
    assert dispositions["call_failed"] == 40 - 5 - dispositions["input_quarantined"]


def test_a_late_scheduled_run_breaches_schedule_adherence(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    """The schedule's tick comes from Dagster's own run tag; 45 minutes late breaks the
    30-minute guideline (a WARN: the run still succeeds and publishes)."""
    from datetime import UTC, datetime, timedelta

    tick = (datetime.now(UTC) - timedelta(minutes=45)).isoformat()
    defs = definitions_for(load_specs(SPEC_DIR), str(demo_db))
    result = defs.resolve_job_def(f"{JOB}_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/scheduled_execution_time": tick},
        raise_on_error=False,
    )
    assert result.success
    check = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "sla_triage_on_schedule"
    )
    assert not check.passed and check.severity is dg.AssetCheckSeverity.WARN
    assert 44 < check.metadata["measured"].value < 47
    assert "window" in check.metadata and check.metadata["window"].value == "run"
