"""The store while a run is calling the model: others get their turn, and Dagster queues runs.

Why it matters: the LLM stage of a production run lasts minutes or hours. When it held the
DuckDB file throughout, the `governance_alerts` sensor, `govern report`, `govern ui`'s assets
and a read-only DuckDB shell all failed or waited for the whole stage. Now the stage opens the
store per commit (`llm.call_log`). `govern run` runs here as a real process against a fake
server that answers slowly until the test has done its checks, so the run is in its LLM stage,
committing answers, throughout them.

Two runs on one store would only wait for each other's writes, so the governed jobs carry the
store's tag and the dagster.yaml `govern` writes lets Dagster's run queue start one per store.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from governance_pipeline import store
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.dagster.resources import GovernanceStore
from governance_pipeline.settings import STORE_TAG, dagster_home, store_tag
from tests.conftest import PROJECT_ROOT, SPEC_DIR, triage
from tests.fake_openai import FakeOpenAI

JOB = "support_triage"
GOVERN = [sys.executable, "-c", "from governance_pipeline.cli import app; app()"]
PEEK = """
import sys, time, duckdb
for attempt in range(100):
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        break
    except duckdb.IOException:
        time.sleep(0.05)
print(attempt, con.execute("SELECT count(*) FROM support_triage.row_ledger").fetchone()[0])
"""


def govern(db: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*GOVERN, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "GOVERNANCE_DB": str(db), "COLUMNS": "200", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_sensor_govern_report_and_a_shell_work_while_a_run_calls_the_model(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNANCE_STORE_WAIT_S", "20")  # held for the stage: fail, not hang
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    dagster_home()
    instance = dg.DagsterInstance.get()
    defs = definitions_for(load_specs(SPEC_DIR), str(demo_db))
    with FakeOpenAI(triage) as fast:  # run 1 publishes: `govern report` has a run to show
        monkeypatch.setenv("OPENAI_BASE_URL", fast.base_url)
        first = defs.resolve_job_def(f"{JOB}_job").execute_in_process(instance=instance)
    with store.connect(demo_db) as con:  # every row changes: run 2 has 36 calls to make
        con.execute("UPDATE raw.support_tickets SET body = body || ' Any news?'")

    released = threading.Event()

    def slow(body: dict) -> str:  # a trickle of answers, each one committed, until released
        released.wait(1.5)
        return triage(body)

    with FakeOpenAI(slow) as server:
        run = govern(
            demo_db,
            "run",
            JOB,
            env={"OPENAI_BASE_URL": server.base_url, "GOVERNANCE_STORE_WAIT_S": "20"},
        )
        try:
            deadline = time.monotonic() + 180
            while server.calls < 9 and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.calls >= 9, "the run never reached its LLM stage"

            start = time.monotonic()
            sensor = defs.resolve_sensor_def("governance_alerts")
            skipped = sensor(
                dg.build_sensor_context(
                    instance=instance, resources={"store": GovernanceStore(db_path=str(demo_db))}
                )
            )
            sensor_s = time.monotonic() - start
            report = govern(demo_db, "report", JOB, env={"GOVERNANCE_STORE_WAIT_S": "20"})
            report_out, _ = report.communicate(timeout=120)
            peek = subprocess.run(
                [sys.executable, "-c", PEEK, str(demo_db)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            in_llm_stage = run.poll() is None and server.calls < 36 + 4
        finally:
            released.set()
        out, _ = run.communicate(timeout=240)
    assert run.returncode == 0, out
    assert in_llm_stage  # every check above ran while the run was calling the model
    assert isinstance(skipped, dg.SkipReason) and "evaluation(s) seen" in str(skipped)
    assert sensor_s < 15
    assert report.returncode == 0, report_out
    assert first.run_id in report_out
    assert peek.returncode == 0 and peek.stdout.split()[1] == "40", peek.stdout + peek.stderr
    assert re.search(r"scope: \d+ in scope \(\d+ changed\)", out), out  # NULL bodies stay


def test_governed_jobs_are_queued_one_run_per_store(tmp_path: Path) -> None:
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    db = tmp_path / "store.duckdb"
    job = definitions_for(load_specs(SPEC_DIR), str(db)).resolve_job_def(f"{JOB}_job")
    assert job.tags[STORE_TAG] == store_tag(db)
    assert store_tag(db) != store_tag(tmp_path / "other" / "store.duckdb")

    dagster_home()
    limits = dg.DagsterInstance.get().get_concurrency_config().run_queue_config
    assert limits is not None

    def run(store_value: str) -> dg.DagsterRun:
        return dg.DagsterRun(job_name=f"{JOB}_job", tags={STORE_TAG: store_value})

    counter = TagConcurrencyLimitsCounter(limits.tag_concurrency_limits, [run(store_tag(db))])
    assert counter.is_blocked(run(store_tag(db)))  # the same store: it waits in the queue
    assert not counter.is_blocked(run(store_tag(tmp_path / "other.duckdb")))
