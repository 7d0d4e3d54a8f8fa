"""Partitioned jobs: a spec with `partitions:` runs one day of its source at a time.

Why these cases matter: a data team backfills a month and then runs yesterday every morning;
each day's ledger, SLA results and checks must be that day's, and no run may touch another
day's rows. The demo's 40 tickets are spread over three days (2026-11-28 to 30; the one with
an unparseable `created_at` is in no day), and a real Dagster run of one partition is checked
on the tables:

- a partition's run takes exactly that day's rows (its ledger holds the day's keys, counted
  from the source by Python, not by the SQL under test), and its run, materialisations and
  check evaluations carry the key;
- a second day's run leaves the first day's published rows as they were, and a rerun of a day
  processes nothing;
- `govern run --from/--to` runs each day in order and prints each summary; wrong keys and a
  job without partitions are refused in one line;
- the definitions partition every asset and check, and the schedule asks for the latest day.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from governance_pipeline import store
from governance_pipeline.cli import app
from governance_pipeline.dagster.common import STAGES
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from governance_pipeline.dagster.partitions import keys_to_run
from tests.conftest import SPEC_DIR
from tests.fake_openai import FakeOpenAI

JOB = "support_triage"
DAYS = ("2026-11-28", "2026-11-29", "2026-11-30")
PARTITIONS = '{column: created_at, granularity: daily, start: "2026-11-01"}'


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's specs, with support_triage partitioned by day on created_at."""
    folder = tmp_path / "specs"
    shutil.copytree(SPEC_DIR, folder)
    path = folder / f"{JOB}.yaml"
    text = path.read_text()
    assert text.count("\nsource:\n") == 1
    path.write_text(text.replace("\nsource:\n", f"\npartitions: {PARTITIONS}\nsource:\n"))
    monkeypatch.setenv("GOVERNANCE_SPEC_DIR", str(folder))
    return folder


@pytest.fixture
def days_db(demo_db: Path) -> Path:
    """The demo tickets spread over three days, at times that test the window: its start is in
    and its end is out (midnight of the 29th is the 29th's), and an offset counts (1:00 on
    1 December at +02:00 is 23:00 on the 30th in UTC)."""
    with store.connect(demo_db) as con:
        con.execute(
            "UPDATE raw.support_tickets SET created_at = CASE ticket_id % 4 "
            "WHEN 0 THEN '2026-11-28T00:00:00Z' WHEN 1 THEN '2026-11-29T00:00:00Z' "
            "WHEN 2 THEN '2026-11-29T23:59:59Z' ELSE '2026-12-01T01:00:00+02:00' END "
            "WHERE TRY_CAST(created_at AS TIMESTAMP) IS NOT NULL"
        )
    return demo_db


def day_keys(db: Path) -> dict[str, set[int]]:
    """The source's keys by day, parsed here, independently of the SQL under test."""
    with store.connect(db, read_only=True) as con:
        rows = con.execute("SELECT ticket_id, created_at FROM raw.support_tickets").fetchall()
    days: dict[str, set[int]] = {}
    for key, text in rows:
        try:
            moment = datetime.fromisoformat(text)
        except (TypeError, ValueError):
            continue
        days.setdefault(moment.astimezone(UTC).date().isoformat(), set()).add(key)
    return days


def materialise(db: Path, specs: Path, key: str) -> dg.ExecuteInProcessResult:
    defs = definitions_for(load_specs(specs), str(db))
    return defs.resolve_job_def(f"{JOB}_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, partition_key=key
    )


def keys(con, table: str, run_id: str) -> set[int]:  # type: ignore[no-untyped-def]
    rows = con.execute(f"SELECT ticket_id FROM {JOB}.{table} WHERE run_id = ?", [run_id])
    return {k for (k,) in rows.fetchall()}


def test_a_partitions_run_takes_exactly_its_days_rows(
    days_db: Path, specs: Path, endpoint_env: FakeOpenAI
) -> None:
    by_day = day_keys(days_db)
    assert sorted(by_day) == list(DAYS) and all(len(k) >= 8 for k in by_day.values())
    result = materialise(days_db, specs, "2026-11-29")
    assert result.success
    with store.connect(days_db, read_only=True) as con:
        ledger = keys(con, "row_ledger", result.run_id)
        assert ledger == by_day["2026-11-29"]
        assert endpoint_env.calls == len(keys(con, "llm_call", result.run_id)) > 0
        run = con.execute(
            "SELECT partition_key, json_extract(summary, '$.scope') FROM governance.run "
            "WHERE run_id = ?",
            [result.run_id],
        ).fetchone()
        sla_runs = con.execute(f"SELECT DISTINCT run_id FROM {JOB}.sla_result").fetchall()
    assert run[0] == "2026-11-29"
    assert '"untimed":1' in run[1].replace(" ", "")  # the demo's unparseable created_at
    assert sla_runs == [(result.run_id,)]
    # Dagster knows the partition: every materialisation and every check evaluation
    materialised = result.get_asset_materialization_events()
    assert {e.materialization.asset_key.path[1] for e in materialised} == set(STAGES)
    assert {e.partition for e in materialised} == {"2026-11-29"}
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} >= {"input_batch", "no_pii", "ledger_complete"}
    assert {c.partition for c in checks} == {"2026-11-29"}


def test_another_day_keeps_the_first_days_rows_and_a_rerun_does_nothing(
    days_db: Path, specs: Path, endpoint_env: FakeOpenAI
) -> None:
    by_day = day_keys(days_db)
    first = materialise(days_db, specs, "2026-11-28")
    assert first.success
    with store.connect(days_db, read_only=True) as con:
        assert keys(con, "row_ledger", first.run_id) == by_day["2026-11-28"]
        published = con.execute(f"SELECT * FROM {JOB}.enriched ORDER BY ticket_id").fetchall()
    assert published and {row[0] for row in published} <= by_day["2026-11-28"]

    second = materialise(days_db, specs, "2026-11-30")
    assert second.success
    calls = endpoint_env.calls
    again = materialise(days_db, specs, "2026-11-30")
    assert again.success
    assert endpoint_env.calls == calls
    with store.connect(days_db, read_only=True) as con:
        assert keys(con, "row_ledger", second.run_id) == by_day["2026-11-30"]
        mine = con.execute(
            f"SELECT * FROM {JOB}.enriched WHERE run_id = ? ORDER BY ticket_id", [first.run_id]
        ).fetchall()
        assert mine == published  # the first day's rows, untouched by the second day's run
        assert keys(con, "enriched", second.run_id) <= by_day["2026-11-30"]
        assert keys(con, "row_ledger", again.run_id) == set()
        rollup = con.execute(
            f"SELECT partition_key, runs, ledger_rows, last_status, by_disposition "
            f"FROM {JOB}.partition_ledger ORDER BY 1"
        ).fetchall()
        (scope,) = con.execute(
            "SELECT json_extract(summary, '$.scope') FROM governance.run WHERE run_id = ?",
            [again.run_id],
        ).fetchone()
    assert f'"unchanged":{len(by_day["2026-11-30"])}' in scope.replace(" ", "")
    day28, day30 = (len(by_day[d]) for d in ("2026-11-28", "2026-11-30"))
    assert [r[:4] for r in rollup] == [
        ("2026-11-28", 1, day28, "succeeded"),
        ("2026-11-30", 2, day30, "succeeded"),  # the rerun took nothing
    ]
    assert sum(rollup[1][4].values()) == day30


def test_govern_run_from_to_runs_each_day_in_order(
    days_db: Path, specs: Path, endpoint_env: FakeOpenAI
) -> None:
    by_day = day_keys(days_db)
    result = CliRunner().invoke(
        app, ["run", JOB, "--from", DAYS[0], "--to", DAYS[-1]], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    for day in DAYS:
        assert f"of partition {day}" in words, result.output
    assert result.output.count("rows in:") == 3
    with store.connect(days_db, read_only=True) as con:
        runs = con.execute(
            "SELECT run_id, partition_key, status FROM governance.run WHERE job = ? "
            "ORDER BY started_at",
            [JOB],
        ).fetchall()
        ledgers = {key: keys(con, "row_ledger", run_id) for run_id, key, _ in runs}
    assert [(key, status) for _, key, status in runs] == [(d, "succeeded") for d in DAYS]
    assert ledgers == {d: by_day[d] for d in DAYS}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--partition", "2026-11-3"], "partition key '2026-11-3' is malformed"),
        (["--partition", "30/11/2026"], "daily keys look like 2026-11-30"),
        (["--partition", "2026-10-31"], "partition 2026-10-31 is before the job's start"),
        (["--partition", "2099-01-01"], "partition 2099-01-01 has not ended yet"),
        (["--from", "2026-11-30", "--to", "2026-11-28"], "--from 2026-11-30 is after --to"),
        (["--from", "2026-11-28"], "a range needs both ends"),
    ],
)
def test_govern_run_refuses_a_wrong_partition_in_one_line(
    env: Path, specs: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["run", JOB, *args], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in lines[0]
    if "before" in message or "not ended" in message:
        assert "valid: 2026-11-01 to " in lines[0]


def test_without_a_key_govern_run_takes_the_latest_day_that_has_ended(specs: Path) -> None:
    (job,) = [s for s in load_specs(specs) if s.name == JOB]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert keys_to_run(job) == [yesterday]
    assert keys_to_run(job, first="2026-11-28", last="2026-11-30") == list(DAYS)


def test_govern_run_refuses_a_partition_of_a_job_without_partitions(env: Path) -> None:
    result = CliRunner().invoke(app, ["run", JOB, "--partition", "2026-11-30"])
    assert result.exit_code == 1
    assert "has no partitions" in result.output and "--partition 2026-11-30" in result.output


def test_the_definitions_partition_the_job_and_schedule_its_latest_day(
    specs: Path, tmp_path: Path
) -> None:
    defs = definitions_for(load_specs(specs), str(tmp_path / "db.duckdb"))
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(f"{JOB}_job")
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)
    assert job.partitions_def.get_first_partition_key() == "2026-11-01"
    for stage in STAGES:
        assert graph.get(dg.AssetKey([JOB, stage])).partitions_def == job.partitions_def
    ours = [k for k in graph.asset_check_keys if k.asset_key.path[0] == JOB]
    assert ours and all(
        defs.resolve_assets_def(k.asset_key).get_spec_for_check_key(k).partitions_def
        == job.partitions_def
        for k in ours
    )
    other = graph.get(dg.AssetKey(["product_reviews", "enriched"]))
    assert other.partitions_def is None  # a spec without partitions is as before

    schedule = defs.resolve_schedule_def(f"{JOB}_schedule")
    assert schedule.job_name == f"{JOB}_job" and schedule.cron_schedule == "0 6 * * *"
    tick = datetime(2026, 12, 1, 6, tzinfo=UTC)
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick,
            repository_def=defs.get_repository_def(),
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert [(r.partition_key, r.run_key) for r in requests or []] == [("2026-11-30", "2026-11-30")]
