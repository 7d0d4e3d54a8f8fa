"""Incremental runs: a run processes what is new or changed since the last, not the whole source.

Why these cases matter: a production job runs every morning over a table that mostly did not
change. Each case is a promise of `inputs.scope` seen on the tables of a real Dagster run:

- a second run after 3 new rows and 2 edited ones validates, redacts, calls and records exactly
  those 5 (ledger, model input, calls), and its summary says so;
- a change to what a row's outcome depends on (a policy, the model) makes every row due, a
  change that does not (an SLA) leaves them alone;
- a blocked run's withheld rows were never published, so the next run takes them again;
- a run with nothing due succeeds with no ledger row and no call, and `govern run` says
  "nothing new".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from governance_pipeline import store
from governance_pipeline.cli import app
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.sla.summary import summarize
from tests.conftest import SPEC_DIR, triage
from tests.fake_openai import FakeOpenAI

JOB = "support_triage"


def materialise(db: Path, spec_dir: Path = SPEC_DIR) -> dg.ExecuteInProcessResult:
    defs = definitions_for(load_specs(spec_dir), str(db))
    return defs.resolve_job_def(f"{JOB}_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def keys(con, table: str, run_id: str) -> set[int]:  # type: ignore[no-untyped-def]
    rows = con.execute(f"SELECT ticket_id FROM {JOB}.{table} WHERE run_id = ?", [run_id])
    return {k for (k,) in rows.fetchall()}


def scope_of(con, run_id: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    (scope,) = con.execute(
        "SELECT summary->'$.scope' FROM governance.run WHERE run_id = ?", [run_id]
    ).fetchone()
    return {k: v for k, v in json.loads(scope).items() if v}


def test_a_second_run_processes_exactly_the_new_and_changed_rows(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    first = materialise(demo_db)
    assert first.success
    calls = endpoint_env.calls
    with store.connect(demo_db) as con:
        enriched = sorted(keys(con, "enriched", first.run_id))
        copied, edited = enriched[:3], enriched[3:5]
        con.execute(
            "INSERT INTO raw.support_tickets SELECT * REPLACE (ticket_id + 1000 AS ticket_id, "
            "body || ' (a follow-up)' AS body) FROM raw.support_tickets "
            "WHERE list_contains(?, ticket_id)",
            [copied],
        )
        con.execute(
            "UPDATE raw.support_tickets SET body = body || ' Any news?' "
            "WHERE list_contains(?, ticket_id)",
            [edited],
        )
    second = materialise(demo_db)
    assert second.success
    due = {k + 1000 for k in copied} | set(edited)
    with store.connect(demo_db, read_only=True) as con:
        for table in ("row_ledger", "validated_input", "model_input", "llm_call"):
            assert keys(con, table, second.run_id) == due, table
        assert scope_of(con, second.run_id) == {"new": 3, "changed": 2, "unchanged": 38}
        dispositions = con.execute(
            f"SELECT DISTINCT disposition FROM {JOB}.row_ledger WHERE run_id = ?", [second.run_id]
        ).fetchall()
        assert dispositions == [("enriched",)]
        # the published table: the 5 from this run, every other row still from the first
        published = dict(con.execute(f"SELECT ticket_id, run_id FROM {JOB}.enriched").fetchall())
        assert {k for k, r in published.items() if r == second.run_id} == due
        assert len(published) == len(enriched) + 3
        state = dict(
            con.execute(
                f"SELECT ticket_id, run_id FROM {JOB}.row_state WHERE list_contains(?, ticket_id)",
                [sorted(due)],
            ).fetchall()
        )
        assert state == dict.fromkeys(due, second.run_id)
        summary = summarize(con, JOB, second.run_id)
    assert endpoint_env.calls - calls == 5  # one request each, nothing else asked again
    assert summary.rows_in == 5 and summary.calls_made == 5
    assert summary.scope_summary == "5 in scope (3 new, 2 changed); 38 unchanged"


def _spec_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, folder)
    return folder


def _edit(folder: Path, old: str, new: str) -> None:
    path = folder / f"{JOB}.yaml"
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_a_policy_or_model_change_makes_every_row_due_an_sla_change_does_not(
    demo_db: Path, endpoint_env: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _spec_copy(tmp_path)
    assert materialise(demo_db, specs).success
    calls = endpoint_env.calls

    _edit(specs, "max: 5000\n", "max: 6000\n")  # an SLA: how a run is held, not what a row gets
    sla_changed = materialise(demo_db, specs)
    assert sla_changed.success and endpoint_env.calls == calls

    _edit(specs, "medium otherwise.", "medium otherwise; high for an outage.")  # a policy
    policy_changed = materialise(demo_db, specs)
    assert policy_changed.success
    assert endpoint_env.calls == calls + 36  # a new system prompt: every valid row asked again

    monkeypatch.setenv("GOVERNANCE_MODEL", "another-model")
    model_changed = materialise(demo_db, specs)
    assert model_changed.success
    with store.connect(demo_db, read_only=True) as con:
        assert scope_of(con, sla_changed.run_id) == {"unchanged": 40}
        assert keys(con, "row_ledger", sla_changed.run_id) == set()
        assert scope_of(con, policy_changed.run_id) == {"spec_changed": 40}
        assert len(keys(con, "row_ledger", policy_changed.run_id)) == 40
        assert scope_of(con, model_changed.run_id) == {"spec_changed": 40}
        assert len(keys(con, "llm_call", model_changed.run_id)) == 36


def test_a_blocked_runs_withheld_rows_are_due_next_run(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 1 breaches the blocking compliance SLA: its compliant rows are withheld, never
    published. Run 2 takes exactly those again (from the cache: same request), and publishes
    them; the rows whose output broke the contract stay settled (same spec, same model, same
    answer)."""

    def worse(body: dict) -> str:
        answer = json.loads(triage(body))
        if answer["category"] in ("billing", "shipping", "bug"):
            answer["category"] = "refunds"
        return json.dumps(answer)

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeOpenAI(worse) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        blocked = materialise(demo_db)
        assert not blocked.success
        with store.connect(demo_db, read_only=True) as con:
            ledger = dict(
                con.execute(
                    f"SELECT ticket_id, disposition FROM {JOB}.row_ledger WHERE run_id = ?",
                    [blocked.run_id],
                ).fetchall()
            )
        calls = server.calls
        retried = materialise(demo_db)
        assert retried.success
        assert server.calls == calls  # the withheld rows' answers are in the cache
    withheld = {k for k, d in ledger.items() if d == "withheld"}
    assert withheld and "output_quarantined" in ledger.values()
    with store.connect(demo_db, read_only=True) as con:
        assert keys(con, "row_ledger", retried.run_id) == withheld
        assert scope_of(con, retried.run_id) == {
            "retried": len(withheld),
            "unchanged": 40 - len(withheld),
        }
        assert keys(con, "enriched", retried.run_id) == withheld
        status = con.execute(
            "SELECT status FROM governance.run WHERE run_id = ?", [blocked.run_id]
        ).fetchone()
    assert status == ("blocked",)


def test_govern_run_with_nothing_due_says_so(demo_db: Path, endpoint_env: FakeOpenAI) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["run", JOB], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "scope: 40 in scope (40 new); 0 unchanged" in first.output
    calls = endpoint_env.calls
    again = runner.invoke(app, ["run", JOB], env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert "scope: nothing new: 40 rows unchanged" in again.output
    assert "rows in: 0" in again.output and "calls: 0 sent" in again.output
    assert endpoint_env.calls == calls


def test_a_run_with_nothing_due_keeps_the_published_table_fresh(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    """Freshness is the age of the published table: a run that finds nothing new confirms the
    table is current, so a quiet day is not stale; staleness before it still shows."""
    first = materialise(demo_db)
    with store.connect(demo_db) as con:  # the first run published 30 hours ago
        con.execute(f"UPDATE {JOB}.enriched SET enriched_at = enriched_at - INTERVAL 30 HOUR")
        con.execute(
            "UPDATE governance.run SET finished_at = finished_at - INTERVAL 30 HOUR "
            "WHERE run_id = ?",
            [first.run_id],
        )
    quiet = [materialise(demo_db) for _ in range(2)]

    def freshness(result: dg.ExecuteInProcessResult) -> float:
        check = next(
            e
            for e in result.get_asset_check_evaluations()
            if e.check_name == "sla_triage_freshness"
        )
        return check.metadata["measured"].value

    assert all(r.success for r in quiet)
    assert 29.9 < freshness(quiet[0]) < 30.5  # what consumers saw before it: 30 hours old
    assert freshness(quiet[1]) < 0.5  # the quiet run before it found the table current
