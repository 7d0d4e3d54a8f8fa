"""Building the Dagster definitions: one governed job per spec file, plus the alert sensors.

Used by a project's code location (`governed_definitions`, what workspace.yaml loads) and by
`govern run`. A new spec file is a new job: no code. A spec file that does not load is a
warning, and only its job is missing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import dagster as dg

from governance_pipeline import spec as spec_module
from governance_pipeline.dagster.common import source_key
from governance_pipeline.dagster.factory import build_job
from governance_pipeline.dagster.resources import GovernanceStore, ModelEndpoint, RunInstructions
from governance_pipeline.dagster.sensors import build_alert_sensors
from governance_pipeline.errors import GovernanceError
from governance_pipeline.settings import Settings, store_tag
from governance_pipeline.spec import LoadedFolder, ResolvedSpec

logger = logging.getLogger(__name__)


def load_folder(spec_dir: Path | None = None) -> LoadedFolder:
    """Every job spec in `spec_dir` (default `$GOVERNANCE_SPEC_DIR` or specs/) that loads; each
    file that does not is logged as a warning naming it and its error, and its job is left out,
    so one broken spec does not take down the other jobs."""
    loaded = spec_module.load_folder(spec_dir or Settings().spec_dir)
    for path, error in loaded.failed.items():
        logger.warning("spec %s does not load and is skipped: %s", path.name, error)
    return loaded


def load_specs(spec_dir: Path | None = None) -> list[ResolvedSpec]:
    """Every job spec in `spec_dir` that loads, resolved; a broken one is warned about."""
    return load_folder(spec_dir).specs


def governed_definitions(project_dir: Path | str | None = None) -> dg.Definitions:
    """The governed jobs of a project, for its code location (`assets/definitions.py`):

        from governance_pipeline.dagster import governed_definitions

        defs = dg.Definitions.merge(governed_definitions(__file__), my_own_definitions)

    Args:
        project_dir: The project's root, or any file or folder inside it (default: found from
            the current folder); `$GOVERNANCE_DB` and `$GOVERNANCE_SPEC_DIR` still override
            where the store and the specs are.

    Raises:
        ProjectError: no project holds `project_dir`.
    """
    from governance_pipeline import project

    start = Path(project_dir).resolve() if project_dir is not None else None
    root = project.require_root(start.parent if start and start.is_file() else start)
    settings = Settings(project_dir=root)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    return definitions_for(load_specs(settings.spec_dir), str(settings.db))


def _store_tag(db_path: str | None) -> str | None:
    """The store's run-queue tag; None where no store can be named yet (no project here)."""
    try:
        return store_tag(db_path or Settings().db)
    except GovernanceError:
        return None


def definitions_for(specs: list[ResolvedSpec], db_path: str | None = None) -> dg.Definitions:
    """Definitions of already resolved specs, with the store at `db_path`."""
    assets: list[Any] = []
    jobs: list[Any] = []
    schedules: list[Any] = []
    sources: dict[dg.AssetKey, dg.AssetSpec] = {}
    store = _store_tag(db_path)
    for spec in specs:
        built = build_job(spec, store)
        assets += built["assets"]
        jobs += built["jobs"]
        schedules += built["schedules"]
        source = source_key(spec)
        sources.setdefault(
            source,
            dg.AssetSpec(
                source,
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
