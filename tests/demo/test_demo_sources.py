"""Every job in specs/ has a demo source whose rows meet its spec, apart from the planted
malformed rows, so that each job can be run end to end on this machine."""

from __future__ import annotations

import duckdb
import pytest

from governance_pipeline import spec
from governance_pipeline.demo.sources import GENERATORS
from governance_pipeline.inputs import expectations, validation
from tests.conftest import SPEC_DIR

JOBS = sorted(path.stem for path in spec.discover(SPEC_DIR))


def test_every_job_spec_has_a_demo_source() -> None:
    tables = {spec.load(SPEC_DIR / f"{job}.yaml").job.source.table for job in JOBS}
    assert tables == set(GENERATORS)


@pytest.mark.parametrize("job", JOBS)
def test_demo_source_meets_the_spec_but_for_planted_faults(job: str) -> None:
    resolved = spec.load(SPEC_DIR / f"{job}.yaml")
    table = resolved.job.source.table
    con = duckdb.connect()
    assert GENERATORS[table](con, 40, 7) == 40
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    assert set(resolved.job.source.columns) <= set(columns)
    verdicts = validation.validate_table(
        con, table, expectations.compile_suite(resolved.job), resolved.job.source.key
    )
    assert verdicts.batch_failures == []
    assert 2 <= len(verdicts.failed_by_key) <= 8  # the planted faults, and nothing else
    again = duckdb.connect()
    GENERATORS[table](again, 40, 7)
    assert (
        again.execute(f"SELECT * FROM {table}").fetchall()
        == con.execute(f"SELECT * FROM {table}").fetchall()
    )
