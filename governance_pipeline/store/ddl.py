"""Every table's DDL: the shared `governance` schema and a job's schema, in one place.

The shared schema is created when the store is opened for writing (`store.connect`); a job's
schema when its run starts (`store.ensure_job_schema`). No other module creates or alters a
table. Each statement is idempotent; the `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` lines
bring a store made by an older version up to date, and are the only place columns are added
(besides `validated_input`, which follows the source table's columns: see
`store.ensure_job_schema`).

    governance  llm_cache, run, alert, incident, alert_delivery, spec_version, llm_batch,
                token_vault, reidentification, spend
    <job>       validated_input, input_quarantine, model_input, llm_call, staged_output,
                enriched, output_quarantine, row_ledger, sla_result, row_scope, row_state;
                the views row_audit and partition_ledger
    pace file   lane (SQLite, beside the store: the rate limits' lanes, `llm.pacing`)
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
ALTER TABLE governance.run ADD COLUMN IF NOT EXISTS partition_key VARCHAR;
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
CREATE TABLE IF NOT EXISTS governance.spend (
    day DATE, job VARCHAR, run_id VARCHAR, tokens_leased BIGINT, cost_leased DOUBLE,
    tokens_used BIGINT, cost_used DOUBLE, updated_at TIMESTAMP, PRIMARY KEY (day, job, run_id));
"""
"""The shared schema: the cache, runs (with the partition a partitioned job's run took, NULL
otherwise), alerts and incidents, spec versions, Batch API jobs, the token vault with its log
of reidentifications, and the daily spend of each job's runs (`llm.spend`)."""

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


PACE_DDL = "CREATE TABLE IF NOT EXISTS lane (name TEXT PRIMARY KEY, free_at REAL)"
"""The rate limits' lanes, in the SQLite file beside the store (`llm.pacing.SharedPacer`)."""


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
    cost_usd DOUBLE, called_at TIMESTAMP, error VARCHAR, served_model VARCHAR,
    system_fingerprint VARCHAR);
ALTER TABLE {s}.llm_call ADD COLUMN IF NOT EXISTS error VARCHAR;
ALTER TABLE {s}.llm_call ADD COLUMN IF NOT EXISTS served_model VARCHAR;
ALTER TABLE {s}.llm_call ADD COLUMN IF NOT EXISTS system_fingerprint VARCHAR;
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
CREATE TABLE IF NOT EXISTS {s}.row_scope (
    run_id VARCHAR, {k}, content_hash VARCHAR, state_hash VARCHAR, due VARCHAR);
CREATE TABLE IF NOT EXISTS {s}.row_state (
    {k} PRIMARY KEY, content_hash VARCHAR, state_hash VARCHAR, run_id VARCHAR,
    disposition VARCHAR, settled_at TIMESTAMP);
"""


def row_audit_ddl(schema: str, key: str) -> str:
    """`<job>.row_audit`: one row per (run, key) of the ledger, with everything a run recorded
    about it, for `govern trace` and for the DuckDB shell.

    Columns: the ledger's (run_id, the key, source_row, disposition, reason, spec_hash,
    request_hash, recorded_at); `input_expectations` and `input_reason` (input_quarantine);
    `model_input` and `redactions` (model_input, a working table: only the latest runs keep
    it); from llm_call, `attempts`, `call_statuses` (in attempt order), `call_errors` (each
    failed call's cause), and `latency_ms`, `tokens_in`, `tokens_out`, `cost_usd` summed;
    `answer` (governance.llm_cache, as stored at rest); `output_rules` and `output_reason`
    (output_quarantine); `published_run`, the run whose row `enriched` holds for the key now
    (NULL when none), and `published_here`, whether that is this run.
    """
    k = f'"{key}"'
    return f"""
CREATE OR REPLACE VIEW {schema}.row_audit AS
SELECT l.run_id, l.{k}, l.source_row, l.disposition, l.reason, l.spec_hash, l.request_hash,
    l.recorded_at, iq.expectations AS input_expectations, iq.reason AS input_reason,
    mi.data AS model_input, mi.redactions, coalesce(c.attempts, 0) AS attempts,
    c.call_statuses, c.call_errors, c.latency_ms, c.tokens_in, c.tokens_out, c.cost_usd,
    ca.content AS answer, oq.rules AS output_rules, oq.reason AS output_reason,
    e.run_id AS published_run, coalesce(e.run_id = l.run_id, false) AS published_here
FROM {schema}.row_ledger l
LEFT JOIN {schema}.input_quarantine iq ON iq.run_id = l.run_id AND iq.{k} = l.{k}
LEFT JOIN {schema}.model_input mi ON mi.run_id = l.run_id AND mi.{k} = l.{k}
LEFT JOIN (
    SELECT run_id, {k}, count(*) AS attempts, list(status ORDER BY attempt) AS call_statuses,
        list(coalesce(error, error_class) ORDER BY attempt)
            FILTER (WHERE coalesce(error, error_class) IS NOT NULL) AS call_errors,
        sum(latency_ms) AS latency_ms, sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out, sum(cost_usd) AS cost_usd
    FROM {schema}.llm_call GROUP BY run_id, {k}
) c ON c.run_id = l.run_id AND c.{k} = l.{k}
LEFT JOIN governance.llm_cache ca ON ca.request_hash = l.request_hash
LEFT JOIN {schema}.output_quarantine oq ON oq.run_id = l.run_id AND oq.{k} = l.{k}
LEFT JOIN {schema}.enriched e ON e.{k} = l.{k};
"""


def partition_ledger_ddl(schema: str) -> str:
    """`<job>.partition_ledger`: the ledger rolled up per partition of a partitioned job, one
    row per partition key (its `day` too, to roll hourly partitions up further): the runs that
    took it, when the last started and how it ended, its ledger rows and their dispositions
    (`by_disposition`, a map). Empty for a job without partitions."""
    return f"""
CREATE OR REPLACE VIEW {schema}.partition_ledger AS
WITH runs AS (
    SELECT run_id, partition_key, started_at, status FROM governance.run
    WHERE job = '{schema}' AND partition_key IS NOT NULL)
SELECT r.partition_key, left(r.partition_key, 10) AS day, count(DISTINCT r.run_id) AS runs,
    max(r.started_at) AS last_run_at, arg_max(r.status, r.started_at) AS last_status,
    count(l.run_id) AS ledger_rows,
    histogram(l.disposition) FILTER (WHERE l.disposition IS NOT NULL) AS by_disposition
FROM runs r LEFT JOIN {schema}.row_ledger l USING (run_id)
GROUP BY r.partition_key;
"""


def validated_input_ddl(job: JobSpec) -> str:
    """`validated_input`: the run's id, then the source table's columns as they are."""
    return (
        f"CREATE TABLE IF NOT EXISTS {job.job}.validated_input AS "
        f"SELECT ''::VARCHAR AS run_id, * FROM {job.source.table} LIMIT 0"
    )
