"""Every table's DDL has one owner, the store (``governance_pipeline.store.ddl``).

Tables made on the fly by the module that first writes them (the Batch API's jobs, the token
vault, `staged_output` copied from `enriched`, `sla_result` columns added on every evaluation)
exist in some stores and not others, depending on which feature ran first. So: a new store has
every table the design names as soon as it is opened and the job's schema is ensured; a store
made by an older version is brought up to date the same way; and no module outside the store
creates or alters a table.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from governance_pipeline import spec, store
from governance_pipeline.demo.tickets import generate_support_tickets
from tests.conftest import PROJECT_ROOT, SPEC_DIR

JOB = spec.load(SPEC_DIR / "support_triage.yaml").job
SHARED = {
    "spend",
    "llm_cache",
    "run",
    "alert",
    "alert_delivery",
    "incident",
    "spec_version",
    "llm_batch",
    "token_vault",
    "reidentification",
}
PER_JOB = {
    "row_scope",
    "row_state",
    "validated_input",
    "input_quarantine",
    "model_input",
    "llm_call",
    "staged_output",
    "enriched",
    "output_quarantine",
    "row_ledger",
    "sla_result",
    "row_audit",  # a view (information_schema.tables lists views too): `govern trace` reads it
    "partition_ledger",  # a view: the ledger rolled up per partition of a partitioned job
}
SLA_COLUMNS = {"window", "state", "held_to", "confidence", "min_sample", "budget_left", "blocking"}


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    generate_support_tickets(con, 3, seed=1)
    store.ensure_job_schema(con, JOB, store.column_types(con, JOB.source.table))


def test_a_new_store_has_every_table_of_the_design(tmp_path: Path) -> None:
    with store.connect(tmp_path / "s.duckdb") as con:
        assert _tables(con, "governance") == SHARED
        _ensure(con)
        assert _tables(con, JOB.job) == PER_JOB
        assert SLA_COLUMNS <= set(store.column_types(con, f"{JOB.job}.sla_result"))
        published = store.column_types(con, f"{JOB.job}.enriched")
        assert store.column_types(con, f"{JOB.job}.staged_output") == published
        source = store.column_types(con, JOB.source.table)
        assert store.column_types(con, f"{JOB.job}.validated_input") == {
            "run_id": "VARCHAR",
            **source,
        }


def test_an_older_store_is_brought_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as con:  # what an older version left: base tables only
        con.execute(
            "CREATE SCHEMA governance; CREATE TABLE governance.run (run_id VARCHAR PRIMARY KEY, "
            "job VARCHAR, spec_hash VARCHAR, endpoint VARCHAR, started_at TIMESTAMP, "
            "finished_at TIMESTAMP, status VARCHAR, summary JSON);"
            f"CREATE SCHEMA {JOB.job}; CREATE TABLE {JOB.job}.sla_result (run_id VARCHAR, "
            "sla_id VARCHAR, metric VARCHAR, level VARCHAR, severity VARCHAR, bound VARCHAR, "
            "threshold DOUBLE, measured DOUBLE, sample_size BIGINT, passed BOOLEAN, "
            "description VARCHAR, spec_hash VARCHAR, measured_at TIMESTAMP)"
        )
    with store.connect(db) as con:
        columns = set(store.column_types(con, "governance.run"))
        assert {"reason", "host", "pid", "partition_key"} <= columns
        assert _tables(con, "governance") == SHARED
        _ensure(con)
        assert _tables(con, JOB.job) == PER_JOB
        assert SLA_COLUMNS <= set(store.column_types(con, f"{JOB.job}.sla_result"))


def test_a_source_column_added_later_reaches_validated_input(tmp_path: Path) -> None:
    with store.connect(tmp_path / "s.duckdb") as con:
        _ensure(con)
        con.execute(f"ALTER TABLE {JOB.source.table} ADD COLUMN priority VARCHAR")
        store.ensure_job_schema(con, JOB, store.column_types(con, JOB.source.table))
        assert store.column_types(con, f"{JOB.job}.validated_input")["priority"] == "VARCHAR"


DDL = re.compile(r"\b(CREATE\s+(OR\s+REPLACE\s+)?(TABLE|SCHEMA|VIEW)|ALTER\s+TABLE)\b", re.I)


def test_no_module_outside_the_store_creates_or_alters_a_table() -> None:
    package = PROJECT_ROOT / "governance_pipeline"
    owners = {
        package / "store",
        package / "demo",  # lands the demo's source tables, which are no store's
        package / "spec" / "identifiers.py",  # parses a CREATE TABLE to check a name, never runs it
    }
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}: {m.group(0)}"
        for path in sorted(package.rglob("*.py"))
        if not any(path.is_relative_to(owner) for owner in owners)
        for m in DDL.finditer(path.read_text())
    ]
    assert offenders == []
