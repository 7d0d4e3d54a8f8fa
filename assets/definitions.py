"""Dagster definitions: one governed job per spec file in specs/, plus the alert sensor.

Loaded by workspace.yaml (`govern ui`) and by `govern run`. A new spec file is a new job: no code.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from assets.alerts import build_alert_sensors
from assets.factory import build_job, source_key
from assets.resources import GovernanceStore, ModelEndpoint, RunInstructions
from governance_pipeline import spec as spec_module
from governance_pipeline.settings import Settings


def build_definitions(spec_dir: Path | None = None, db_path: str | None = None) -> dg.Definitions:
    """Definitions of every job spec in `spec_dir` (default `$GOVERNANCE_SPEC_DIR` or specs/)."""
    specs = [spec_module.load(p) for p in spec_module.discover(spec_dir or Settings().spec_dir)]
    assets: list = []
    jobs: list = []
    schedules: list = []
    sources: dict[dg.AssetKey, dg.AssetSpec] = {}
    for spec in specs:
        built = build_job(spec)
        assets += built["assets"]
        jobs += built["jobs"]
        schedules += built["schedules"]
        sources.setdefault(
            source_key(spec),
            dg.AssetSpec(
                source_key(spec),
                group_name="sources",
                description=f"Raw source table {spec.job.source.table}, landed by another system.",
            ),
        )
    defs = dg.Definitions(
        assets=[*sources.values(), *assets],
        jobs=jobs,
        schedules=schedules,
        resources={
            "store": GovernanceStore(db_path=db_path),
            "endpoint": ModelEndpoint(),
            "instructions": RunInstructions(),
        },
    )
    check_keys = list(defs.resolve_asset_graph().asset_check_keys)
    return dg.Definitions.merge(
        defs, dg.Definitions(sensors=build_alert_sensors(specs, check_keys))
    )


os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
defs = build_definitions()
