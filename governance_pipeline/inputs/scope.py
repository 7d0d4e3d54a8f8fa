"""A run's scope: the source rows it processes, the new and the changed, not the whole table.

Two tables of the job's schema hold what that takes:

    row_state   one row per key: the row's content hash and the state hash it was last judged
                under, that run, and the outcome the ledger gave it (its disposition)
    row_scope   per run (a working table), the keys the run claimed: their hashes, and why
                each is due

A row with a key of its own is due, and claimed, when it is

    new           its key is not in row_state
    changed       its content hash differs: the md5 of the JSON of the spec's source columns,
                  read as validation reads them, so a column the spec does not read changes
                  nothing
    spec_changed  its state hash differs: the spec's output hash (`ResolvedSpec.output_hash`:
                  the spec without SLAs, schedule, budget, alerts, pacing or descriptions) and
                  the endpoint's model
    retried       its last outcome is not settled: `withheld`, `call_failed`, `over_budget`,
                  `unprocessed`

and it is left alone when it is

    unchanged     settled (`enriched`, `output_quarantined`, `input_quarantined`: row rules are
                  deterministic, and the cache would give the same answer again) with the same
                  content and state
    skipped       claimed by another run of the job that is still running (two `govern run` on
                  one store; Dagster's run queue keeps its own runs of a store apart)
    untimed       for a partitioned job, in no partition: its partition column holds no
                  timestamp (`inputs.partitions`)

A run of a partitioned job looks only at the source rows whose partition time falls in its
window (`inputs.partitions.Window`): rows of other partitions are neither claimed nor counted,
so the ledger and the SLA results of the run are the partition's.

Rows whose key is NULL or shared (`unkeyed`) cannot be tracked: they are in every run's scope
(every run of their partition's), and quarantined by their position in the scan.

Batch-level rules (schema, row count, freshness, uniqueness) still judge the whole table; row
rules judge the claimed rows only (`validation.validate_table(rows=...)`). The ledger holds the
run's own rows. Settling writes row_state from the ledger after the publication gate
(`outcomes.settle`): a blocked run's `withheld` rows stay due, and `enriched` rows settle in
publication's own transaction (`outcomes.publish`), so a run that fails before it publishes
leaves them due. A claim ends when its run closes, whatever the outcome.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import duckdb

from governance_pipeline.inputs.partitions import Window, placement_sql
from governance_pipeline.inputs.validation import text_of
from governance_pipeline.outputs.dispositions import SETTLED
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import transaction
from governance_pipeline.store.runs import RunStatus

DUE = ("new", "changed", "spec_changed", "retried")
"""Why a row is in a run's scope (with `unkeyed`, which every run takes)."""
NOT_DUE = ("unchanged", "skipped", "untimed")


@dataclass
class Scope:
    """How many source rows a run took, and why; and how many it left alone."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def due(self) -> int:
        """Keyed rows the run claimed."""
        return sum(self.counts.get(c, 0) for c in DUE)

    @property
    def in_scope(self) -> int:
        """Rows the run processes: the claimed ones and those without a key of their own."""
        return self.due + self.counts.get("unkeyed", 0)

    def describe(self) -> str:
        """The scope in words, e.g. `5 due (3 new, 2 changed); 38 unchanged`."""
        return describe(self.counts)


def describe(counts: dict[str, Any]) -> str:
    """A run's scope counts in words; `nothing new: N rows unchanged` when nothing was due."""
    n = {c: int(counts.get(c) or 0) for c in (*DUE, "unkeyed", *NOT_DUE)}
    labels = {"spec_changed": "after a spec or model change", "unkeyed": "without a key"}
    due = sum(n[c] for c in DUE) + n["unkeyed"]
    others = [
        f"{n['skipped']} skipped (claimed by a run still running)" if n["skipped"] else "",
        f"{n['untimed']} in no partition (no timestamp to place them)" if n["untimed"] else "",
    ]
    rest = [f"{n['unchanged']} unchanged", *filter(None, others)]
    if not due:
        return f"nothing new: {n['unchanged']} rows unchanged" + "".join(
            f", {o}" for o in others if o
        )
    parts = ", ".join(f"{n[c]} {labels.get(c, c)}" for c in (*DUE, "unkeyed") if n[c])
    return f"{due} in scope ({parts}); " + ", ".join(rest)


def state_hash(spec: ResolvedSpec, model: str) -> str:
    """What a row's outcome depends on besides the row: the spec's output hash and the model."""
    return hashlib.sha256(f"{spec.output_hash}\0{model}".encode()).hexdigest()[:16]


def content_hash_sql(spec: ResolvedSpec, types: dict[str, str]) -> str:
    """SQL of a row's content hash: md5 of the JSON of the spec's source columns (those the
    table has; a missing one is schema drift), in name order, as text."""
    columns = sorted(c for c in spec.job.source.columns if c in types)
    pairs = ", ".join(
        f"'{c.replace(chr(39), chr(39) * 2)}', {text_of(c, types[c])}" for c in columns
    )
    return f"md5(CAST(json_object({pairs}) AS VARCHAR))"


def claim(
    con: duckdb.DuckDBPyConnection,
    spec: ResolvedSpec,
    run_id: str,
    state: str,
    types: dict[str, str],
    window: Window | None = None,
) -> Scope:
    """Claim the run's due rows in `row_scope` (replacing what a retried step claimed), after
    releasing the claims of the job's closed runs; count every category.

    Args:
        window: For a run of a partitioned job, its partition: only the source rows whose
            partition time is in it are looked at (a key shared with a row of another
            partition is shared all the same).
    """
    s, src = spec.job.job, spec.job.source
    key = f'"{src.key}"'
    settled = ", ".join(f"'{d.value}'" for d in sorted(SETTLED))
    classified = f"""
        WITH src AS (
            SELECT {key} AS _key, {content_hash_sql(spec, types)} AS content_hash,
                count(*) OVER (PARTITION BY {key}) AS _rows,
                {placement_sql(spec, types, window)} AS _placed
            FROM {src.table}),
        keyed AS (SELECT _key, content_hash FROM src
            WHERE _key IS NOT NULL AND _rows = 1 AND _placed = 'in'),
        elsewhere AS (
            SELECT DISTINCT c.{key} AS _key FROM {s}.row_scope c JOIN governance.run r
            USING (run_id) WHERE r.status = $running AND c.run_id <> $run),
        classified AS (
            SELECT k._key, k.content_hash, CASE
                WHEN e._key IS NOT NULL THEN 'skipped'
                WHEN st.{key} IS NULL THEN 'new'
                WHEN st.content_hash IS DISTINCT FROM k.content_hash THEN 'changed'
                WHEN st.state_hash IS DISTINCT FROM $state THEN 'spec_changed'
                WHEN st.disposition IS NULL OR st.disposition NOT IN ({settled}) THEN 'retried'
                ELSE 'unchanged' END AS due
            FROM keyed k LEFT JOIN {s}.row_state st ON st.{key} = k._key
            LEFT JOIN elsewhere e ON e._key = k._key)"""
    params = {"run": run_id, "state": state, "running": RunStatus.RUNNING.value}
    with transaction(con):
        con.execute(
            f"DELETE FROM {s}.row_scope WHERE run_id = $run OR run_id IN (SELECT run_id "
            "FROM governance.run WHERE job = $job AND status <> $running)",
            {"run": run_id, "job": s, "running": RunStatus.RUNNING.value},
        )
        counts = dict.fromkeys((*DUE, "unkeyed", *NOT_DUE), 0)
        for category, n in con.execute(
            f"{classified} SELECT due, count(*) FROM classified GROUP BY due UNION ALL "
            "SELECT 'unkeyed', count(*) FROM src WHERE (_key IS NULL OR _rows > 1) "
            "AND _placed = 'in' UNION ALL SELECT 'untimed', count(*) FROM src "
            "WHERE _placed = 'untimed'",
            params,
        ).fetchall():
            counts[str(category)] = int(n)
        con.execute(
            f"INSERT INTO {s}.row_scope BY NAME {classified} "
            f"SELECT $run AS run_id, _key AS {key}, content_hash, $state AS state_hash, due "
            f"FROM classified WHERE due IN ({', '.join(repr(d) for d in DUE)})",
            params,
        )
    return Scope(counts)


def rows_sql(spec: ResolvedSpec, run_id: str) -> str:
    """A query of the source rows a run claimed: what its row rules judge."""
    s, src = spec.job.job, spec.job.source
    key = f'"{src.key}"'
    run = run_id.replace("'", "''")
    return (
        f"SELECT src.* FROM {src.table} src WHERE src.{key} IN "
        f"(SELECT {key} FROM {s}.row_scope WHERE run_id = '{run}')"
    )
