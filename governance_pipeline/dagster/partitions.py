"""Partitioned jobs: a spec's `partitions:` as Dagster's time-window partitions.

    partitions_def   DailyPartitionsDefinition / HourlyPartitionsDefinition from the spec
    check_spec       an asset check partitioned like its asset (a preview in Dagster 1.13)
    window_of        the window a run takes, for `inputs.scope.claim`
    latest_schedule  the job's schedule: each tick runs the latest partition that has ended
    keys_to_run      the partitions `govern run --partition/--from/--to` runs, checked first

A backfill goes through Dagster's own backfills (the UI's Materialize on a range, or a job's
Partitions tab), one run per partition (no `BackfillPolicy`: Dagster's default), so each
partition's ledger, SLA results and checks are its own. For the same reason Dagster refuses
`dg launch --partition-range`, which wants a single-run backfill policy; a run of a key range
launched another way still works: it takes the rows of the whole range, recorded on the run as
`first...last`.
"""

from __future__ import annotations

import functools
import warnings
from datetime import datetime
from typing import Any

import dagster as dg

from governance_pipeline.errors import GovernanceError
from governance_pipeline.inputs.partitions import Window
from governance_pipeline.spec import Partitions, ResolvedSpec

_EXAMPLE_KEY = {"daily": "2026-11-30", "hourly": "2026-11-30-14:00"}


def partitions_def(spec: ResolvedSpec) -> dg.TimeWindowPartitionsDefinition | None:
    """The job's partitions definition; None for a job without `partitions:`."""
    p = spec.job.partitions
    return None if p is None else _definition(p.granularity, p.start, p.timezone)


@functools.lru_cache(maxsize=64)
def _definition(granularity: str, start: datetime, zone: str) -> dg.TimeWindowPartitionsDefinition:
    if granularity == "hourly":
        return dg.HourlyPartitionsDefinition(start_date=start, timezone=zone)
    return dg.DailyPartitionsDefinition(start_date=start, timezone=zone)


def check_spec(
    spec: ResolvedSpec, name: str, asset: dg.AssetKey, **kwargs: Any
) -> dg.AssetCheckSpec:
    """An asset check, partitioned like its asset: its evaluations carry the partition key.

    Dagster 1.13 marks a check's `partitions_def` a preview and warns at each definition; the
    warning is silenced here, where that choice is made.
    """
    definition = partitions_def(spec)
    if definition is None:
        return dg.AssetCheckSpec(name, asset=asset, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, partitions_def=definition, **kwargs)


def window_of(context: dg.AssetExecutionContext) -> Window | None:
    """The partition (or key range) a run of a partitioned job takes; None when unpartitioned."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = context.partition_key_range
    key = keys.start if keys.start == keys.end else f"{keys.start}...{keys.end}"
    window = context.partition_time_window
    return Window.of(key, window.start, window.end)


def latest_schedule(spec: ResolvedSpec, job: Any) -> dg.ScheduleDefinition:
    """The schedule of a partitioned job: the spec's cron, each tick running the latest
    partition that has ended by then, once (the key is the run key)."""
    assert spec.job.schedule is not None and spec.job.partitions is not None
    definition = partitions_def(spec)
    assert definition is not None

    @dg.schedule(
        name=f"{spec.name}_schedule",
        job=job,
        cron_schedule=spec.job.schedule.cron,
        execution_timezone=spec.job.schedule.timezone,
        description=f"Runs the latest {spec.job.partitions.granularity} partition that has ended.",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        keys = definition.get_partition_keys(current_time=context.scheduled_execution_time)
        if not keys:
            return dg.SkipReason("no partition has ended yet")
        return dg.RunRequest(run_key=keys[-1], partition_key=keys[-1])

    return schedule


def keys_to_run(
    spec: ResolvedSpec,
    partition: str | None = None,
    first: str | None = None,
    last: str | None = None,
) -> list[str | None]:
    """The partitions a `govern run` runs, in order: `partition`, the range `first` to `last`
    (inclusive), or the latest that has ended; `[None]` for a job without partitions.

    Raises:
        GovernanceError: in one line: options given to a job without partitions, a key that is
            malformed, before `partitions.start` or not ended yet, or a reversed range.
    """
    definition = partitions_def(spec)
    given = [
        f"--{n} {v}" for n, v in (("partition", partition), ("from", first), ("to", last)) if v
    ]
    if definition is None or spec.job.partitions is None:
        if given:
            raise GovernanceError(
                f"job {spec.name!r} has no partitions, so {' '.join(given)} means nothing; run "
                f"it without, or declare `partitions:` in {spec.path}"
            )
        return [None]
    if partition and (first or last):
        raise GovernanceError("give --partition or --from and --to, not both")
    if bool(first) != bool(last):
        raise GovernanceError("a range needs both ends: --from FIRST --to LAST (inclusive)")
    latest = definition.get_last_partition_key()
    if latest is None:
        raise GovernanceError(
            f"job {spec.name!r} has no partition that has ended yet: its first, from "
            f"{spec.job.partitions.start.isoformat(sep=' ')} {spec.job.partitions.timezone}, "
            "is still open"
        )
    if first and last:
        for key in (first, last):
            _check_key(definition, spec.job.partitions, key, latest)
        if first > last:
            raise GovernanceError(f"--from {first} is after --to {last}; give the earlier first")
        return list(definition.get_partition_keys_in_range(dg.PartitionKeyRange(first, last)))
    if partition:
        _check_key(definition, spec.job.partitions, partition, latest)
        return [partition]
    return [latest]


def _check_key(
    definition: dg.TimeWindowPartitionsDefinition, p: Partitions, key: str, latest: str
) -> None:
    valid = f"valid: {definition.get_first_partition_key()} to {latest}"
    try:
        canonical = datetime.strptime(key, definition.fmt).strftime(definition.fmt) == key
    except ValueError:
        canonical = False
    if not canonical:
        raise GovernanceError(
            f"partition key {key!r} is malformed: {p.granularity} keys look like "
            f"{_EXAMPLE_KEY[p.granularity]}; {valid}"
        )
    if definition.has_partition_key(key):
        return
    if key < str(definition.get_first_partition_key()):
        raise GovernanceError(
            f"partition {key} is before the job's start (partitions.start); {valid}"
        )
    raise GovernanceError(f"partition {key} has not ended yet; {valid}")
