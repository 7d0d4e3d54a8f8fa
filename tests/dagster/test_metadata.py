"""What the Dagster UI shows must be what DuckDB holds: the ledger's counts after the
publication gate (a blocked run once showed `enriched: 26` where DuckDB said `withheld 26`),
each table's column schema and row count, output quarantine broken down by rule, the run's
tags (spec hash, model, instructions), and numbers a person can read."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from governance_pipeline import store
from governance_pipeline.dagster.common import rounded
from tests.conftest import triage
from tests.dagster.test_job import JOB, materialise
from tests.fake_openai import FakeOpenAI


def half_wrong(body: dict) -> str:
    answer = json.loads(triage(body))
    if answer["category"] in ("billing", "shipping", "bug", "account"):
        answer["category"] = "refunds"
    return json.dumps(answer)


def latest(instance: dg.DagsterInstance, stage: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey([JOB, stage]))
    assert event is not None and event.asset_materialization is not None, stage
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_the_ui_tells_what_duckdb_holds_after_a_blocked_publication(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    with FakeOpenAI(half_wrong) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = materialise(demo_db, instance)
    assert not result.success  # the blocking compliance SLA withheld publication
    with store.connect(demo_db, read_only=True) as con:
        counts = dict(
            con.execute(
                f"SELECT disposition, count(*) FROM {JOB}.row_ledger WHERE run_id = ? GROUP BY 1",
                [result.run_id],
            ).fetchall()
        )
        by_rule = dict(
            con.execute(
                "SELECT rule, count(*) FROM (SELECT unnest(string_split(rules, ',')) AS rule "
                f"FROM {JOB}.output_quarantine WHERE run_id = ?) GROUP BY 1",
                [result.run_id],
            ).fetchall()
        )
        columns = [r[0] for r in con.execute(f"DESCRIBE {JOB}.row_ledger").fetchall()]
    assert counts.get("withheld", 0) > 0 and "enriched" not in counts
    ledger = latest(instance, "row_ledger")
    assert ledger["by_disposition"] == counts
    assert [c.name for c in ledger["dagster/column_schema"].columns] == columns
    assert ledger["dagster/row_count"] == sum(counts.values())
    assert latest(instance, "output_quarantine")["quarantined_by_rule"] == by_rule
    for stage in ("validated_input", "input_quarantine", "model_input", "llm_call"):
        assert "dagster/column_schema" in latest(instance, stage), stage
    tags = instance.get_run_by_id(result.run_id).tags
    assert len(tags["governance/spec_hash"]) == 16
    assert tags["governance/model"] and tags["governance/instructions"] == "none"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.12015020005205779, 0.1202), (13830.4, 13830), (2.5, 2.5), (0.0, 0.0), (-1234.6, -1235)],
)
def test_numbers_are_rounded_for_people(value: float, shown: float) -> None:
    assert rounded(value) == shown
