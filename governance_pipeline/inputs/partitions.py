"""A partition's rows: the time window a run of a partitioned job takes, and the SQL that places
a source row in it.

A partitioned job (spec `partitions:`) runs one window at a time, [start, end), as Dagster's
partitions definition computes it from the partition key (`dagster/partitions.py`); the library
is given the window and never parses keys itself. A row belongs to the window that holds the
value of its partition column, read as an instant:

    text with an offset (`...Z`, `...+02:00`)    that instant
    text without one, a TIMESTAMP or a DATE      UTC, the store's clock
    TIMESTAMP WITH TIME ZONE                     that instant

A value that is no timestamp (NULL, `not a date`, `31/02/2026`) places its row in no partition:
no partitioned run takes it, and every run's scope counts such rows as `untimed` (`inputs.scope`)
so that they are seen, not silently lost. Fix the value in the source and the row's partition
takes it on its next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from governance_pipeline.spec import ResolvedSpec

_OFFSET = r"[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$"
"""A timestamp's text that ends with an offset (a date alone, `2026-11-30`, has none)."""


@dataclass(frozen=True)
class Window:
    """The source rows a run of one partition takes: those whose time is in [start, end)."""

    key: str
    """The partition key (`2026-11-30`, `2026-11-30-14:00`; `first...last` for a range)."""
    start: datetime
    """Naive UTC, inclusive."""
    end: datetime
    """Naive UTC, exclusive."""

    @classmethod
    def of(cls, key: str, start: datetime, end: datetime) -> Window:
        """A window from the bounds Dagster gives (aware, in the partitions' zone)."""
        return cls(key, _utc(start), _utc(end))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def time_sql(column: str, duck_type: str) -> str:
    """SQL of a row's partition time as a naive UTC TIMESTAMP; NULL when it is no timestamp."""
    q = f'"{column}"'
    if duck_type == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {q})"
    if duck_type.startswith("TIMESTAMP") or duck_type == "DATE":
        return f"CAST({q} AS TIMESTAMP)"
    text = f"trim(CAST({q} AS VARCHAR))"
    return (
        f"CASE WHEN regexp_matches({text}, '{_OFFSET}') "
        f"THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) "
        f"ELSE TRY_CAST({text} AS TIMESTAMP) END"
    )


def placement_sql(spec: ResolvedSpec, types: dict[str, str], window: Window | None) -> str:
    """SQL of where a source row stands for a run: `in` its window, `out` of it, or `untimed`
    (in no partition). Every row is `in` for a job without partitions, or a run without a
    window."""
    partitions = spec.job.partitions
    if partitions is None or window is None or partitions.column not in types:
        return "'in'"  # a missing column is schema drift: the batch check stops the run
    at = time_sql(partitions.column, types[partitions.column])
    return (
        f"CASE WHEN {at} IS NULL THEN 'untimed' "
        f"WHEN {at} >= TIMESTAMP '{window.start.isoformat(sep=' ')}' "
        f"AND {at} < TIMESTAMP '{window.end.isoformat(sep=' ')}' THEN 'in' ELSE 'out' END"
    )
