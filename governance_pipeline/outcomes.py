"""The output stages: judge every response against the contract, stage or quarantine it, write
the row ledger that gives every input row of the batch exactly one disposition, and publish.

    stage     the contract judges each answer (with the redacted input it answers); compliant
              outputs go to `staged_output`, the rest to `output_quarantine`
    ledger    one disposition per input row; a compliant row is `enriched`
    gate      when a blocking SLA is breached, the run's `enriched` rows become `withheld`
    publish   `enriched` receives exactly the rows the ledger marks `enriched`

Publication comes last, after the SLAs, so that a blocking check can stop it; the ledger is
final before it, so a blocked run still accounts for every row.

Dispositions: `enriched`, `withheld` (met the contract; a blocking SLA stopped publication),
`input_quarantined`, `output_quarantined`, `call_failed`, `over_budget`; `unprocessed` marks a
defect (no stage recorded an outcome) and fails the ledger check.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import duckdb

from governance_pipeline.contracts import Contract
from governance_pipeline.redaction import Redactor
from governance_pipeline.sla import SlaVerdict
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.stages import current_run, now
from governance_pipeline.store import frame, replace_rows, transaction


def stage(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> dict[str, Any]:
    """Hold each answered row's output to the contract; stage it or quarantine it.

    `staged_output` has the shape of `enriched` and holds, per run, the outputs that met the
    contract (with their warnings): what publication will copy if the gate lets it.
    """
    job = spec.job
    key = job.source.key
    run_id = current_run(con, job.job)
    _ensure_staged(con, job.job)
    rows = con.execute(
        f"SELECT c.{key}, c.request_hash, k.content, m.data FROM {job.job}.llm_call c "
        "JOIN governance.llm_cache k USING (request_hash) "
        f"LEFT JOIN {job.job}.model_input m ON m.{key} = c.{key} "
        f"WHERE c.run_id = ? AND c.status IN ('ok', 'cached') ORDER BY c.{key}",
        [run_id],
    ).fetchall()
    verdicts = Contract(spec).judge(
        (k, content, json.loads(data or "{}")) for k, _, content, data in rows
    )
    redactor = Redactor()
    good: dict[str, list[Any]] = defaultdict(list)
    bad: dict[str, list[Any]] = defaultdict(list)
    warned = 0
    for k, h, content, _ in rows:
        verdict = verdicts[k]
        if verdict.errors:
            bad[key].append(k)
            bad["request_hash"].append(h)
            bad["rules"].append(",".join(dict.fromkeys(v.rule_id for v in verdict.errors)))
            bad["reason"].append("; ".join(str(v) for v in verdict.violations))
            bad["output_redacted"].append(redactor.redact_text(content)[0])
            continue
        assert verdict.output is not None
        for name in job.output:
            good[name].append(verdict.output[name])
        good[key].append(k)
        good["request_hash"].append(h)
        good["warnings"].append("; ".join(str(v) for v in verdict.warnings) or None)
        warned += bool(verdict.warnings)
    stamp = now()
    staged = frame(
        [key, *job.output, "warnings", "run_id", "spec_hash", "request_hash", "enriched_at"],
        good,
        run_id=run_id,
        spec_hash=spec.spec_hash,
        enriched_at=stamp,
    )
    quarantined = frame(
        ["run_id", key, "request_hash", "rules", "reason", "output_redacted", "quarantined_at"],
        bad,
        run_id=run_id,
        quarantined_at=stamp,
    )
    replace_rows(con, f"{job.job}.staged_output", staged, run_id=run_id)
    replace_rows(con, f"{job.job}.output_quarantine", quarantined, run_id=run_id)
    return {
        "judged": len(rows),
        "compliant": len(staged),
        "with_warnings": warned,
        "quarantined": len(quarantined),
        "compliance_rate": len(staged) / len(rows) if rows else None,
    }


def _ensure_staged(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """`staged_output`: the shape of `enriched` (without its key constraint), rows kept per run."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {schema}.staged_output AS "
        f"SELECT * FROM {schema}.enriched LIMIT 0"
    )


def gate(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, verdicts: list[SlaVerdict]
) -> list[SlaVerdict]:
    """Withhold the run's compliant rows when a blocking SLA is breached; the breaching SLAs."""
    blocking = [v for v in verdicts if v.blocks]
    if blocking:
        why = "publication blocked by " + "; ".join(v.summary() for v in blocking)
        con.execute(
            f"UPDATE {spec.job.job}.row_ledger SET disposition = 'withheld', "
            "reason = ? || coalesce(' (warnings: ' || reason || ')', '') "
            "WHERE run_id = ? AND disposition = 'enriched'",
            [why, current_run(con, spec.job.job)],
        )
    return blocking


def publish(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> dict[str, Any]:
    """Publish the rows the ledger marks `enriched` for the current run.

    `enriched` is the published table: one row per source key, the latest verdict. Keys of this
    batch that did not pass are removed from it, so it never shows a stale enrichment.
    """
    s, key = spec.job.job, spec.job.source.key
    run_id = current_run(con, s)
    with transaction(con):
        con.execute(
            f"DELETE FROM {s}.enriched WHERE {key} IN ("
            f"SELECT {key} FROM {s}.validated_input UNION ALL "
            f"SELECT {key} FROM {s}.input_quarantine WHERE run_id = $run)",
            {"run": run_id},
        )
        con.execute(
            f"INSERT INTO {s}.enriched BY NAME SELECT o.* REPLACE ($now AS enriched_at) "
            f"FROM {s}.staged_output o JOIN {s}.row_ledger l "
            f"ON l.{key} = o.{key} AND l.run_id = o.run_id "
            "WHERE o.run_id = $run AND l.disposition = 'enriched'",
            {"run": run_id, "now": now()},
        )
    published, warned = con.execute(
        f"SELECT count(*), count(warnings) FROM {s}.enriched WHERE run_id = ?", [run_id]
    ).fetchone()  # type: ignore[misc]
    return {"enriched": int(published), "with_warnings": int(warned)}


def write_ledger(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> dict[str, Any]:
    """One row per input row of the batch, with its disposition and the reason for it."""
    s, key = spec.job.job, spec.job.source.key
    run_id = current_run(con, s)
    _ensure_staged(con, s)
    with transaction(con):
        con.execute(f"DELETE FROM {s}.row_ledger WHERE run_id = ?", [run_id])
        con.execute(
            f"""
            INSERT INTO {s}.row_ledger
            WITH scope AS (
                SELECT {key} FROM {s}.validated_input
                UNION ALL SELECT {key} FROM {s}.input_quarantine WHERE run_id = $run
            ),
            iq AS (SELECT * FROM {s}.input_quarantine WHERE run_id = $run),
            mi AS (SELECT {key}, request_hash FROM {s}.model_input),
            lc AS (SELECT * FROM {s}.llm_call WHERE run_id = $run
                   AND status NOT IN ('superseded', 'repair_failed')),  -- see calling.py
            en AS (SELECT * FROM {s}.staged_output WHERE run_id = $run),
            oq AS (SELECT * FROM {s}.output_quarantine WHERE run_id = $run)
            SELECT $run, scope.{key},
                CASE WHEN iq.{key} IS NOT NULL THEN 'input_quarantined'
                     WHEN en.{key} IS NOT NULL THEN 'enriched'
                     WHEN oq.{key} IS NOT NULL THEN 'output_quarantined'
                     WHEN lc.status = 'over_budget' THEN 'over_budget'
                     WHEN lc.status = 'failed' THEN 'call_failed'
                     ELSE 'unprocessed' END,
                CASE WHEN iq.{key} IS NOT NULL THEN iq.reason
                     WHEN en.{key} IS NOT NULL THEN en.warnings
                     WHEN oq.{key} IS NOT NULL THEN oq.reason
                     WHEN lc.status = 'over_budget' THEN 'budget: the run''s cap was reached'
                     WHEN lc.status = 'failed' THEN
                        coalesce(lc.error_class, 'UnknownError') || ': the model call failed '
                        || CASE WHEN lc.attempt = 0 THEN 'fast: the circuit breaker was open'
                                ELSE 'after ' || lc.attempt || ' attempt(s)' END
                     ELSE 'no stage recorded an outcome for this row' END,
                $spec_hash, coalesce(lc.request_hash, mi.request_hash), $now
            FROM scope
            LEFT JOIN iq USING ({key}) LEFT JOIN mi USING ({key}) LEFT JOIN lc USING ({key})
            LEFT JOIN en USING ({key}) LEFT JOIN oq USING ({key})
            """,
            {"run": run_id, "spec_hash": spec.spec_hash, "now": now()},
        )
    counts = dict(
        con.execute(
            f"SELECT disposition, count(*) FROM {s}.row_ledger WHERE run_id = ? GROUP BY 1",
            [run_id],
        ).fetchall()
    )
    return {"rows": sum(counts.values()), "by_disposition": counts}
