"""The LLM stage: serve every model input from the cache or the endpoint, and record each call.

    model_input -> distinct requests by hash -> cached? recorded as `cached`, no call
                -> the rest: call layer (online) or Batch API (spec `model.batch`)
                -> with spec `model.repair`: answers that break the contract, asked once more

Each paid response is in the call journal as soon as it arrives and in `governance.llm_cache` at
the next group commit (`CallLog`); the cache read folds in what a killed stage journaled, so a
crash mid-stage loses nothing that was paid for, and the next run pays only for what is missing.
`llm_call` holds one row per row key and call of the run: exactly one of them carries the row's
outcome (`ok`, `cached`, `failed`, `over_budget`); a repaired row also has its first answer,
`superseded`, or its failed repair, `repair_failed`.

The stage never holds the store while it waits for the model: it opens it to read its inputs
and the cache, then once per group commit (`CallLog`), to read the answers a repair needs, and
at the end for its figures; so a run in its LLM stage leaves the file to the alert sensor,
`govern report` and DuckDB shells between commits.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import openai
import pandas as pd

from governance_pipeline import llm
from governance_pipeline.errors import StoreError
from governance_pipeline.llm import batch, repair
from governance_pipeline.llm.budget import Budget
from governance_pipeline.llm.call_log import CallLog, Entry, recover
from governance_pipeline.llm.calls import (
    ANSWERED,
    CallRequest,
    CallResult,
    CallStatus,
    CircuitBreaker,
)
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.llm.failures import check_reachable
from governance_pipeline.llm.pacing import Pacer
from governance_pipeline.llm.prompts import RequestBuilder
from governance_pipeline.llm.ratelimit import RateLimiter, effective_limit
from governance_pipeline.llm.retry import RetryPolicy
from governance_pipeline.llm.spend import DailySpend
from governance_pipeline.outputs.contracts import Contract
from governance_pipeline.settings import Settings
from governance_pipeline.spec import ResolvedSpec
from governance_pipeline.store import Connect

OnResult = Callable[[CallRequest, CallResult], None]
Progress = Callable[[int, int], None]
"""Called with (rows done, rows in the stage) as results are written."""


@dataclass
class _Stage:
    """What the stage's calls share: the store, the spec, the endpoint, the run's budget and
    its log."""

    connect: Connect
    spec: ResolvedSpec
    endpoint: Endpoint
    budget: Budget
    log: CallLog
    bodies: dict[str, dict[str, Any]]
    calls_made: int = 0
    repairs: int = 0
    limits: str = "no rate limit"
    pacer: Pacer | None = None


def call_model(
    connect: Connect,
    spec: ResolvedSpec,
    endpoint: Endpoint,
    run_id: str,
    on_progress: Progress | None = None,
    pacer: Pacer | None = None,
) -> dict[str, Any]:
    """Serve the run's model inputs from the cache or the endpoint; record each call in
    `llm_call`.

    Args:
        connect: Opens the store, for each short read and commit (`store.opener(path)`).
        pacer: Where the rate limits' lanes are kept: `SharedPacer.beside(store file)` for
            limits that hold across the store's processes; default this process only.
    """
    job = spec.job
    key = job.source.key
    with connect() as con:
        rows = con.execute(
            f"SELECT {key}, data, request_hash FROM {job.job}.model_input WHERE run_id = ? "
            f"ORDER BY {key}",
            [run_id],
        ).fetchall()
    keys_by_hash: dict[str, list[Any]] = defaultdict(list)
    bodies: dict[str, dict[str, Any]] = {}
    requests = RequestBuilder(spec, endpoint)
    for k, data, h in rows:  # with the store closed
        keys_by_hash[h].append(k)
        if h not in bodies:
            bodies[h] = requests.body(json.loads(data))
            if llm.request_hash(bodies[h]) != h:  # the cache is keyed by h: never mislabel
                raise StoreError(
                    f"{job.job}.model_input was built for another endpoint, model or spec than "
                    f"this run's ({endpoint.describe()}); materialise model_input again"
                )
    with connect() as con:
        con.execute(f"DELETE FROM {job.job}.llm_call WHERE run_id = ?", [run_id])
        log = CallLog(connect, job.job, key, run_id, endpoint.model, len(rows), on_progress)
        cached = _cached(con, list(keys_by_hash))
        log.write([Entry(_request(h, bodies, keys_by_hash), r) for h, r in cached.items()])
    pending = [_request(h, bodies, keys_by_hash) for h in keys_by_hash if h not in cached]
    caps = job.budget
    daily = (
        DailySpend(connect, job.job, run_id, caps.max_tokens_per_day, caps.max_cost_usd_per_day)
        if caps.daily and (pending or job.model.repair)
        else None
    )
    budget = Budget(caps.max_tokens, caps.max_cost_usd, daily=daily)
    stage = _Stage(connect, spec, endpoint, budget, log, bodies, pacer=pacer)
    try:
        if pending or (job.model.repair and rows):
            asyncio.run(_run(stage, pending))
    finally:
        if daily is not None:
            daily.close()
    with connect() as con:
        stats = con.execute(
            f"SELECT status, count(*), sum(tokens_in), sum(tokens_out), sum(cost_usd), "
            f"sum(attempt) FROM {job.job}.llm_call WHERE run_id = ? GROUP BY status",
            [run_id],
        ).fetchall()
    return {
        "rows": len(rows),
        "requests": len(keys_by_hash),
        "calls_made": stage.calls_made,
        "by_status": {CallStatus(s): int(n) for s, n, *_ in stats},
        "attempts": int(sum(r[5] or 0 for r in stats)),
        "tokens_in": int(sum(r[2] or 0 for r in stats)),
        "tokens_out": int(sum(r[3] or 0 for r in stats)),
        "cost_usd": round(float(sum(r[4] or 0 for r in stats)), 6),
        "repairs_asked": stage.repairs,
        "mode": "batch" if job.model.batch else "online",
        "rate_limit": stage.limits,
        "endpoint": endpoint.describe(),
    }


def _request(h: str, bodies: dict[str, dict[str, Any]], keys: dict[str, list[Any]]) -> CallRequest:
    return CallRequest(h, bodies[h], tuple(keys[h]))


async def _run(stage: _Stage, pending: list[CallRequest]) -> None:
    """Send what is not cached, then (with `repair`) ask again where the contract broke."""
    params, endpoint = stage.spec.job.model, stage.endpoint
    limiter = RateLimiter(
        effective_limit(params.requests_per_minute, endpoint.requests_per_minute),
        effective_limit(params.tokens_per_minute, endpoint.tokens_per_minute),
        pacer=stage.pacer,
        quota=(endpoint.base_url, endpoint.model),
    )
    stage.limits = limiter.describe()
    breaker = CircuitBreaker()
    policy = RetryPolicy(
        max_retries=params.max_retries, backoff_s=params.backoff_s, timeout_s=params.timeout_s
    )
    async with openai.AsyncOpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key.get_secret_value(),
        max_retries=0,  # every attempt is ours: counted, paced and recorded
        timeout=params.timeout_s,
    ) as client:

        async def send(requests: Sequence[CallRequest], on_result: OnResult) -> None:
            stage.calls_made += len(requests)
            if params.batch:
                await batch.call_batch(
                    client,
                    requests,
                    endpoint,
                    budget=stage.budget,
                    on_result=on_result,
                    poll_s=Settings().batch_poll_s,
                    connect=stage.connect,
                    job=stage.spec.name,
                    retry=policy,
                )
                return
            await llm.call_all(
                client,
                requests,
                endpoint,
                concurrency=min(params.concurrency, endpoint.max_concurrency or params.concurrency),
                budget=stage.budget,
                on_result=on_result,
                breaker=breaker,
                retry=policy,
                limiter=limiter,
            )

        if pending:
            check_reachable(endpoint)
            async with stage.log.flushing():
                await send(pending, stage.log.add)
        if params.repair:
            await _repair(stage, send)


async def _repair(stage: _Stage, send: Callable[[Sequence[CallRequest], OnResult], Any]) -> None:
    """Ask once more for each distinct answer of the run that breaks the contract."""
    log = stage.log
    with stage.connect() as con:
        answers = con.execute(
            f"SELECT c.request_hash, any_value(k.content), "
            f"list(c.{log.key} ORDER BY c.{log.key}), any_value(m.data) "
            f"FROM {log.schema}.llm_call c JOIN governance.llm_cache k USING (request_hash) "
            f"JOIN {log.schema}.model_input m ON m.{log.key} = c.{log.key} "
            "AND m.run_id = c.run_id "
            "WHERE c.run_id = ? AND list_contains(?, c.status) GROUP BY c.request_hash",
            [log.run_id, [s.value for s in ANSWERED]],
        ).fetchall()
    todo = repair.repairs_needed(  # the contract judges with the store closed
        Contract(stage.spec), [(h, c, tuple(ks), d) for h, c, ks, d in answers], stage.bodies
    )
    stage.repairs = len(todo)
    with stage.connect() as con:
        cached = _cached(con, [req.request_hash for req, _ in todo])
    log.write(
        [Entry(req, cached[req.request_hash], h) for req, h in todo if req.request_hash in cached]
    )
    rest = [(req, h) for req, h in todo if req.request_hash not in cached]
    repairs = {req.request_hash: h for req, h in rest}

    def on_repair(req: CallRequest, result: CallResult) -> None:
        repairs_hash = repairs.get(req.request_hash)  # None: a resumed batch's stray answer
        if repairs_hash and result.status is not CallStatus.OK:  # the first answer stands
            over = result.status is CallStatus.OVER_BUDGET
            why = result.error_class or ("OverBudget" if over else None)
            result = replace(result, status=CallStatus.REPAIR_FAILED, error_class=why)
        log.add(req, result, repairs_hash)

    if rest:
        async with log.flushing():
            await send([req for req, _ in rest], on_repair)


def _cached(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, CallResult]:
    recover(con)  # answers a killed stage journaled and never committed: paid, so cached
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
