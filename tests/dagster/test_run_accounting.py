"""Run accounting that overlapping runs, odd rows and failing steps cannot break.

What the project promises most: every raw row of a run ends in exactly one ledger row, under
that run's own id, and every run is closed (`succeeded`, `blocked`, `failed`, or `abandoned` when
its process died). Each case below once broke one of those promises:

- two `govern run` of one job, overlapping: the later run's id captured the earlier run's
  later stages, which wrote no ledger and stayed `running`;
- a raw row with a NULL key never matched the ledger's join, and two rows sharing a key became
  one ledger row;
- a step that raised, or a failed blocking check other than an SLA, left the run `running`
  and `govern run` exited 0; a run killed with -9 stayed `running` for ever.

The far end is a fake OpenAI-compatible server on 127.0.0.1; `govern` runs as a real process
where the case is about processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from governance_pipeline import spec, store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from tests.conftest import PROJECT_ROOT, SPEC_DIR, triage
from tests.fake_openai import FakeOpenAI

JOB = "support_triage"
SLAS = len(spec.load(SPEC_DIR / f"{JOB}.yaml").slas)
GOVERN = [sys.executable, "-c", "from governance_pipeline.cli import app; app()"]


def materialise(
    db: Path,
    spec_dir: Path = SPEC_DIR,
    selection: list[str] | None = None,
    run_id: str | None = None,
) -> dg.ExecuteInProcessResult:
    defs = definitions_for(load_specs(spec_dir), str(db))
    job = defs.resolve_job_def(f"{JOB}_job")
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        asset_selection=[dg.AssetKey([JOB, s]) for s in selection] if selection else None,
        run_id=run_id,
    )


def run_row(db: Path, run_id: str) -> tuple[str, str | None]:
    with store.connect(db, read_only=True) as con:
        row = con.execute(
            "SELECT status, reason FROM governance.run WHERE run_id = ?", [run_id]
        ).fetchone()
    assert row is not None, f"run {run_id} is not in governance.run"
    return row[0], row[1]


def govern(db: Path, *args: str, **kwargs) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GOVERNANCE_DB": str(db), "COLUMNS": "200", **kwargs.pop("env", {})}
    return subprocess.Popen(
        [*GOVERN, *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_null_and_shared_keys_are_quarantined_and_every_raw_row_is_in_the_ledger(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    with store.connect(demo_db) as con:
        # two rows without a key, and three rows sharing ticket 7 (the original and two copies)
        con.execute(
            "INSERT INTO raw.support_tickets SELECT * REPLACE (NULL AS ticket_id) "
            "FROM raw.support_tickets WHERE ticket_id IN (1, 2)"
        )
        con.execute(
            "INSERT INTO raw.support_tickets SELECT * FROM raw.support_tickets WHERE ticket_id = 7"
        )
        con.execute(
            "INSERT INTO raw.support_tickets SELECT * REPLACE ('again' AS subject) "
            "FROM raw.support_tickets WHERE ticket_id = 7 LIMIT 1"
        )
        raw = con.execute("SELECT count(*) FROM raw.support_tickets").fetchone()[0]
    assert raw == 44
    result = materialise(demo_db)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["ledger_complete"]
    with store.connect(demo_db) as con:
        ledger = con.execute(
            f"SELECT ticket_id, source_row, disposition, reason FROM {JOB}.row_ledger "
            "WHERE run_id = ?",
            [result.run_id],
        ).fetchall()
        published = con.execute(f"SELECT count(*) FROM {JOB}.enriched").fetchone()[0]
        sla_rows = con.execute(
            f"SELECT count(*) FROM {JOB}.sla_result WHERE run_id = ?", [result.run_id]
        ).fetchone()[0]
    assert len(ledger) == raw
    assert not [r for r in ledger if r[2] == "unprocessed"]
    unkeyed = [r for r in ledger if r[0] is None]
    assert len(unkeyed) == 2
    assert all(d == "input_quarantined" and "input.key.null" in why for _, _, d, why in unkeyed)
    shared = [r for r in ledger if r[0] == 7]
    assert len(shared) == 3
    assert all(
        d == "input_quarantined" and "input.key.duplicate" in why and "3 rows" in why
        for _, _, d, why in shared
    )
    # rows that their key cannot tell apart are told apart by their position
    positions = [pos for _, pos, _, _ in unkeyed + shared]
    assert None not in positions and len(set(positions)) == 5
    assert published > 0 and sla_rows > 0
    assert run_row(demo_db, result.run_id)[0] == "succeeded"


def test_a_failed_ledger_check_fails_and_closes_the_run(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    """A call record lost between the LLM stage and the ledger leaves a row with no outcome:
    the blocking ledger check fails, and that is a failed run, not a blocked publication.

    The run is played in two halves under one run id (two Dagster instances), with one
    `llm_call` row deleted in between."""
    run_id = str(uuid.uuid4())
    first = ["validated_input", "input_quarantine", "model_input", "llm_call"]
    assert materialise(demo_db, selection=first, run_id=run_id).success
    with store.connect(demo_db) as con:
        con.execute(
            f"DELETE FROM {JOB}.llm_call WHERE run_id = ? AND ticket_id = "
            f"(SELECT min(ticket_id) FROM {JOB}.llm_call WHERE run_id = ?)",
            [run_id, run_id],
        )
    rest = ["staged_output", "output_quarantine", "row_ledger", "sla_result", "enriched"]
    result = materialise(demo_db, selection=rest, run_id=run_id)
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["ledger_complete"] is False
    status, reason = run_row(demo_db, run_id)
    assert status == "failed"
    assert reason is not None and "ledger_complete" in reason and "1 rows" in reason


def test_a_failed_batch_check_fails_the_run_and_govern_run_exits_1(
    demo_db: Path, endpoint_env: FakeOpenAI
) -> None:
    """Schema drift fails the blocking `input_batch` check: not a blocked publication but a
    failed run, closed as such, and `govern run` exits 1 before any model call."""
    with store.connect(demo_db) as con:
        con.execute("ALTER TABLE raw.support_tickets DROP COLUMN channel")
    cli = govern(demo_db, "run", JOB, env={"OPENAI_BASE_URL": endpoint_env.base_url})
    out, _ = cli.communicate(timeout=240)
    assert cli.returncode == 1, out
    assert "run failed" in out and "input_batch" in out
    with store.connect(demo_db, read_only=True) as con:
        status, reason = con.execute("SELECT status, reason FROM governance.run").fetchone()
    assert status == "failed" and "missing column(s) channel" in reason
    assert endpoint_env.calls == 0


def test_a_step_that_raises_fails_and_closes_the_run(
    demo_db: Path, tmp_path: Path, endpoint_env: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model-input step raises (a hash operator without its key): the run is `failed`
    with the cause, and `govern run` says so and exits 1."""
    monkeypatch.delenv("GOVERNANCE_HASH_KEY", raising=False)
    for name in ("platform.yaml", f"{JOB}.yaml"):
        text = (SPEC_DIR / name).read_text()
        if name != "platform.yaml":
            marker = "redaction:\n"
            assert marker in text
            text = text.replace(
                marker, marker + "  operators:\n    - {type: hash, entities: [EMAIL]}\n", 1
            )
        (tmp_path / name).write_text(text)
    result = materialise(demo_db, spec_dir=tmp_path)
    assert not result.success
    status, reason = run_row(demo_db, result.run_id)
    assert status == "failed" and "GOVERNANCE_HASH_KEY" in (reason or "")

    cli = govern(demo_db, "run", JOB, env={"GOVERNANCE_SPEC_DIR": str(tmp_path)})
    out, _ = cli.communicate(timeout=240)
    assert cli.returncode == 1, out
    assert "run failed" in out and "GOVERNANCE_HASH_KEY" in out
    assert endpoint_env.calls == 0
    with store.connect(demo_db, read_only=True) as con:
        open_runs = con.execute(
            "SELECT count(*) FROM governance.run WHERE status = 'running'"
        ).fetchone()[0]
    assert open_runs == 0


def _slow_triage(body: dict) -> str:
    time.sleep(0.15)
    return triage(body)


def test_two_overlapping_runs_keep_their_own_ids(demo_db: Path, tmp_path: Path) -> None:
    """Two `govern run` of one job on one store, overlapping (Dagster's run queue would keep
    them apart; in-process runs are not queued): each writes under its own id, and together
    they process each row once: the later one finds the rows claimed by the earlier run, or
    already settled by it."""
    with FakeOpenAI(_slow_triage) as server:
        env = {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test",
            "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
        }
        first = govern(demo_db, "run", JOB, env=env)
        time.sleep(2)
        second = govern(demo_db, "run", JOB, env=env)
        outs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    assert server.calls == 36  # each valid row called once
    with store.connect(demo_db, read_only=True) as con:
        runs = con.execute(
            "SELECT run_id, status, summary->>'$.scope.skipped', summary->>'$.scope.unchanged' "
            "FROM governance.run WHERE job = ? ORDER BY started_at",
            [JOB],
        ).fetchall()
        assert [s for _, s, _, _ in runs] == ["succeeded", "succeeded"]
        ledgers, calls = [], 0
        for run_id, _, _, _ in runs:
            ledgers.append(
                con.execute(
                    f"SELECT count(*), count(DISTINCT ticket_id) FROM {JOB}.row_ledger "
                    "WHERE run_id = ?",
                    [run_id],
                ).fetchone()
            )
            calls += con.execute(
                f"SELECT count(*) FROM {JOB}.llm_call WHERE run_id = ?", [run_id]
            ).fetchone()[0]
            slas = con.execute(
                f"SELECT count(*) FROM {JOB}.sla_result WHERE run_id = ?", [run_id]
            ).fetchone()[0]
            assert slas == SLAS, run_id  # no stage wrote under the other's id
        assert sorted(ledgers) == [(0, 0), (40, 40)]
        assert calls == 36
        idle = next(r for r, ledger in zip(runs, ledgers, strict=True) if ledger == (0, 0))
        assert int(idle[2]) + int(idle[3]) == 40  # claimed by the other run, or settled by it
        stray = con.execute(
            f"SELECT count(*) FROM {JOB}.row_ledger WHERE run_id NOT IN "
            "(SELECT run_id FROM governance.run)"
        ).fetchone()[0]
        assert stray == 0


def test_a_run_killed_with_9_is_marked_abandoned_by_the_next(demo_db: Path) -> None:
    with FakeOpenAI(_slow_triage) as server:
        env = {
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-test",
            "DAGSTER_HOME": os.environ["DAGSTER_HOME"],
        }
        doomed = govern(demo_db, "run", JOB, env=env, start_new_session=True)
        deadline = time.monotonic() + 120
        while server.calls < 3 and doomed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
        with store.connect(demo_db, read_only=True) as con:
            (killed,) = con.execute(
                "SELECT run_id FROM governance.run WHERE status = 'running'"
            ).fetchone()
        after = govern(demo_db, "run", JOB, env=env)
        out, _ = after.communicate(timeout=300)
    assert after.returncode == 0, out
    status, reason = run_row(demo_db, killed)
    assert status == "abandoned"
    assert reason is not None and "ended without closing it" in reason
