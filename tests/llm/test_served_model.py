"""Which model answered: an alias such as `gpt-4o-mini` is served by a dated snapshot that
changes under it, so each call keeps the `model` the response names and its
`system_fingerprint`, and the run summary says which answered. A cached row was not answered
by this run, so it names no served model (the rerun of a run that failed after its LLM stage
finds every answer in the cache)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from governance_pipeline import store
from governance_pipeline.llm.served import served_models
from governance_pipeline.outputs import outcomes
from governance_pipeline.sla.report import render
from governance_pipeline.sla.summary import summarize
from governance_pipeline.store import runs
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import endpoint_for, prepare, run_stage, triage_spec

SNAPSHOT, FINGERPRINT = "gpt-4o-mini-2024-07-18", "fp_44709d6fcb"


def test_each_call_keeps_the_served_model_and_fingerprint(demo_db: Path) -> None:
    spec = triage_spec()
    with FakeOpenAI(triage) as server:
        server.served_model, server.system_fingerprint = SNAPSHOT, FINGERPRINT
        endpoint = endpoint_for(server.base_url)
        prepare(demo_db, spec, endpoint)
        run_stage(demo_db, spec, endpoint)
        with store.connect(demo_db) as con:  # failed before its ledger: its rows stay due
            runs.finish(con, "run-1", runs.RunStatus.FAILED, "stopped after its LLM stage")
        prepare(demo_db, spec, endpoint, run_id="run-2")
        run_stage(demo_db, spec, endpoint, run_id="run-2")  # every row from the cache
    with store.connect(demo_db) as con:
        first = con.execute(
            "SELECT DISTINCT model, served_model, system_fingerprint FROM support_triage.llm_call "
            "WHERE run_id = 'run-1'"
        ).fetchall()
        cached = con.execute(
            "SELECT DISTINCT status, served_model FROM support_triage.llm_call "
            "WHERE run_id = 'run-2'"
        ).fetchall()
        runs.start(con, "support_triage", "run-1", spec.spec_hash, endpoint.describe())
        outcomes.write_ledger(con, spec, "run-1")
        summary = summarize(con, "support_triage", "run-1")
    assert first == [("gpt-4o-mini", SNAPSHOT, FINGERPRINT)]  # asked for the alias
    assert cached == [("cached", None)]
    assert summary.served_by == [(SNAPSHOT, FINGERPRINT, 36)]
    console = Console(record=True, width=200)
    render(summary, console, demo_db)
    assert f"answered by: {SNAPSHOT} ({FINGERPRINT}) x36" in console.export_text()


def test_a_new_snapshot_between_runs_is_noticed_and_named(demo_db: Path) -> None:
    """The alias stays `gpt-4o-mini`; the snapshot behind it changes between two runs that
    call the model (the second asks anew: a changed temperature is a new request)."""
    spec, warmer = triage_spec(), triage_spec(temperature=0.3)
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url)
        server.served_model, server.system_fingerprint = SNAPSHOT, FINGERPRINT
        prepare(demo_db, spec, endpoint)
        run_stage(demo_db, spec, endpoint)
        with store.connect(demo_db) as con:
            first_run = served_models(con, "support_triage", "run-1")
            runs.finish(con, "run-1", runs.RunStatus.SUCCEEDED)
        server.served_model, server.system_fingerprint = "gpt-4o-mini-2026-11-20", "fp_new"
        prepare(demo_db, warmer, endpoint, run_id="run-2")  # the spec changed: rows are due
        run_stage(demo_db, warmer, endpoint, run_id="run-2")
    with store.connect(demo_db) as con:
        second = served_models(con, "support_triage", "run-2")
    assert not first_run.changed and "no earlier run" in first_run.describe()
    assert second.changed and second.before_run == "run-1"
    words = second.describe()
    assert f"{SNAPSHOT} ({FINGERPRINT}) in run run-1" in words
    assert "now gpt-4o-mini-2026-11-20 (fp_new)" in words
