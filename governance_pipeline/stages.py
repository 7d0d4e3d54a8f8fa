"""The stages of a governed job, as plain functions over the DuckDB store.

Each stage reads what the one before it wrote for the current batch (the run that validated
the input), writes its own tables in one transaction per write, and returns the figures a
person wants to see (counts, tokens, cost) as a dict. Dagster calls these from assets; nothing
here imports Dagster.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb

from governance_pipeline import expectations, llm, names, prompts
from governance_pipeline.endpoint import Endpoint
from governance_pipeline.errors import SpecError, StoreError
from governance_pipeline.redaction import Redactor
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import (
    column_types,
    ensure_job_schema,
    frame,
    replace_rows,
    table_exists,
)

Progress = Callable[[int, int], None]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def current_run(con: duckdb.DuckDBPyConnection, job: str) -> str:
    """The run id of the batch the later stages work on: the latest validated input."""
    row = con.execute(
        "SELECT run_id FROM governance.run WHERE job = ? ORDER BY started_at DESC LIMIT 1", [job]
    ).fetchone()
    if row is None:
        raise StoreError(
            f"job {job!r} has no validated input yet: materialise validated_input first"
        )
    return str(row[0])


# --- validated input -----------------------------------------------------------------------


def validate_input(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str, endpoint: Endpoint
) -> dict[str, Any]:
    """Run the GX suite over the source; quarantine failing rows, keep the rest as the batch."""
    job, src = spec.job, spec.job.source
    if not table_exists(con, src.table):
        raise SpecError(
            f"source table {src.table} does not exist in the store; create it or fix the name "
            "(for the demo, run `govern demo`)",
            file=spec.path,
            field="source.table",
            line=spec.line_of(("source", "table")),
        )
    types = column_types(con, src.table)
    ensure_job_schema(con, job, types.get(src.key, "VARCHAR"))
    con.execute(
        "INSERT OR REPLACE INTO governance.spec_version (spec_hash, job, resolved) "
        "SELECT ?, ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM governance.spec_version WHERE spec_hash = ?)",
        [spec.spec_hash, job.job, spec.model_dump_json(), spec.spec_hash],
    )
    con.execute(
        "INSERT OR REPLACE INTO governance.run (run_id, job, spec_hash, endpoint, started_at, "
        "status) VALUES (?, ?, ?, ?, ?, 'running')",
        [run_id, job.job, spec.spec_hash, endpoint.describe(), now()],
    )
    text_cols = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in types)
    rows = con.execute(f"SELECT {text_cols} FROM {src.table}").df()
    suite = expectations.compile_suite(job)
    verdicts = expectations.validate(rows, suite, src.key)
    bad = frame(
        ["run_id", src.key, "expectations", "reason", "quarantined_at"],
        {
            src.key: list(verdicts.failed_by_key),
            "expectations": [",".join(ids) for ids in verdicts.failed_by_key.values()],
            "reason": [verdicts.reason(k, suite) for k in verdicts.failed_by_key],
        },
        run_id=run_id,
        quarantined_at=now(),
    )
    replace_rows(con, f"{job.job}.input_quarantine", bad, run_id=run_id)
    key_type = types.get(src.key, "VARCHAR")
    con.execute(
        f"CREATE OR REPLACE TABLE {job.job}.validated_input AS "
        f"SELECT ?::VARCHAR AS run_id, s.* FROM {src.table} s "
        f"WHERE s.{src.key} IS NOT NULL AND s.{src.key} NOT IN "
        f"(SELECT CAST({src.key} AS {key_type}) FROM {job.job}.input_quarantine "
        f" WHERE run_id = ? AND {src.key} IS NOT NULL)",
        [run_id, run_id],
    )
    passed = con.execute(f"SELECT count(*) FROM {job.job}.validated_input").fetchone()[0]  # type: ignore[index]
    by_rule = Counter(i for ids in verdicts.failed_by_key.values() for i in ids)
    return {
        "rows_in": len(rows),
        "validated": int(passed),
        "quarantined": len(bad),
        "quarantined_by_rule": dict(by_rule),
        "batch_failures": verdicts.batch_failures,
    }


# --- model input ---------------------------------------------------------------------------


def build_model_input(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, endpoint: Endpoint
) -> dict[str, Any]:
    """Redact the batch, assemble each row's prompt, and record its request hash."""
    job = spec.job
    run_id = current_run(con, job.job)
    key = job.source.key
    wanted = dict.fromkeys([key, *job.model.prompt_columns, *job.redaction.known_values])
    select = ", ".join(f'"{c}"' for c in wanted)
    rows = con.execute(f"SELECT {select} FROM {job.job}.validated_input ORDER BY {key}").fetchall()
    redactor = Redactor(job.redaction.entities)
    redact_cols = set(job.redaction.columns)
    prompts.output_schema(spec)
    out: dict[str, list[Any]] = defaultdict(list)
    totals: Counter[str] = Counter()
    for values in rows:
        row = dict(zip(wanted, values, strict=True))
        data = {c: row[c] for c in job.model.prompt_columns}
        # entities first: an email is replaced whole before a name inside it could split it
        redacted, counts = redactor.redact_row({c: data[c] for c in redact_cols & set(data)})
        data.update(redacted)
        pattern = names.name_pattern(row[c] for c in job.redaction.known_values)
        for col in redact_cols & set(data):
            data[col], n = names.redact_names(data[col], pattern)
            if n:
                counts["NAME"] += n
        body = request_body(spec, endpoint, data)
        out[key].append(row[key])
        out["data"].append(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))
        out["redactions"].append(json.dumps(dict(sorted(counts.items()))))
        out["request_hash"].append(llm.request_hash(body))
        totals.update(counts)
    inputs = frame(
        ["run_id", key, "data", "redactions", "request_hash", "spec_hash"],
        out,
        run_id=run_id,
        spec_hash=spec.spec_hash,
    )
    replace_rows(con, f"{job.job}.model_input", inputs)
    return {"rows": len(inputs), "redactions": dict(totals), "endpoint": endpoint.describe()}


def request_body(spec: ResolvedSpec, endpoint: Endpoint, data: dict[str, Any]) -> dict[str, Any]:
    """The request for one row's redacted data."""
    return llm.request_body(
        endpoint,
        prompts.build_messages(spec, data),
        temperature=spec.job.model.temperature,
        max_tokens=spec.job.model.max_tokens,
        schema=prompts.output_schema(spec),
    )
