"""The model-input stage at scale: validated rows redacted and turned into requests, in chunks.

Rows stream out of DuckDB in chunks of :data:`CHUNK_ROWS`; each chunk is redacted (entities
with the spec's operators, then the row's known names), its prompt built and its request hashed,
then inserted; memory holds a few chunks at most, whatever the table's size. Detection is
Python (``phonenumbers``, checksums), so large tables are spread over worker processes (spawned,
never forked: the parent holds DuckDB and Dagster threads); a small table stays in-process,
where starting workers would cost more than it saves.

The same machinery scans ``model_input`` for the blocking ``no_pii`` check.
"""

from __future__ import annotations

import json
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import duckdb
import pandas as pd

from governance_pipeline import llm
from governance_pipeline.inputs import names
from governance_pipeline.inputs.redaction import Entity, Redactor, find_pii
from governance_pipeline.inputs.redaction.operators import dropped_always
from governance_pipeline.inputs.redaction.vault import store_tokens
from governance_pipeline.llm import prompts
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.settings import Settings
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import fetch_chunks, reader, scalar, transaction

CHUNK_ROWS = 20_000
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


class _Builder:
    """Everything a worker needs to turn rows into model inputs, built once per process."""

    def __init__(self, spec_json: str, endpoint: Endpoint, columns: list[str]) -> None:
        spec = ResolvedSpec.model_validate_json(spec_json)  # pydantic generics do not pickle
        red = spec.job.redaction
        self.spec, self.endpoint, self.columns = spec, endpoint, columns
        self.redactor = Redactor(red.entities, operators=red.operators, ner=red.ner)
        self.dropped = dropped_always(red.operators)
        self.requests = prompts.RequestBuilder(spec, endpoint)

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
                rows += len(frame)
    finally:
        cur.close()
    return {"rows": rows, "redactions": dict(sorted(totals.items()))}


class _Scanner:
    """Finds rows of `model_input` whose text values still hold detectable PII."""

    def __init__(self, entities: list[Entity]) -> None:
        self.entities = entities

    def build(self, rows: list[tuple[Any, ...]]) -> Counter[str]:
        found: Counter[str] = Counter()
        for (data,) in rows:
            values = json.loads(data).values()
            hits = {
                e.value for v in values if isinstance(v, str) for e in find_pii(v, self.entities)
            }
            found["rows_with_pii"] += bool(hits)
            found.update(hits)
        found["rows_scanned"] += len(rows)
        return found


def scan(con: duckdb.DuckDBPyConnection, spec: ResolvedSpec, run_id: str) -> dict[str, Any]:
    """Scan every model input of the run for the spec's entity types (figures, never values)."""
    rows = f"FROM {spec.job.job}.model_input WHERE run_id = $run"
    total = scalar(con, f"SELECT count(*) {rows}", {"run": run_id})
    cur = reader(con)
    cur.execute(f"SELECT data {rows}", {"run": run_id})
    found: Counter[str] = Counter({"rows_scanned": 0, "rows_with_pii": 0})
    try:
        for part in map_chunks(cur, _Scanner, (list(spec.job.redaction.entities),), total):
            found.update(part)
    finally:
        cur.close()
    rows_scanned, with_pii = found.pop("rows_scanned"), found.pop("rows_with_pii")
    return {"rows_scanned": rows_scanned, "rows_with_pii": with_pii, "by_entity": dict(found)}
