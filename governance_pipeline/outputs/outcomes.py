"""The output stages: judge every response against the contract, stage or quarantine it, write
the row ledger that gives every input row of the batch exactly one disposition, and publish.

    stage     the contract judges each answer (with the redacted input it answers); compliant
              outputs go to `staged_output`, the rest to `output_quarantine`
    ledger    one disposition per input row of the run's scope; a compliant row is `enriched`
    gate      when a blocking SLA is breached, the run's `enriched` rows become `withheld`
    settle    `row_state` takes the outcome of each of the run's rows but the `enriched` ones
    publish   `enriched` receives exactly the rows the ledger marks `enriched`, and they settle

Publication comes last, after the SLAs, so that a blocking check can stop it; the ledger is
final before it, so a blocked run still accounts for every row. Settling is what keeps a row
out of the next run's scope (`inputs.scope`): a `withheld` row settles as not settled, so it is
due again; an `enriched` row settles only with its publication.

Dispositions (`outputs.dispositions.Disposition`): `enriched`, `withheld` (met the contract; a
blocking SLA stopped publication), `input_quarantined`, `output_quarantined`, `call_failed`,
`over_budget`; `unprocessed` marks a defect (no stage recorded an outcome) and fails the
ledger check. Every table here is made by the store (`store.ddl`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import duckdb

from governance_pipeline.inputs.redaction import Redactor
from governance_pipeline.llm.calls import ANSWERED, CallStatus
from governance_pipeline.outputs import dispositions
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.outputs.dispositions import Disposition
from governance_pipeline.sla.verdicts import SlaVerdict
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import first, frame, one, replace_rows, runs, transaction
from governance_pipeline.store.runs import RunStatus, now


def stage(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> dict[str, Any]:
    """Hold each answered row's output to the contract; stage it or quarantine it.

    `staged_output` has the shape of `enriched` and holds, per run, the outputs that met the
    contract (with their warnings): what publication will copy if the gate lets it.
    """
    job = spec.job
    key = job.source.key
    rows = con.execute(
        f"SELECT c.{key}, c.request_hash, k.content, m.data FROM {job.job}.llm_call c "
        "JOIN governance.llm_cache k USING (request_hash) "
        f"LEFT JOIN {job.job}.model_input m ON m.{key} = c.{key} AND m.run_id = c.run_id "
        f"WHERE c.run_id = ? AND list_contains(?, c.status) ORDER BY c.{key}",
        [run_id, [s.value for s in ANSWERED]],
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


def gate(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, verdicts: list[SlaVerdict], run_id: str
) -> list[SlaVerdict]:
    """Withhold the run's compliant rows when a blocking SLA is breached, which closes the run
    as `blocked`; the breaching SLAs."""
    blocking = [v for v in verdicts if v.blocks]
    if blocking:
        why = "publication blocked by " + "; ".join(v.summary() for v in blocking)
        with transaction(con):
            con.execute(
                f"UPDATE {spec.job.job}.row_ledger SET disposition = $withheld, "
                "reason = $why || coalesce(' (warnings: ' || reason || ')', '') "
                "WHERE run_id = $run AND disposition = $enriched",
                {
                    "withheld": Disposition.WITHHELD,
                    "enriched": Disposition.ENRICHED,
                    "why": why,
                    "run": run_id,
                },
            )
            runs.finish(con, run_id, RunStatus.BLOCKED, why)
    return blocking


def settle(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> dict[str, Any]:
    """Record in `row_state` the outcome of each keyed row of the run that publication does not
    wait for (after the gate: a withheld row is recorded as withheld, so it is due again); keys
    the run found shared by several rows leave `row_state`, so once told apart they are new.
    """
    s, key = spec.job.job, spec.job.source.key
    with transaction(con):
        con.execute(
            f"DELETE FROM {s}.row_state WHERE {key} IN (SELECT {key} FROM {s}.input_quarantine "
            f"WHERE run_id = ? AND source_row IS NOT NULL AND {key} IS NOT NULL)",
            [run_id],
        )
        settled = _settle(con, spec, run_id, published=False)
    return {"settled": settled}


def _settle(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str, *, published: bool
) -> int:
    """Copy the outcome of the run's ledger rows into `row_state`, with the hashes the run
    claimed them under: the `enriched` rows (`published`), or all the others."""
    s, key = spec.job.job, spec.job.source.key
    rows = first(
        con,
        f"INSERT OR REPLACE INTO {s}.row_state "
        f"({key}, content_hash, state_hash, run_id, disposition, settled_at) "
        f"SELECT l.{key}, c.content_hash, c.state_hash, l.run_id, l.disposition, $now "
        f"FROM {s}.row_ledger l JOIN {s}.row_scope c ON c.{key} = l.{key} AND c.run_id = l.run_id "
        f"WHERE l.run_id = $run AND l.source_row IS NULL "
        "AND (l.disposition = $enriched) = $published",
        {"run": run_id, "now": now(), "enriched": Disposition.ENRICHED, "published": published},
    )
    return int(rows[0]) if rows else 0


def publish(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> dict[str, Any]:
    """Publish the rows the ledger marks `enriched` for the run, which settles them and closes
    the run as `succeeded`, in one transaction.

    `enriched` is the published table: one row per source key, the latest verdict. Keys of this
    run's scope that did not pass are removed from it, so it never shows a stale enrichment;
    keys outside the scope keep their row.
    """
    s, key = spec.job.job, spec.job.source.key
    with transaction(con):
        con.execute(
            f"DELETE FROM {s}.enriched WHERE {key} IN ("
            f"SELECT {key} FROM {s}.validated_input WHERE run_id = $run UNION ALL "
            f"SELECT {key} FROM {s}.input_quarantine WHERE run_id = $run)",
            {"run": run_id},
        )
        con.execute(
            f"INSERT INTO {s}.enriched BY NAME SELECT o.* REPLACE ($now AS enriched_at) "
            f"FROM {s}.staged_output o JOIN {s}.row_ledger l "
            f"ON l.{key} = o.{key} AND l.run_id = o.run_id "
            "WHERE o.run_id = $run AND l.disposition = $enriched",
            {"run": run_id, "now": now(), "enriched": Disposition.ENRICHED},
        )
        _settle(con, spec, run_id, published=True)
        runs.finish(con, run_id, RunStatus.SUCCEEDED)
    published, warned = one(
        con, f"SELECT count(*), count(warnings) FROM {s}.enriched WHERE run_id = ?", [run_id]
    )
    return {"enriched": int(published), "with_warnings": int(warned)}


def write_ledger(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> dict[str, Any]:
    """One row per raw row of the run's scope, with its disposition and the reason for it.

    Quarantined input rows are counted as quarantined (a row with a NULL or shared key by its
    position, `source_row`); every other row of the batch has a key of its own, which joins it
    to its request, call and verdict.
    """
    s, key = spec.job.job, spec.job.source.key
    with transaction(con):
        con.execute(f"DELETE FROM {s}.row_ledger WHERE run_id = ?", [run_id])
        con.execute(
            f"""
            INSERT INTO {s}.row_ledger BY NAME
            WITH mi AS (SELECT {key}, request_hash FROM {s}.model_input WHERE run_id = $run),
            lc AS (SELECT * FROM {s}.llm_call WHERE run_id = $run
                   AND NOT list_contains($no_outcome, status)),  -- see calling.py
            en AS (SELECT * FROM {s}.staged_output WHERE run_id = $run),
            oq AS (SELECT * FROM {s}.output_quarantine WHERE run_id = $run),
            dispositions AS (
            SELECT {key}, source_row, $input_quarantined AS disposition, reason,
                NULL AS request_hash
            FROM {s}.input_quarantine WHERE run_id = $run
            UNION ALL BY NAME
            SELECT v.{key}, NULL AS source_row,
                CASE WHEN en.{key} IS NOT NULL THEN $enriched
                     WHEN oq.{key} IS NOT NULL THEN $output_quarantined
                     WHEN lc.status = $status_over_budget THEN $over_budget
                     WHEN lc.status = $status_failed THEN $call_failed
                     ELSE $unprocessed END AS disposition,
                CASE WHEN en.{key} IS NOT NULL THEN en.warnings
                     WHEN oq.{key} IS NOT NULL THEN oq.reason
                     WHEN lc.status = $status_over_budget THEN
                        'budget: ' || coalesce(lc.error, 'the run''s cap was reached')
                     WHEN lc.status = $status_failed THEN
                        coalesce(lc.error_class, 'UnknownError') || ': the model call failed '
                        || CASE WHEN lc.attempt = 0 THEN 'fast: the circuit breaker was open'
                                ELSE 'after ' || lc.attempt || ' attempt(s)' END
                        || coalesce(' (' || lc.error || ')', '')
                     ELSE 'no stage recorded an outcome for this row' END AS reason,
                coalesce(lc.request_hash, mi.request_hash) AS request_hash
            FROM {s}.validated_input v
            LEFT JOIN mi USING ({key}) LEFT JOIN lc USING ({key})
            LEFT JOIN en USING ({key}) LEFT JOIN oq USING ({key})
            WHERE v.run_id = $run)
            SELECT $run AS run_id, $hash AS spec_hash, $now AS recorded_at, * FROM dispositions
            """,
            {
                "run": run_id,
                "hash": spec.spec_hash,
                "now": now(),
                "no_outcome": [CallStatus.SUPERSEDED.value, CallStatus.REPAIR_FAILED.value],
                "status_over_budget": CallStatus.OVER_BUDGET.value,
                "status_failed": CallStatus.FAILED.value,
                "enriched": Disposition.ENRICHED,
                "input_quarantined": Disposition.INPUT_QUARANTINED,
                "output_quarantined": Disposition.OUTPUT_QUARANTINED,
                "over_budget": Disposition.OVER_BUDGET,
                "call_failed": Disposition.CALL_FAILED,
                "unprocessed": Disposition.UNPROCESSED,
            },
        )
    counts = dispositions.counts(
        con.execute(
            f"SELECT disposition, count(*) FROM {s}.row_ledger WHERE run_id = ? GROUP BY 1",
            [run_id],
        ).fetchall()
    )
    return {"rows": sum(counts.values()), "by_disposition": counts}
