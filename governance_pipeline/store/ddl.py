"""Every table's DDL: the shared `governance` schema and a job's schema, in one place.

The shared schema is created when the store is opened for writing (`store.connect`); a job's
schema when its run starts (`store.ensure_job_schema`). No other module creates or alters a
table. Each statement is idempotent; the `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` lines
bring a store made by an older version up to date, and are the only place columns are added
(besides `validated_input`, which follows the source table's columns: see
`store.ensure_job_schema`).

    governance  llm_cache, run, alert, incident, alert_delivery, spec_version, llm_batch,
                token_vault, reidentification
    <job>       validated_input, input_quarantine, model_input, llm_call, staged_output,
                enriched, output_quarantine, row_ledger, sla_result
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time the spec package imports alerting, which imports the store
    from governance_pipeline.spec import JobSpec

GOVERNANCE_DDL = """
CREATE SCHEMA IF NOT EXISTS governance;
CREATE TABLE IF NOT EXISTS governance.llm_cache (
    request_hash VARCHAR PRIMARY KEY, model VARCHAR, content VARCHAR,
    tokens_in INTEGER, tokens_out INTEGER, latency_ms DOUBLE, cost_usd DOUBLE,
    created_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS governance.run (
    run_id VARCHAR PRIMARY KEY, job VARCHAR, spec_hash VARCHAR, endpoint VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, summary JSON);
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS reason VARCHAR;
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS host VARCHAR;
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS pid BIGINT;
CREATE TABLE IF NOT EXISTS governance.alert (
    alert_id VARCHAR PRIMARY KEY, job VARCHAR, run_id VARCHAR, check_name VARCHAR,
    severity VARCHAR, message VARCHAR, sinks VARCHAR, delivered BOOLEAN, error VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp, kind VARCHAR, incident_id VARCHAR);
CREATE TABLE IF NOT EXISTS governance.incident (
    incident_id VARCHAR, job VARCHAR, check_name VARCHAR, severity VARCHAR, message VARCHAR,
    opened_run_id VARCHAR, opened_at TIMESTAMP DEFAULT current_timestamp,
    last_run_id VARCHAR, closed_run_id VARCHAR, closed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS governance.alert_delivery (
    alert_id VARCHAR, sink VARCHAR, sink_type VARCHAR, status VARCHAR, attempts INTEGER,
    error VARCHAR, sent_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS governance.spec_version (
    spec_hash VARCHAR PRIMARY KEY, job VARCHAR, resolved JSON,
    first_seen TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS governance.llm_batch (
    batch_id VARCHAR PRIMARY KEY, job VARCHAR, input_file_id VARCHAR, requests INTEGER,
    status VARCHAR, created_at TIMESTAMP, finished_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS governance.token_vault (
    token VARCHAR PRIMARY KEY, entity VARCHAR, ciphertext BLOB,
    created_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS governance.reidentification (
    used_at TIMESTAMP, actor VARCHAR, purpose VARCHAR, tokens INTEGER, restored INTEGER,
    entities JSON, outcome VARCHAR);
"""
"""The shared schema: the cache, runs, alerts and incidents, spec versions, Batch API jobs,
and the token vault with its log of reidentifications."""

_SLA_COLUMNS_ADDED = (
    ("window", "VARCHAR"),
    ("state", "VARCHAR"),
    ("held_to", "DOUBLE"),
    ("confidence", "DOUBLE"),
    ("min_sample", "BIGINT"),
    ("budget_left", "DOUBLE"),
    ("blocking", "BOOLEAN"),
)
"""Columns of `sla_result` that stores made before SLA windows and error budgets lack."""


def job_ddl(job: JobSpec, key_type: str) -> str:
    """DDL of a job's schema, `validated_input` aside. The source key keeps its name and type
    in every table; each output field is a column of the type `OutputField.sql_type` says."""
    s, k = job.job, f"{job.source.key} {key_type}"
    outputs = ", ".join(f'"{name}" {f.sql_type}' for name, f in job.output.items())
    published = f"{outputs}, warnings VARCHAR, run_id VARCHAR, spec_hash VARCHAR, "
    published += "request_hash VARCHAR, enriched_at TIMESTAMP"
    sla_added = "".join(
        f'\nALTER TABLE {s}.sla_result ADD COLUMN IF NOT EXISTS "{name}" {kind};'
        for name, kind in _SLA_COLUMNS_ADDED
    )
    sla_columns = ", ".join(f'"{name}" {kind}' for name, kind in _SLA_COLUMNS_ADDED)
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.input_quarantine (
    run_id VARCHAR, {k}, expectations VARCHAR, reason VARCHAR, quarantined_at TIMESTAMP,
    source_row BIGINT);
ALTER TABLE {s}.input_quarantine ADD COLUMN IF NOT EXISTS source_row BIGINT;
CREATE TABLE IF NOT EXISTS {s}.model_input (
    run_id VARCHAR, {k}, data JSON, redactions JSON, request_hash VARCHAR, spec_hash VARCHAR);
CREATE TABLE IF NOT EXISTS {s}.llm_call (
    run_id VARCHAR, {k}, request_hash VARCHAR, model VARCHAR, attempt INTEGER, status VARCHAR,
    error_class VARCHAR, latency_ms DOUBLE, tokens_in INTEGER, tokens_out INTEGER,
    cost_usd DOUBLE, called_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS {s}.enriched ({k} PRIMARY KEY, {published});
CREATE TABLE IF NOT EXISTS {s}.staged_output ({k}, {published});
CREATE TABLE IF NOT EXISTS {s}.output_quarantine (
    run_id VARCHAR, {k}, request_hash VARCHAR, rules VARCHAR, reason VARCHAR,
    output_redacted VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS {s}.row_ledger (
    run_id VARCHAR, {k}, disposition VARCHAR, reason VARCHAR, spec_hash VARCHAR,
    request_hash VARCHAR, recorded_at TIMESTAMP, source_row BIGINT);
ALTER TABLE {s}.row_ledger ADD COLUMN IF NOT EXISTS source_row BIGINT;
CREATE TABLE IF NOT EXISTS {s}.sla_result (
    run_id VARCHAR, sla_id VARCHAR, metric VARCHAR, level VARCHAR, severity VARCHAR,
    bound VARCHAR, threshold DOUBLE, measured DOUBLE, sample_size BIGINT, passed BOOLEAN,
    description VARCHAR, spec_hash VARCHAR, measured_at TIMESTAMP, {sla_columns});{sla_added}
"""


def validated_input_ddl(job: JobSpec) -> str:
    """`validated_input`: the run's id, then the source table's columns as they are."""
    return (
        f"CREATE TABLE IF NOT EXISTS {job.job}.validated_input AS "
        f"SELECT ''::VARCHAR AS run_id, * FROM {job.source.table} LIMIT 0"
    )
