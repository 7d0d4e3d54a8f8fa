"""The whole Definitions load as `govern ui` loads them, and a new spec file is a new job."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from governance_pipeline.dagster.common import STAGES
from governance_pipeline.dagster.definitions import definitions_for, load_specs
from tests.conftest import SPEC_DIR


def test_workspace_definitions_load() -> None:
    from assets.definitions import defs  # what workspace.yaml loads

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"support_triage/{s}" for s in STAGES} <= keys
    assert "raw/support_tickets" in keys
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("support_triage/model_input", "no_pii") in checks
    assert ("support_triage/llm_call", "served_model") in checks
    assert ("support_triage/row_ledger", "ledger_complete") in checks
    assert ("support_triage/sla_result", "sla_triage_compliance") in checks
    assert defs.resolve_job_def("support_triage_job") is not None
    schedule = defs.resolve_schedule_def("support_triage_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("governance_alerts") is not None
    for job in ("support_triage", "product_reviews", "contract_clauses"):  # one per spec file
        assert defs.resolve_job_def(f"{job}_job") is not None
        assert f"{job}/enriched" in keys


def test_a_new_spec_file_adds_a_job_without_code(tmp_path: Path) -> None:
    shutil.copy(SPEC_DIR / "platform.yaml", tmp_path)
    text = (SPEC_DIR / "support_triage.yaml").read_text()
    (tmp_path / "support_triage.yaml").write_text(text)
    (tmp_path / "vip_triage.yaml").write_text(
        text.replace("job: support_triage", "job: vip_triage").replace(
            'cron: "0 6 * * *"', 'cron: "*/15 * * * *"'
        )
    )
    defs = definitions_for(load_specs(tmp_path), str(tmp_path / "db.duckdb"))
    assert defs.resolve_job_def("vip_triage_job") is not None
    assert defs.resolve_schedule_def("vip_triage_schedule").cron_schedule == "*/15 * * * *"
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {f"vip_triage/{s}" for s in STAGES} <= keys
    # both jobs read the same source: it appears once
    sources = [a.key for a in defs.assets or [] if isinstance(a, dg.AssetSpec)]
    assert sources == [dg.AssetKey(["raw", "support_tickets"])]
