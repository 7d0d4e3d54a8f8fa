"""The LLM stage: serve every model input from the cache or the endpoint, and record each call.

Each paid response is written to `governance.llm_cache` the moment it arrives, so a crash
mid-stage loses nothing that was paid for, and the next run pays only for what is missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import duckdb
import openai
import pandas as pd

from governance_pipeline import llm
from governance_pipeline.budget import Budget
from governance_pipeline.endpoint import Endpoint
from governance_pipeline.llm import CallRequest, CallResult, CallStatus
from governance_pipeline.progress import PROGRESS_LOGGER
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.stages import Progress, current_run, now, request_body

PROGRESS = logging.getLogger(PROGRESS_LOGGER)
"""Emits one DEBUG record per row through the LLM stage, with `done` and `total` attributes,
for a front end (the CLI's progress bar) to follow."""


def call_model(
    con: duckdb.DuckDBPyConnection,
    spec: ResolvedSpec,
    endpoint: Endpoint,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Serve every model input from the cache or the endpoint; record each call in `llm_call`."""
    job = spec.job
    run_id = current_run(con, job.job)
    key = job.source.key
    rows = con.execute(
        f"SELECT {key}, data, request_hash FROM {job.job}.model_input ORDER BY {key}"
    ).fetchall()
    keys_by_hash: dict[str, list[Any]] = defaultdict(list)
    bodies: dict[str, dict[str, Any]] = {}
    for k, data, h in rows:
        keys_by_hash[h].append(k)
        if h not in bodies:
            bodies[h] = request_body(spec, endpoint, json.loads(data))
    con.execute(f"DELETE FROM {job.job}.llm_call WHERE run_id = ?", [run_id])
    cached = _cached(con, list(keys_by_hash))
    done = 0
    total = len(rows)

    def record(req: CallRequest, result: CallResult) -> None:
        nonlocal done
        if result.status is CallStatus.OK:
            con.execute(
                "INSERT OR IGNORE INTO governance.llm_cache (request_hash, model, content, "
                "tokens_in, tokens_out, latency_ms, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    result.request_hash,
                    endpoint.model,
                    result.content,
                    result.tokens_in,
                    result.tokens_out,
                    result.latency_ms,
                    result.cost_usd,
                ],
            )
        _write_calls(con, job.job, key, run_id, endpoint.model, req.keys, result)
        done += len(req.keys)
        PROGRESS.debug(
            "%s: %d/%d rows through the LLM stage",
            job.job,
            done,
            total,
            extra={"done": done, "total": total},
        )
        if on_progress:
            on_progress(done, total)

    for h, result in cached.items():
        record(CallRequest(h, bodies[h], tuple(keys_by_hash[h])), result)
    pending = [
        CallRequest(h, bodies[h], tuple(ks)) for h, ks in keys_by_hash.items() if h not in cached
    ]
    budget = Budget(job.budget.max_tokens, job.budget.max_cost_usd)
    if pending:
        asyncio.run(_call_pending(pending, endpoint, spec, budget, record))
    stats = con.execute(
        f"SELECT status, count(*), sum(tokens_in), sum(tokens_out), sum(cost_usd) "
        f"FROM {job.job}.llm_call WHERE run_id = ? GROUP BY status",
        [run_id],
    ).fetchall()
    by_status = {s: int(n) for s, n, *_ in stats}
    return {
        "rows": total,
        "requests": len(keys_by_hash),
        "calls_made": len(pending),
        "by_status": by_status,
        "tokens_in": int(sum(r[2] or 0 for r in stats)),
        "tokens_out": int(sum(r[3] or 0 for r in stats)),
        "cost_usd": round(float(sum(r[4] or 0 for r in stats)), 6),
        "endpoint": endpoint.describe(),
    }


async def _call_pending(
    pending: list[CallRequest],
    endpoint: Endpoint,
    spec: ResolvedSpec,
    budget: Budget,
    record: Callable[[CallRequest, CallResult], None],
) -> None:
    params = spec.job.model
    async with openai.AsyncOpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key.get_secret_value(),
        max_retries=params.max_retries,
        timeout=params.timeout_s,
    ) as client:
        await llm.call_all(
            client,
            pending,
            endpoint,
            concurrency=min(params.concurrency, endpoint.max_concurrency or params.concurrency),
            budget=budget,
            on_result=record,
        )


def _cached(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, CallResult]:
    if not hashes:
        return {}
    con.register("_hashes", pd.DataFrame({"request_hash": hashes}))
    rows = con.execute(
        "SELECT c.request_hash, c.content, c.tokens_in, c.tokens_out, c.latency_ms "
        "FROM governance.llm_cache c JOIN _hashes h USING (request_hash)"
    ).fetchall()
    con.unregister("_hashes")
    return {
        h: CallResult(
            h,
            CallStatus.CACHED,
            content=content,
            tokens_in=tin,
            tokens_out=tout,
            latency_ms=lat,
            cost_usd=0.0,
            attempts=0,
        )
        for h, content, tin, tout, lat in rows
    }


def _write_calls(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    key: str,
    run_id: str,
    model: str,
    keys: tuple[Any, ...],
    result: CallResult,
) -> None:
    """One llm_call row per key served; a shared request's tokens and cost go on its first row."""
    stamp = now()
    con.executemany(
        f"INSERT INTO {schema}.llm_call (run_id, {key}, request_hash, model, attempt, status, "
        "error_class, latency_ms, tokens_in, tokens_out, cost_usd, called_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id,
                k,
                result.request_hash,
                model,
                result.attempts,
                result.status.value,
                result.error_class,
                result.latency_ms,
                result.tokens_in if i == 0 else 0,
                result.tokens_out if i == 0 else 0,
                result.cost_usd if i == 0 else 0.0,
                stamp,
            ]
            for i, k in enumerate(keys)
        ],
    )
