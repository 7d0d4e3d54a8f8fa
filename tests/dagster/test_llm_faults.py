"""The whole support_triage job, materialised by Dagster against a fake server that fails 20% of
requests with each fault kind: 429 with Retry-After, 500, a hang past the per-call timeout, a
dropped connection and a body cut short (about two requests in three fail).

Why it matters: this is the day the endpoint is having a bad time. The run must still complete,
give every input row exactly one disposition, write nothing twice, and account for every
attempt: the server saw exactly the attempts `llm_call` records.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from governance_pipeline import store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from tests.conftest import SPEC_DIR, triage
from tests.dagster.test_job import JOB, one
from tests.fake_openai import FakeOpenAI, Fault

KINDS = ("429", "500", "timeout", "drop", "malformed")


def resilient_specs(tmp_path: Path) -> Path:
    """platform.yaml and support_triage.yaml, with a short timeout and enough quick retries
    that a row fails only when 16 attempts in a row do (0.67^16: 0.2%)."""
    folder = tmp_path / "specs"
    folder.mkdir()
    platform = yaml.safe_load((SPEC_DIR / "platform.yaml").read_text())
    for sla in platform["slas"]:  # the test is about the run, not the endpoint's error rate
        if sla["metric"] == "error_rate":
            sla["max"] = 0.5
    (folder / "platform.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    job = yaml.safe_load((SPEC_DIR / "support_triage.yaml").read_text())
    job["model"].update(timeout_s=0.5, max_retries=15, backoff_s=0.01, concurrency=8)
    (folder / "support_triage.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
    return folder


def test_a_run_through_20_percent_of_each_fault_completes_and_accounts_for_every_row(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = [Fault(k, 0.2, retry_after=0.05 if k == "429" else None) for k in KINDS]
    with FakeOpenAI(triage, faults=faults, seed=11, hang_seconds=3) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        defs = definitions_for(load_specs(resilient_specs(tmp_path)), str(demo_db))
        result = defs.resolve_job_def(f"{JOB}_job").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
        attempts_seen = server.calls
    assert result.success
    run = result.run_id
    with store.connect(demo_db) as con:
        dispositions = dict(
            con.execute(
                f"SELECT disposition, count(*) FROM {JOB}.row_ledger WHERE run_id = ? GROUP BY 1",
                [run],
            ).fetchall()
        )
        keys = one(
            con, f"SELECT count(DISTINCT ticket_id) FROM {JOB}.row_ledger WHERE run_id = ?", run
        )
        calls, call_keys = con.execute(
            f"SELECT count(*), count(DISTINCT ticket_id) FROM {JOB}.llm_call WHERE run_id = ?",
            [run],
        ).fetchone()
        attempts = one(
            con,
            f"SELECT sum(attempt) FROM (SELECT DISTINCT request_hash, attempt FROM {JOB}.llm_call "
            "WHERE run_id = ?)",
            run,
        )
        cache = con.execute(
            "SELECT count(*), count(DISTINCT request_hash) FROM governance.llm_cache"
        ).fetchone()
        published = con.execute(
            f"SELECT count(*), count(DISTINCT ticket_id) FROM {JOB}.enriched"
        ).fetchone()
    assert sum(dispositions.values()) == keys == 40  # every row, once
    assert set(dispositions) <= {"enriched", "call_failed", "input_quarantined"}
    assert dispositions["input_quarantined"] == 4
    assert dispositions["enriched"] >= 30  # retries saved (nearly) every row
    assert calls == call_keys == 36  # one call record per row reaching the model
    assert cache[0] == cache[1] == dispositions["enriched"]  # each answer stored once
    assert published[0] == published[1] == dispositions["enriched"]
    assert attempts == attempts_seen > 2 * 36  # every attempt the server saw is recorded
