"""The asset factory: one spec file in, one governed job out (assets, checks, job, schedule).

    raw source -> validated_input (+ input_quarantine) -> model_input -> llm_call
               -> staged_output (+ output_quarantine) -> row_ledger -> sla_result -> enriched

Publication comes last: the SLA checks marked `blocking` in the spec are blocking asset checks
on `sla_result`, so a breach fails the run before `enriched` is written; the ledger, already
final, records the run's compliant rows as `withheld`.

A spec with `partitions:` makes every asset and check of the job time-window partitioned
(`dagster/partitions.py`): a run takes one partition's rows, and its schedule runs the latest
partition that has ended.

Every stage's logic lives in the library; the assets only open the store, call it, and turn its
figures into metadata and check results.
"""

from typing import Any

import dagster as dg

from governance_pipeline.dagster.common import source_key
from governance_pipeline.dagster.input_assets import build_input_assets
from governance_pipeline.dagster.model_assets import build_llm_asset
from governance_pipeline.dagster.output_assets import build_output_assets
from governance_pipeline.dagster.partitions import latest_schedule
from governance_pipeline.settings import STORE_TAG
from governance_pipeline.spec import ResolvedSpec

__all__ = ["build_job", "source_key"]


def build_job(spec: ResolvedSpec, store: str | None = None) -> dict[str, list[Any]]:
    """Assets, checks, job and schedule of one resolved spec.

    Args:
        spec: The job's resolved spec.
        store: The store's `governance/store` tag value (`settings.store_tag`): the run queue
            starts one run per store at a time (the dagster.yaml `govern` writes says so).
    """
    name = spec.name
    job = dg.define_asset_job(
        f"{name}_job",
        selection=dg.AssetSelection.groups(name),
        executor_def=dg.in_process_executor,
        description=spec.job.description.strip(),
        tags={STORE_TAG: store} if store else None,
    )
    schedules: list[Any] = []
    if spec.job.schedule is not None and spec.job.partitions is not None:
        schedules.append(latest_schedule(spec, job))
    elif spec.job.schedule is not None:
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{name}_schedule",
                job=job,
                cron_schedule=spec.job.schedule.cron,
                execution_timezone=spec.job.schedule.timezone,
            )
        )
    return {
        "assets": [
            *build_input_assets(spec),
            build_llm_asset(spec),
            *build_output_assets(spec),
        ],
        "jobs": [job],
        "schedules": schedules,
    }
