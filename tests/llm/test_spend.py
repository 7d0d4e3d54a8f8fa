"""Tests for a job's daily caps (``spend``, ``budget``): shared by its runs through the store.

Why these cases matter: a per-run budget caps one run, but a job that runs hourly, or a
backfill of thirty partitions, spends thirty times it in a day. The day's cap must hold over
every run of the job together, parallel ones too, must count a run that died with the lease it
took (it may have spent it), and must say which cap stopped a row.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from governance_pipeline import store
from governance_pipeline.llm.spend import DailySpend
from governance_pipeline.spec.models import Budget
from tests.conftest import triage
from tests.fake_openai import FakeOpenAI
from tests.stage_helpers import endpoint_for, prepare, run_stage, triage_spec, with_job

DAY = date(2026, 12, 2)
PRICES = {"gpt-4o-mini": {"input": 0.01, "output": 0.05}}  # about $0.016 a row at worst
ROWS = 36
PROJECT = Path(__file__).resolve().parents[2]


def spend(db: Path, run_id: str, cap: float) -> DailySpend:
    return DailySpend(store.opener(db), "support_triage", run_id, max_cost_usd=cap, day=DAY)


def test_runs_of_a_day_share_its_cap(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    first, second = spend(db, "run-a", 1.0), spend(db, "run-b", 1.0)
    assert first.reserve(0, 0.6) is None
    why = second.reserve(0, 0.5)  # 0.6 is leased by a run whose stage has not ended
    assert why is not None and "daily cap of 1 USD for 2026-12-02" in why
    first.settle((0, 0.6), (0, 0.3))  # it used half of it
    first.close()
    assert second.reserve(0, 0.5) is None  # the rest of its lease went back to the day
    assert second.reserve(0, 0.15) is None
    assert second.reserve(0, 0.1) is not None  # 0.3 + 0.5 + 0.15 + 0.1 > 1


def test_a_run_that_died_counts_with_its_whole_lease(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    dead = spend(db, "run-dead", 1.0)
    assert dead.reserve(0, 0.9) is None  # then killed: never closed
    assert spend(db, "run-next", 1.0).reserve(0, 0.2) is not None


def test_another_day_or_job_has_its_own_cap(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    assert spend(db, "run-a", 1.0).reserve(0, 1.0) is None
    other_day = DailySpend(
        store.opener(db), "support_triage", "run-b", max_cost_usd=1.0, day=date(2026, 12, 3)
    )
    other_job = DailySpend(store.opener(db), "other_job", "run-c", max_cost_usd=1.0, day=DAY)
    assert other_day.reserve(0, 1.0) is None and other_job.reserve(0, 1.0) is None


def test_the_day_caps_the_jobs_runs_and_names_the_cap(demo_db: Path) -> None:
    cap = 0.3
    spec = with_job(triage_spec(concurrency=4), budget=Budget(max_cost_usd_per_day=cap))
    with FakeOpenAI(triage) as server:
        endpoint = endpoint_for(server.base_url, prices=PRICES)
        prepare(demo_db, spec, endpoint)
        first = run_stage(demo_db, spec, endpoint)
        prepare(demo_db, spec, endpoint, run_id="run-2", validate=False)
        second = run_stage(demo_db, spec, endpoint, run_id="run-2")
    assert 0 < first["by_status"]["ok"] < ROWS
    assert second["calls_made"] == 0 or second["by_status"].get("ok", 0) <= 1
    assert first["cost_usd"] + second["cost_usd"] <= cap
    with store.connect(demo_db) as con:
        reasons = con.execute(
            "SELECT DISTINCT error FROM support_triage.llm_call WHERE status = 'over_budget'"
        ).fetchall()
        used = con.execute("SELECT sum(cost_used) FROM governance.spend").fetchone()
    assert len(reasons) >= 1 and all("the job's daily cap of 0.3 USD" in r for (r,) in reasons)
    assert used is not None and used[0] <= cap


SPENDER = """
import sys
from datetime import date
from governance_pipeline import store
from governance_pipeline.llm.spend import DailySpend

spend = DailySpend(store.opener(sys.argv[1]), "support_triage", sys.argv[2], max_cost_usd=1.0,
                   day=date(2026, 12, 2))
granted = 0
while spend.reserve(0, 0.001) is None:
    granted += 1
spend.close()
print(granted)
"""


def test_processes_spending_at_once_keep_to_the_day_together(tmp_path: Path) -> None:
    """Three processes on one store reserve $0.001 at a time until refused: together they
    are granted the day's $1 at most, and close to all of it."""
    db = tmp_path / "store.duckdb"
    with store.connect(db):
        pass  # the shared schema, before three processes race to make it
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", SPENDER, str(db), f"run-{i}"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
        )
        for i in range(3)
    ]
    granted = [int(w.communicate(timeout=120)[0]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert 950 <= sum(granted) <= 1000
    with store.connect(db) as con:
        used = con.execute("SELECT sum(cost_used) FROM governance.spend").fetchone()
    assert used is not None and used[0] <= 1.0 + 1e-9


def test_the_contract_document_states_the_daily_cap() -> None:
    from governance_pipeline.spec.contract_doc import render_markdown

    spec = with_job(triage_spec(), budget=Budget(max_cost_usd=2.0, max_cost_usd_per_day=25.0))
    text = render_markdown(spec)
    assert "Budget per run: $2" in text
    assert "Budget per day (UTC), all the job's runs together: $25" in text
