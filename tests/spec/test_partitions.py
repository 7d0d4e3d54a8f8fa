"""The spec's `partitions:`: what a partitioned job declares, and the errors that name the field.

Why these cases matter: a partition's window is computed from `start` and `granularity` on every
run, and placed by `column`; a wrong one would run on the wrong rows or on none, silently. Each
mistake is one `SpecError` naming the file, the field and its line, before any run starts. A
spec without `partitions:` is as before, and partitioning a job changes no row's outcome (its
output hash), so no row is due again for it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from governance_pipeline import spec
from governance_pipeline.spec.contract_doc import render_markdown
from tests.spec.test_spec import JOB, line_containing, load_error, make_specs

ANCHOR = "\nsource:\n"


def with_partitions(folder: Path, block: str) -> Path:
    return make_specs(folder, [(JOB, ANCHOR, f"\npartitions: {block}{ANCHOR}")])


@pytest.mark.parametrize(
    ("block", "granularity", "start", "zone"),
    [
        (
            '{column: created_at, granularity: daily, start: "2026-11-01"}',
            "daily",
            (11, 1, 0),
            "UTC",
        ),
        ("{column: created_at, granularity: daily, start: 2026-11-01}", "daily", (11, 1, 0), "UTC"),
        (
            '{column: created_at, granularity: hourly, start: "2026-11-01T06:00", '
            "timezone: Europe/Paris}",
            "hourly",
            (11, 1, 6),
            "Europe/Paris",
        ),
    ],
)
def test_a_valid_partitions_block(
    tmp_path: Path, block: str, granularity: str, start: tuple[int, int, int], zone: str
) -> None:
    p = spec.load(with_partitions(tmp_path, block)).job.partitions
    assert p is not None
    assert (p.column, p.granularity, p.timezone) == ("created_at", granularity, zone)
    assert p.start == datetime(2026, *start)


@pytest.mark.parametrize(
    ("block", "field", "message"),
    [
        (
            '{column: created, granularity: daily, start: "2026-11-01"}',
            "partitions.column",
            "partitions.column='created' is not a source column; a partition needs a source "
            "column of type timestamp: created_at",
        ),
        (
            '{column: channel, granularity: daily, start: "2026-11-01"}',
            "partitions.column",
            "partitions.column='channel' is declared type 'string', not timestamp",
        ),
        (
            '{column: created_at, granularity: daily, start: "soon"}',
            "partitions.start",
            "start='soon' is not a date or a date and time; write it like 2026-11-01",
        ),
        (
            '{column: created_at, granularity: daily, start: "2026-11-01T06:00"}',
            "partitions.start",
            "is not the start of a day; daily partitions begin on the day",
        ),
        (
            '{column: created_at, granularity: hourly, start: "2026-11-01T06:30"}',
            "partitions.start",
            "is not the start of an hour",
        ),
        (
            '{column: created_at, granularity: daily, start: "2026-11-01T00:00+02:00"}',
            "partitions.start",
            "has an offset; give the local date (and hour) and name the zone in `timezone`",
        ),
        (
            '{column: created_at, granularity: weekly, start: "2026-11-01"}',
            "partitions.granularity",
            "'daily' or 'hourly'",
        ),
        (
            '{column: created_at, granularity: daily, start: "2026-11-01", timezone: Mars/Base}',
            "partitions.timezone",
            "timezone='Mars/Base' is not an IANA time zone",
        ),
        (
            '{column: created_at, granularity: daily, start: "2026-11-01", every: 2}',
            "partitions.every",
            "unknown field 'every'; valid fields here: column, granularity, start, timezone",
        ),
    ],
)
def test_a_wrong_partitions_block_names_the_field(
    tmp_path: Path, block: str, field: str, message: str
) -> None:
    path = with_partitions(tmp_path, block)
    error = load_error(path)
    assert error.file == path and error.field == field
    assert error.line == line_containing(path, "partitions:")
    assert message in error.detail


def test_partitions_are_optional_and_change_no_rows_outcome(tmp_path: Path) -> None:
    plain = spec.load(make_specs(tmp_path / "plain"))
    assert plain.job.partitions is None
    daily = spec.load(
        with_partitions(
            tmp_path / "daily", '{column: created_at, granularity: daily, start: "2026-11-01"}'
        )
    )
    assert daily.output_hash == plain.output_hash  # which run takes a row, not what it gets
    assert daily.spec_hash != plain.spec_hash
    said = "Runs are partitioned daily by `created_at`"  # the contract document says so
    assert said in render_markdown(daily) and said not in render_markdown(plain)
