"""The output stages: judge every response against the contract, publish or quarantine it, and
write the row ledger that gives every input row of the batch exactly one disposition.
"""

from __future__ import annotations

from collections import defaultdict
from enum import Enum
from typing import Any

import duckdb
import pandas as pd

from governance_pipeline.contracts import Contract, Verdict
from governance_pipeline.redaction import Redactor
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.stages import current_run, now
from governance_pipeline.store import frame, replace_rows


class Disposition(str, Enum):
    """The final outcome of an input row in a run."""

    ENRICHED = "enriched"
    INPUT_QUARANTINED = "input_quarantined"
    OUTPUT_QUARANTINED = "output_quarantined"
    CALL_FAILED = "call_failed"
    OVER_BUDGET = "over_budget"
    UNPROCESSED = "unprocessed"  # a defect: no stage recorded an outcome; the ledger check fails


def publish(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> dict[str, Any]:
    """Hold each answered row's output to the contract; publish it or quarantine it.

    `enriched` is the published table: one row per source key, the latest verdict. Keys of this
    batch that did not pass are removed from it, so it never shows a stale enrichment.
    """
    job = spec.job
    key = job.source.key
    run_id = current_run(con, job.job)
    rows = con.execute(
        f"SELECT c.{key}, c.request_hash, k.content FROM {job.job}.llm_call c "
        "JOIN governance.llm_cache k USING (request_hash) "
        f"WHERE c.run_id = ? AND c.status IN ('ok', 'cached') ORDER BY c.{key}",
        [run_id],
    ).fetchall()
    contract = Contract(spec)
    redactor = Redactor()
    verdicts: dict[str, Verdict] = {}
    good: dict[str, list[Any]] = defaultdict(list)
    bad: dict[str, list[Any]] = defaultdict(list)
    warned = 0
    for k, h, content in rows:
        if h not in verdicts:
            verdicts[h] = contract.check(content)
        verdict = verdicts[h]
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
    enriched = frame(
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
    _replace_published(con, job.job, key, run_id, enriched)
    replace_rows(con, f"{job.job}.output_quarantine", quarantined, run_id=run_id)
    return {
        "judged": len(rows),
        "enriched": len(enriched),
        "with_warnings": warned,
        "quarantined": len(quarantined),
    }


def _replace_published(
    con: duckdb.DuckDBPyConnection, schema: str, key: str, run_id: str, enriched: pd.DataFrame
) -> None:
    con.execute("BEGIN")
    try:
        con.execute(
            f"DELETE FROM {schema}.enriched WHERE {key} IN ("
            f"SELECT {key} FROM {schema}.validated_input UNION ALL "
            f"SELECT {key} FROM {schema}.input_quarantine WHERE run_id = ?)",
            [run_id],
        )
        if len(enriched):
            con.register("_enriched", enriched)
            con.execute(f"INSERT INTO {schema}.enriched BY NAME SELECT * FROM _enriched")
            con.unregister("_enriched")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def write_ledger(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec) -> dict[str, Any]:
    """One row per input row of the batch, with its disposition and the reason for it."""
    s, key = spec.job.job, spec.job.source.key
    run_id = current_run(con, s)
    con.execute("BEGIN")
    try:
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
            lc AS (SELECT * FROM {s}.llm_call WHERE run_id = $run),
            en AS (SELECT * FROM {s}.enriched WHERE run_id = $run),
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
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    counts = dict(
        con.execute(
            f"SELECT disposition, count(*) FROM {s}.row_ledger WHERE run_id = ? GROUP BY 1",
            [run_id],
        ).fetchall()
    )
    return {"rows": sum(counts.values()), "by_disposition": counts}
