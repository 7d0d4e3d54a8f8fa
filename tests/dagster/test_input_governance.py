"""Input governance in a Dagster run: bad landing data is quarantined with reasons, and a
batch-level failure (here schema drift) fails the blocking `input_batch` check, so the run
stops before any model call; the check says which columns drifted."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from governance_pipeline import spec, store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.inputs import stages
from governance_pipeline.llm.endpoint import resolve_endpoint
from governance_pipeline.settings import Settings
from tests.conftest import SPEC_DIR
from tests.fake_openai import FakeOpenAI

JOB = "support_triage"


def test_schema_drift_stops_the_run_before_any_model_call(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    with store.connect(demo_db) as con:
        con.execute("ALTER TABLE raw.support_tickets ADD COLUMN priority VARCHAR")
        con.execute("ALTER TABLE raw.support_tickets DROP COLUMN channel")
    defs = definitions_for(load_specs(SPEC_DIR), str(demo_db))
    result = defs.resolve_job_def(f"{JOB}_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    batch = checks["input_batch"]
    assert batch.passed is False
    assert batch.description is not None
    assert "missing column(s) channel; new column(s) priority" in batch.description
    assert endpoint_env.calls == 0
    assert "no_pii" not in checks  # model_input never ran


def test_bad_rows_are_quarantined_with_reasons_and_none_is_lost(env: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    resolved = spec.load(SPEC_DIR / f"{JOB}.yaml")
    with store.connect(env) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute(
            "CREATE TABLE raw.support_tickets (ticket_id BIGINT, created_at VARCHAR, "
            "channel VARCHAR, customer_name VARCHAR, subject VARCHAR, body BLOB)"
        )
        rows = [
            (1, "2026-01-05T09:30:00Z", "email", "Ann Lee", "ok", b"Card 4111 1111 1111 1111"),
            (2, None, "chat", None, None, b"no date"),
            (3, "yesterday", "fax", None, "s", b"bad date and channel"),
            (4, "2026-01-05", "web", None, "s", b"bad \xff\xfe bytes"),
            (5, "2026-01-05", "web", None, "bell\x07", b"control in subject"),
            (6, "2026-01-05", "web", None, "s", b"y" * 1_000_000),
            (7, "2026-01-05", "web", None, "s", None),
            (0, "2026-01-05", "web", None, "s", b"id below 1"),
        ]
        con.executemany("INSERT INTO raw.support_tickets VALUES (?, ?, ?, ?, ?, ?)", rows)
        endpoint = resolve_endpoint(Settings())
        figures = stages.validate_input(con, resolved, "run-bad", endpoint)
        reasons = dict(
            con.execute(
                f"SELECT ticket_id, expectations FROM {JOB}.input_quarantine WHERE run_id = ?",
                ["run-bad"],
            ).fetchall()
        )
        validated = con.execute(f"SELECT ticket_id FROM {JOB}.validated_input").fetchall()
    assert figures["rows_in"] == len(rows) == len(reasons) + len(validated)
    assert validated == [(1,)]
    assert reasons == {
        2: "input.created_at.required",
        3: "input.created_at.type,input.channel.allowed",
        4: "input.body.text",
        5: "input.subject.text",
        6: "input.body.length",
        7: "input.body.required",
        0: "input.ticket_id.between",
    }
    assert figures["batch_failures"] == []
