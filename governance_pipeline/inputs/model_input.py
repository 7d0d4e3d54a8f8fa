"""The model-input stage at scale: validated rows redacted and turned into requests, in chunks.

Rows stream out of DuckDB in chunks of :data:`CHUNK_ROWS`; each chunk is redacted (entities
with the spec's operators, then the row's known names), its prompt built and its request hashed,
then inserted; memory holds a few chunks at most, whatever the table's size. Detection is
Python (``phonenumbers``, checksums), so large tables are spread over worker processes (spawned,
never forked: the parent holds DuckDB and Dagster threads); a small table stays in-process,
where starting workers would cost more than it saves.

Every built row then passes the independent check (`inputs.redaction.independent`:
broad shapes, no code shared with the redactor), so that what the redactor misses is caught
rather than missed twice. A row it flags never reaches ``model_input``: with
``redaction.independent_check: quarantine`` (the default) it moves from ``validated_input`` to
``input_quarantine`` (expectation ``pii.independent_check``, reason
``pii.independent_check: phone-shaped digits in body``, kinds and columns, never values), in the
same transaction, so the ledger gives it ``input_quarantined`` and every row still exactly one
disposition; with ``redact`` what it found becomes ``<PII_n>`` and the row goes on.

The same machinery scans ``model_input`` for the blocking ``no_pii`` check, with the redactor's
detectors and the independent check.
"""

from __future__ import annotations

import json
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

import duckdb
import pandas as pd

from governance_pipeline import llm
from governance_pipeline.inputs import names
from governance_pipeline.inputs.redaction import Entity, Redactor, find_pii, independent
from governance_pipeline.inputs.redaction.operators import dropped_always
from governance_pipeline.inputs.redaction.vault import store_tokens
from governance_pipeline.llm import prompts
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.settings import Settings
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import fetch_chunks, reader, scalar, transaction

CHUNK_ROWS = 20_000
INDEPENDENT_CHECK = "pii.independent_check"  # the expectation and reason prefix of its quarantine
PARALLEL_MIN_ROWS = 50_000  # below this, worker start-up costs more than it saves


def workers() -> int:
    """Worker processes for large tables: `Settings.workers`, default the CPU count."""
    return Settings().workers or os.cpu_count() or 1


@dataclass
class Chunk:
    """A chunk's model inputs (column lists) and what it redacted (counts, never values)."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)
    tokens: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    quarantined: list[tuple[Any, str]] = field(default_factory=list)  # (key, reason)
    independent: Counter[str] = field(default_factory=Counter)  # rows flagged, per entity


class _Builder:
    """Everything a worker needs to turn rows into model inputs, built once per process."""

    def __init__(self, spec_json: str, endpoint: Endpoint, columns: list[str]) -> None:
        spec = ResolvedSpec.model_validate_json(spec_json)  # pydantic generics do not pickle
        red = spec.job.redaction
        self.spec, self.endpoint, self.columns = spec, endpoint, columns
        self.redactor = Redactor(
            red.entities, regions=red.phone_regions, operators=red.operators, ner=red.ner
        )
        self.dropped = dropped_always(red.operators)
        self.requests = prompts.RequestBuilder(spec, endpoint)
        self.claimed = [e.value for e in red.entities]

    def second_line(self, data: dict[str, Any], counts: Counter[str], out: Chunk) -> str | None:
        """The independent check of one built row: None when clean (or cleaned, in `redact`
        mode), else the reason to quarantine it (kinds and columns, never values)."""
        found = {
            col: {s.entity for s in independent.suspects(v, self.claimed)}
            for col, v in data.items()
            if isinstance(v, str)
        }
        found = {col: kinds for col, kinds in found.items() if kinds}
        if not found:
            return None
        out.independent.update({k for kinds in found.values() for k in kinds})
        if self.spec.job.redaction.independent_check == "redact":
            for col in found:
                data[col], n = independent.redact(data[col], self.claimed)
                counts["PII"] += n
            if not any(independent.suspects(data[c], self.claimed) for c in found):
                return None
        parts = [
            f"{independent.KINDS[k]} in {col}" for col in sorted(found) for k in sorted(found[col])
        ]
        return f"{INDEPENDENT_CHECK}: " + "; ".join(parts)

    def build(self, rows: list[tuple[Any, ...]]) -> Chunk:
        job = self.spec.job
        key, red = job.source.key, job.redaction
        scanned = [c for c in red.columns if c in job.model.prompt_columns]
        out = Chunk(columns={key: [], "data": [], "redactions": [], "request_hash": []})
        for values in rows:
            row = dict(zip(self.columns, values, strict=True))
            data = {c: row[c] for c in job.model.prompt_columns if c not in self.dropped}
            # entities first: an email is replaced whole before a name inside it could split it
            redacted, counts = self.redactor.redact_row({c: data[c] for c in scanned if c in data})
            data.update(redacted)
            known = names.KnownNames.of(row[c] for c in red.known_values)
            for col in redacted:
                data[col], n = names.redact_names(data[col], known)
                if n:
                    counts["NAME"] += n
            reason = self.second_line(data, counts, out)
            if reason is not None:  # never sent: quarantined by `build`
                out.quarantined.append((row[key], reason))
                continue
            body = self.requests.body(data)
            out.columns[key].append(row[key])
            out.columns["data"].append(
                json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
            )
            out.columns["redactions"].append(json.dumps(dict(sorted(counts.items()))))
            out.columns["request_hash"].append(llm.request_hash(body))
            out.totals.update(counts)
        if self.redactor.tokenizer is not None:
            out.tokens, self.redactor.tokenizer.pending = self.redactor.tokenizer.pending, {}
        return out


_WORKER: Any = None


def _init_worker(factory: Callable[..., Any], *args: Any) -> None:
    global _WORKER
    _WORKER = factory(*args)


def _run(rows: list[tuple[Any, ...]]) -> Any:
    return _WORKER.build(rows)


def map_chunks(
    cur: duckdb.DuckDBPyConnection,
    factory: Callable[..., Any],
    args: tuple[Any, ...],
    total: int,
    *,
    chunk_rows: int | None = None,
) -> Iterator[Any]:
    """`factory(*args).build(chunk)` over the cursor's rows, in order, in worker processes when
    the table is large; at most two chunks per worker in flight."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    n = workers() if total >= PARALLEL_MIN_ROWS else 1
    if n == 1:
        builder = factory(*args)
        for rows in fetch_chunks(cur, chunk_rows):
            yield builder.build(rows)
        return
    pool: Executor = ProcessPoolExecutor(
        n, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(factory, *args)
    )
    with pool:
        flight: deque[Future[Any]] = deque()
        for rows in fetch_chunks(cur, chunk_rows):
            flight.append(pool.submit(_run, rows))
            if len(flight) >= 2 * n:
                yield flight.popleft().result()
        while flight:
            yield flight.popleft().result()


def build(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, endpoint: Endpoint, run_id: str
) -> dict[str, Any]:
    """Replace `model_input` with the redacted, hashed requests of the validated batch."""
    job = spec.job
    key = job.source.key
    red = job.redaction
    Redactor(red.entities, operators=red.operators, ner=red.ner)  # keys and extras: fail here
    columns = list(dict.fromkeys([key, *job.model.prompt_columns, *job.redaction.known_values]))
    select = ", ".join(f'"{c}"' for c in columns)
    batch = f"FROM {job.job}.validated_input WHERE run_id = $run"
    total = scalar(con, f"SELECT count(*) {batch}", {"run": run_id})
    cur = reader(con)
    cur.execute(f"SELECT {select} {batch}", {"run": run_id})  # no sort: no spill
    totals: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    quarantined: list[tuple[Any, str]] = []
    rows = 0
    try:
        with transaction(con):
            con.execute(f"DELETE FROM {job.job}.model_input WHERE run_id = ?", [run_id])
            for chunk in map_chunks(
                cur, _Builder, (spec.model_dump_json(), endpoint, columns), total
            ):
                frame = pd.DataFrame(chunk.columns)
                frame["run_id"], frame["spec_hash"] = run_id, spec.spec_hash
                con.register("_chunk", frame)
                con.execute(f"INSERT INTO {job.job}.model_input BY NAME SELECT * FROM _chunk")
                con.unregister("_chunk")
                store_tokens(con, chunk.tokens)
                totals.update(chunk.totals)
                flagged.update(chunk.independent)
                quarantined += chunk.quarantined
                rows += len(frame)
            _quarantine(con, spec, run_id, quarantined)
    finally:
        cur.close()
    return {
        "rows": rows,
        "redactions": dict(sorted(totals.items())),
        "independent_check_quarantined": len(quarantined),
        "independent_check_by_entity": dict(sorted(flagged.items())),
    }


def _quarantine(
    con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str, rows: list[tuple[Any, str]]
) -> None:
    """Move the rows the independent check flagged from `validated_input` to
    `input_quarantine`: the batch is then, as after validation, the source minus the run's
    quarantine, and the ledger gives each of them `input_quarantined` with its reason."""
    if not rows:
        return
    s, key = spec.job.job, spec.job.source.key
    frame = pd.DataFrame(
        {
            "run_id": run_id,
            key: [k for k, _ in rows],
            "expectations": INDEPENDENT_CHECK,
            "reason": [r for _, r in rows],
            "quarantined_at": datetime.now(UTC).replace(tzinfo=None),
        }
    )
    con.register("_flagged", frame)
    con.execute(f"INSERT INTO {s}.input_quarantine BY NAME SELECT * FROM _flagged")
    con.execute(
        f"DELETE FROM {s}.validated_input WHERE run_id = ? "
        f"AND {key} IN (SELECT {key} FROM _flagged)",
        [run_id],
    )
    con.unregister("_flagged")


class _Scanner:
    """Finds rows of `model_input` whose text values still hold detectable PII: by the
    redactor's detectors and by the independent check."""

    def __init__(self, entities: list[Entity], regions: list[str]) -> None:
        self.entities, self.regions = entities, regions
        self.claimed = [e.value for e in entities]

    def build(self, rows: list[tuple[Any, ...]]) -> Counter[str]:
        found: Counter[str] = Counter()
        for (data,) in rows:
            values = [v for v in json.loads(data).values() if isinstance(v, str)]
            hits = {
                e.value for v in values for e in find_pii(v, self.entities, regions=self.regions)
            }
            second = {s.entity for v in values for s in independent.suspects(v, self.claimed)}
            found["rows_with_pii"] += bool(hits or second)
            found.update(hits)
            found.update(f"independent:{e}" for e in second)
        found["rows_scanned"] += len(rows)
        return found


def scan(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> dict[str, Any]:
    """Scan every model input of the run for the spec's entity types (figures, never values).

    Returns:
        ``rows_scanned``; ``rows_with_pii``, the rows in which either the redactor's detectors
        or the independent check find something; ``by_entity``, rows per type by the
        detectors; ``independent``, rows per type by the independent check.
    """
    red = spec.job.redaction
    rows = f"FROM {spec.job.job}.model_input WHERE run_id = $run"
    total = scalar(con, f"SELECT count(*) {rows}", {"run": run_id})
    cur = reader(con)
    cur.execute(f"SELECT data {rows}", {"run": run_id})
    found: Counter[str] = Counter({"rows_scanned": 0, "rows_with_pii": 0})
    try:
        for part in map_chunks(cur, _Scanner, (list(red.entities), list(red.phone_regions)), total):
            found.update(part)
    finally:
        cur.close()
    rows_scanned, with_pii = found.pop("rows_scanned"), found.pop("rows_with_pii")
    second = {k.split(":", 1)[1]: n for k, n in found.items() if k.startswith("independent:")}
    by_entity = {k: n for k, n in found.items() if not k.startswith("independent:")}
    return {
        "rows_scanned": rows_scanned,
        "rows_with_pii": with_pii,
        "by_entity": by_entity,
        "independent": dict(sorted(second.items())),
    }
