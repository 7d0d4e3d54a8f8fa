"""The OpenAI Batch API for large jobs (spec `model.batch: true`): half price, results within 24 h.

    reserve each request's worst case (batch price) -> over_budget for what does not fit
    -> upload the rest as JSONL (`custom_id` = request hash) -> create the batch
    -> record its id in `governance.llm_batch` -> poll -> download output and error files
    -> one result per request, mapped back by `custom_id`

A line answered 200 with no usable answer (no choice, no content, `finish_reason` `length` or
`content_filter`: see `llm.unusable`) fails its row like an error line, with its tokens
counted: it is paid for, never cached, and asked again by the next run. The budget's token
bound is calibrated by every answered line, so a killed run's batch collected first also makes
the reservations of the new batch tighter.

A batch runs at OpenAI whatever happens to the process that created it, so its id is recorded
before the first poll: a run killed while it waits leaves the batch `submitted`, and the next
run of the job collects it before it sends anything (its answers are paid for), then batches
only what is still missing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Final, TypeVar

import duckdb
import openai
import pydantic
from openai.types import Batch
from openai.types.chat import ChatCompletion

from governance_pipeline.llm.budget import Budget
from governance_pipeline.llm.calls import (
    CallRequest,
    CallResult,
    CallStatus,
    answered,
    prompt_bytes,
    reservation,
)
from governance_pipeline.llm.endpoint import Endpoint
from governance_pipeline.llm.retry import CallFailure, RetryPolicy
from governance_pipeline.store import Connect
from governance_pipeline.store.runs import now

_T = TypeVar("_T")

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
ENDPOINT: Final = "/v1/chat/completions"
_ERROR_CLASSES = {429: "RateLimitError", 500: "InternalServerError", 503: "InternalServerError"}


async def call_batch(
    client: openai.AsyncOpenAI,
    requests: Sequence[CallRequest],
    endpoint: Endpoint,
    *,
    budget: Budget,
    on_result: Callable[[CallRequest, CallResult], None],
    poll_s: float,
    connect: Connect,
    job: str,
    retry: RetryPolicy | None = None,
) -> None:
    """Serve `requests` through the Batch API; report every request's result at the end.

    The store is opened only to record a batch and its end, never while a batch is polled.

    Args:
        client: The client (its own retries off: `retry` retries each API call).
        requests: Distinct requests not in the cache.
        endpoint: Prices the calls at its batch price.
        budget: Reserved for each request before the batch is created.
        on_result: Receives every request's result.
        poll_s: Seconds between two polls of the batch.
        connect: Opens the store, for `governance.llm_batch` (made with the store: `store.ddl`).
        job: The job's name, to find its unfinished batches.
        retry: Attempts of each Batch API call; default 3 with short backoff.
    """
    retry = retry or RetryPolicy(max_retries=2, backoff_s=0.5)
    with connect() as con:
        unfinished = _unfinished(con, job)
    by_hash = {r.request_hash: r for r in requests}
    results: dict[str, CallResult] = {}
    try:
        for batch_id in unfinished:  # a killed run's batch: already paid for
            try:
                _, found = await _finish(client, connect, batch_id, endpoint, retry, poll_s)
            except openai.NotFoundError:  # gone (or another endpoint now): nothing to collect
                _mark(connect, batch_id, "not_found")
                continue
            for h, result in found.items():
                budget.settle((0, 0.0), (result.tokens_in + result.tokens_out, result.cost_usd))
                if h in by_hash:
                    budget.bound.observe(prompt_bytes(by_hash[h].body), result.tokens_in)
                results[h] = result
        await _send(client, connect, requests, endpoint, budget, results, job, retry, poll_s)
    except CallFailure as exc:  # the Batch API itself failed: every request left fails
        for req in requests:
            results.setdefault(
                req.request_hash,
                CallResult(req.request_hash, CallStatus.FAILED, error_class=type(exc).__name__),
            )
    for h, result in results.items():  # answers for requests no longer in the run: cache only
        on_result(by_hash.get(h) or CallRequest(h, {}, ()), result)


async def _send(
    client: openai.AsyncOpenAI,
    connect: Connect,
    requests: Sequence[CallRequest],
    endpoint: Endpoint,
    budget: Budget,
    results: dict[str, CallResult],
    job: str,
    retry: RetryPolicy,
    poll_s: float,
) -> None:
    """Batch the requests that have no result yet and fit the budget; add their results."""
    to_send: list[tuple[CallRequest, tuple[int, float]]] = []
    for req in requests:
        if req.request_hash in results:
            continue
        reserved = reservation(req.body, endpoint, budget.bound, batch=True)
        if budget.reserve(*reserved):
            to_send.append((req, reserved))
        else:
            results[req.request_hash] = CallResult(
                req.request_hash, CallStatus.OVER_BUDGET, attempts=0, error=budget.refusal
            )
    if not to_send:
        return
    status: str | None = None
    done: dict[str, CallResult] = {}
    try:
        batch_id = await _submit(client, connect, [r for r, _ in to_send], job, retry)
        status, done = await _finish(client, connect, batch_id, endpoint, retry, poll_s)
    finally:
        for req, reserved in to_send:  # a failure gives back what it reserved
            result = done.get(req.request_hash)
            if result is None and status is not None:  # ended without this line
                why = "BatchMissingResult" if status == "completed" else f"Batch{status.title()}"
                result = CallResult(req.request_hash, CallStatus.FAILED, error_class=why)
            used = (result.tokens_in + result.tokens_out, result.cost_usd) if result else (0, 0.0)
            budget.settle(reserved, used)
            if result is not None:
                budget.bound.observe(prompt_bytes(req.body), result.tokens_in)
                results[req.request_hash] = result


async def _api(retry: RetryPolicy, call: Callable[[], Awaitable[_T]]) -> _T:
    async for attempt in retry.retrying():
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last error")


def _unfinished(con: duckdb.DuckDBPyConnection, job: str) -> list[str]:
    rows = con.execute(
        "SELECT batch_id FROM governance.llm_batch WHERE job = ? AND status = 'submitted' "
        "ORDER BY created_at",
        [job],
    ).fetchall()
    return [r[0] for r in rows]


async def _submit(
    client: openai.AsyncOpenAI,
    connect: Connect,
    requests: Sequence[CallRequest],
    job: str,
    retry: RetryPolicy,
) -> str:
    """Upload the requests as JSONL, create the batch, record it; its id."""
    lines = (
        json.dumps(
            {"custom_id": r.request_hash, "method": "POST", "url": ENDPOINT, "body": r.body},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for r in requests
    )
    data = ("\n".join(lines) + "\n").encode()
    upload = await _api(
        retry,
        lambda: client.files.create(
            file=(f"{job}.jsonl", data, "application/jsonl"), purpose="batch"
        ),
    )
    created: Batch = await _api(
        retry,
        lambda: client.batches.create(
            input_file_id=upload.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"job": job},
        ),
    )
    with connect() as con:
        con.execute(
            "INSERT INTO governance.llm_batch VALUES (?, ?, ?, ?, 'submitted', ?, NULL)",
            [created.id, job, upload.id, len(requests), now()],
        )
    return created.id


async def _finish(
    client: openai.AsyncOpenAI,
    connect: Connect,
    batch_id: str,
    endpoint: Endpoint,
    retry: RetryPolicy,
    poll_s: float,
) -> tuple[str, dict[str, CallResult]]:
    """Poll a batch until it ends; its final status and its results by request hash (lines
    it does not have are left out)."""
    started = time.perf_counter()
    current: Batch = await _api(retry, lambda: client.batches.retrieve(batch_id))
    while current.status not in TERMINAL:
        await asyncio.sleep(poll_s)
        current = await _api(retry, lambda: client.batches.retrieve(batch_id))
    latency_ms = (time.perf_counter() - started) * 1000
    results: dict[str, CallResult] = {}
    for file_id in (current.output_file_id, current.error_file_id):
        if file_id:
            content = await _api(retry, partial(client.files.content, file_id))
            for line in content.text.splitlines():
                if line.strip():
                    result = _result(json.loads(line), endpoint, latency_ms)
                    results[result.request_hash] = result
    _mark(connect, batch_id, current.status)
    return current.status, results


def _mark(connect: Connect, batch_id: str, status: str) -> None:
    """Record that a batch ended, so no later run collects it again."""
    with connect() as con:
        con.execute(
            "UPDATE governance.llm_batch SET status = ?, finished_at = ? WHERE batch_id = ?",
            [status, now(), batch_id],
        )


def _result(line: dict[str, Any], endpoint: Endpoint, latency_ms: float) -> CallResult:
    """One line of an output or error file as a call result."""
    h = str(line["custom_id"])
    response = line.get("response") or {}
    status = response.get("status_code")
    if status != 200:
        name = _ERROR_CLASSES.get(status or 0) or (
            "APIStatusError" if status else "BatchRequestError"
        )
        return CallResult(h, CallStatus.FAILED, latency_ms=latency_ms, error_class=name)
    try:
        completion = ChatCompletion.model_validate(response.get("body") or {})
    except pydantic.ValidationError:  # a 200 that is no chat completion: this line fails only
        return CallResult(h, CallStatus.FAILED, latency_ms=latency_ms, error_class="InvalidAnswer")
    return answered(
        h, completion, latency_ms, lambda tin, tout: endpoint.cost(tin, tout, batch=True)
    )
