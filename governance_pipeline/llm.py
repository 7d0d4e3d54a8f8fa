"""The call layer: requests by hash, bounded concurrency, rate limits, retries, a budget and a
circuit breaker.

Every request is identified by the hash of what is sent (model, messages, parameters), so the
same input under the same spec and model is the same request, served from the cache for free.
Calls go through the official `AsyncOpenAI` client. The stage builds it with `max_retries=0`, so
every attempt is ours (`retry.RetryPolicy`, tenacity): counted, paced by the run's rate limiter
(`ratelimit.RateLimiter`) and cut off by a per-attempt timeout. The order for one request:

    breaker open? -> fail fast    budget reserved? -> else over_budget
    then per attempt: rate limit (and any Retry-After pause) -> send under the timeout
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from governance_pipeline.budget import Budget
from governance_pipeline.endpoint import Endpoint
from governance_pipeline.ratelimit import RateLimiter
from governance_pipeline.retry import CallFailure, RetryPolicy, retry_after
from governance_pipeline.settings import StructuredOutput


class CallStatus(str, Enum):
    """How a request ended."""

    OK = "ok"
    CACHED = "cached"
    FAILED = "failed"
    OVER_BUDGET = "over_budget"
    SUPERSEDED = "superseded"  # an answer that broke the contract, replaced by its repair
    REPAIR_FAILED = "repair_failed"  # a repair that brought no answer; the first one stands


@dataclass(frozen=True)
class CallRequest:
    """One distinct request, and the row keys it serves."""

    request_hash: str
    body: dict[str, Any]
    keys: tuple[Any, ...]


@dataclass(frozen=True)
class CallResult:
    """What one request produced; `content` is None unless the call succeeded."""

    request_hash: str
    status: CallStatus
    content: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 1
    error_class: str | None = None


def request_body(
    endpoint: Endpoint,
    messages: list[dict[str, str]],
    *,
    temperature: float,
    max_tokens: int,
    schema: dict[str, Any],
) -> dict[str, Any]:
    """The chat-completions body, with `response_format` by the endpoint's declared capability."""
    body: dict[str, Any] = {
        "model": endpoint.model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
    }
    if endpoint.structured_output is StructuredOutput.JSON_SCHEMA:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": True},
        }
    elif endpoint.structured_output is StructuredOutput.JSON_OBJECT_SCHEMA:
        body["response_format"] = {"type": "json_object", "schema": schema}
    return body


def request_hash(body: dict[str, Any]) -> str:
    """Stable hash of a request body: same model, messages and parameters, same hash."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def reservation(
    body: dict[str, Any], endpoint: Endpoint, *, batch: bool = False
) -> tuple[int, float]:
    """What a request reserves of the budget before it is sent: its worst case, the estimated
    tokens with `max_tokens` priced as output."""
    tokens = estimate_tokens(body)
    max_out = int(body.get("max_tokens", 0))
    return tokens, endpoint.cost(tokens - max_out, max_out, batch=batch)


def estimate_tokens(body: dict[str, Any]) -> int:
    """Worst-case tokens of a request: about 4 characters a token in, `max_tokens` out."""
    chars = sum(len(m["content"]) for m in body["messages"])
    return chars // 4 + 1 + int(body.get("max_tokens", 0))


class CircuitBreaker:
    """Opens after `threshold` consecutive failures, so a dead endpoint is not hammered."""

    def __init__(self, threshold: int = 5) -> None:
        self.threshold = threshold
        self.consecutive_failures = 0

    @property
    def open(self) -> bool:
        """True once the endpoint is judged dead for the rest of the run."""
        return self.consecutive_failures >= self.threshold

    def record(self, ok: bool) -> None:
        """Count a call's outcome."""
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1


async def call_all(
    client: openai.AsyncOpenAI,
    requests: Sequence[CallRequest],
    endpoint: Endpoint,
    *,
    concurrency: int,
    budget: Budget,
    on_result: Callable[[CallRequest, CallResult], None],
    breaker: CircuitBreaker | None = None,
    retry: RetryPolicy | None = None,
    limiter: RateLimiter | None = None,
) -> None:
    """Send every request, at most `concurrency` at once; report each result as it arrives.

    `on_result` runs on the event loop thread right after each call returns, so a caller can
    persist each paid response at once: a crash loses no call that was paid for.

    Args:
        client: The client; build it with `max_retries=0` when `retry` retries.
        requests: Distinct requests, each sent at most once (plus its retries).
        endpoint: Prices the calls.
        concurrency: Calls in flight at once.
        budget: Reserved before each call is sent; a call that does not fit is not sent.
        on_result: Receives every request's result, in the order they end.
        breaker: Shared by the run; once open, calls fail fast and retries stop.
        retry: Attempts, backoff and per-attempt timeout; default one attempt, no timeout.
        limiter: Requests and tokens per minute; default none.
    """
    breaker = breaker or CircuitBreaker()
    retry = retry or RetryPolicy()
    limiter = limiter or RateLimiter()
    gate = asyncio.Semaphore(concurrency)

    async def one(req: CallRequest) -> None:
        async with gate:
            if breaker.open:
                on_result(
                    req,
                    CallResult(
                        req.request_hash, CallStatus.FAILED, error_class="CircuitOpen", attempts=0
                    ),
                )
                return
            reserved = reservation(req.body, endpoint)
            tokens = reserved[0]
            if not budget.reserve(*reserved):
                on_result(req, CallResult(req.request_hash, CallStatus.OVER_BUDGET, attempts=0))
                return
            result = await _call(client, req, tokens, endpoint, retry, limiter, breaker)
            budget.settle(reserved, (result.tokens_in + result.tokens_out, result.cost_usd))
            breaker.record(result.status is CallStatus.OK)
            on_result(req, result)

    await asyncio.gather(*(one(r) for r in requests))


async def _call(
    client: openai.AsyncOpenAI,
    req: CallRequest,
    tokens: int,
    endpoint: Endpoint,
    retry: RetryPolicy,
    limiter: RateLimiter,
    breaker: CircuitBreaker,
) -> CallResult:
    """One request of `tokens` (worst case), attempted until it succeeds or the policy (or the
    breaker) gives up. A Retry-After holds every call of the run, not only this one."""
    attempts = 0
    latency_ms = 0.0
    completion: Any = None
    try:
        async for attempt in retry.retrying(give_up=lambda: breaker.open):
            with attempt:
                await limiter.acquire(tokens)
                started = time.perf_counter()
                raw = None
                try:
                    async with asyncio.timeout(retry.timeout_s):
                        raw = await client.chat.completions.with_raw_response.create(**req.body)
                    completion = raw.parse()
                except CallFailure as exc:
                    attempts += _attempts(raw, exc)
                    latency_ms = (time.perf_counter() - started) * 1000
                    limiter.pause(min(retry_after(exc) or 0.0, retry.max_retry_after_s))
                    raise
                attempts += _attempts(raw)
                latency_ms = (time.perf_counter() - started) * 1000
    except CallFailure as exc:
        return CallResult(
            req.request_hash,
            CallStatus.FAILED,
            latency_ms=latency_ms,
            attempts=attempts,
            error_class=type(exc).__name__,
        )
    return answered(req.request_hash, completion, latency_ms, endpoint.cost, attempts=attempts)


def answered(
    request_hash: str,
    completion: ChatCompletion,
    latency_ms: float,
    cost: Callable[[int, int], float],
    *,
    attempts: int = 1,
) -> CallResult:
    """The result of a call the endpoint answered: its content, usage and what it cost."""
    usage = completion.usage
    tokens_in = usage.prompt_tokens if usage else 0
    tokens_out = usage.completion_tokens if usage else 0
    content = completion.choices[0].message.content if completion.choices else None
    return CallResult(
        request_hash,
        CallStatus.OK,
        content=content or "",
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=latency_ms,
        cost_usd=cost(tokens_in, tokens_out),
        attempts=attempts,
    )


def _attempts(raw: Any, exc: BaseException | None = None) -> int:
    """How many times the client sent the request in one of our attempts, its own retries
    included (none when it is built with `max_retries=0`).

    A response knows its `retries_taken`; an error does not, but the last request the client
    sent carries the count in its `x-stainless-retry-count` header.
    """
    if raw is not None:
        return 1 + int(getattr(raw, "retries_taken", 0) or 0)
    request = getattr(exc, "request", None)
    retries = request.headers.get("x-stainless-retry-count", "") if request is not None else ""
    return 1 + int(retries) if retries.isdigit() else 1
